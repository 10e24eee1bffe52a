"""Regenerate the example reports in reports/ from the bundled example inventory.

    python3 scripts/render_examples.py

Runs the real CLI (`python -m auditor scan`) from the repository root, so the reports show
the same command line a reader would type. Exit 1 from the scan is expected: the example
inventory breaks policy on purpose.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REPORTS = {"--html": "reports/example.html", "--sarif": "reports/example.sarif",
           "--markdown": "reports/example.md", "--json": "reports/example.json",
           "--junit": "reports/example.junit.xml"}


def main() -> int:
    (REPO / "reports").mkdir(exist_ok=True)
    files = [arg for option, path in REPORTS.items() for arg in (option, path)]
    command = [sys.executable, "-m", "auditor", "scan", "--input", "examples/inventory.json",
               "--config", "examples/imgaudit.yaml", "--quiet", *files]
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, check=False)
    if done.returncode not in (0, 1):
        print(f"scan failed with exit code {done.returncode}", file=sys.stderr)
        return done.returncode
    _pretty_json(REPO / REPORTS["--json"])
    for path in REPORTS.values():
        print(f"wrote {path} ({(REPO / path).stat().st_size:,} bytes)")
    return 0


def _pretty_json(path: Path) -> None:
    """The JSON report is one compact line; the example is indented so a visitor can read it."""
    path.write_text(json.dumps(json.loads(path.read_text()), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
