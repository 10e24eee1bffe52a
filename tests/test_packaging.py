"""The wheel ships the built-in rules: installed elsewhere, imgaudit still finds them."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_finds_the_builtin_rules(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(REPO)], check=True)
    (wheel,) = dist.glob("imgaudit-*.whl")
    env_dir = tmp_path / "venv"
    # the venv sees this interpreter's packages for the dependencies (a .pth naming its
    # site-packages: the running interpreter may itself be a venv), but not the repo itself
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                    str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    located = subprocess.run([python, "-c", "import auditor; print(auditor.__file__)"],
                             cwd=elsewhere, capture_output=True, text=True, check=True)
    assert str(env_dir) in located.stdout, "the test must run the installed wheel, not the repo"
    listed = subprocess.run([python, "-m", "auditor", "rules", "list"], cwd=elsewhere,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    rule_files = sorted(p.stem for p in (REPO / "rules").glob("*.yaml"))
    assert sorted(line.split()[0] for line in listed.stdout.splitlines()) == rule_files
