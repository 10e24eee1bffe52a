"""Run the real CLI entry point in-process, with stdout and stderr captured."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
# Two small rules (one high, one low) that the report and history CLI tests scan with.
TWO_RULES = textwrap.dedent("""\
    id: T-PUBLIC
    title: Custom images are private
    severity: high
    require: {IsPublic: false}
    message: "{{ image.ImageId }} is public"
    ---
    id: T-NVME
    title: NVMe
    severity: low
    require: {Features.NvmeSupport: supported}
    message: "{{ image.ImageId }} lacks NVMe"
    """)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """`imgaudit ARGS` through `main()` (exit-code mapping included), like a user runs it."""
    from auditor.cli import main  # imported late: a broken CLI fails its tests, not collection

    runner = CliRunner()
    with runner.isolation(env=env) as (out, err, _):
        code = main([str(a) for a in args])
        sys.stdout.flush()
        sys.stderr.flush()
        return CliResult(code, out.getvalue().decode(), err.getvalue().decode())
