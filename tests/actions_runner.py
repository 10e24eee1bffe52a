"""Run a composite action's `run:` steps the way a GitHub runner does, without GitHub.

Each step's `${{ }}` expressions are replaced from the inputs (declared defaults, then `with`),
`github.action_path`, `runner.temp` and earlier steps' outputs; `if:` conditions are evaluated;
`shell: bash` runs `bash --noprofile --norc -eo pipefail FILE`, with `GITHUB_OUTPUT`,
`GITHUB_STEP_SUMMARY`, `GITHUB_PATH`, `GITHUB_ENV` and `RUNNER_TEMP` set. `uses:` steps are
recorded with their resolved `with:` but not run. Only the expression forms the action uses
are understood; anything else fails loudly, so the harness never guesses.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
COMPARISON = re.compile(r"([A-Za-z][\w.-]*) (==|!=) '([^']*)'")


@dataclass
class StepRun:
    name: str
    skipped: bool = False
    code: int = 0
    stdout: str = ""
    stderr: str = ""
    uses: str | None = None
    with_: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]   # the action's declared outputs
    summary: str              # what was appended to the job summary

    @property
    def failed(self) -> StepRun | None:
        return next((s for s in self.steps if s.code != 0), None)

    def step(self, name: str) -> StepRun:
        return next(s for s in self.steps if s.name == name)

    @property
    def log(self) -> str:
        return "".join(s.stdout + s.stderr for s in self.steps)


class Context:
    def __init__(self, inputs: dict[str, str], action_path: Path, temp: Path) -> None:
        self.inputs = inputs
        self.github = {"action_path": str(action_path)}
        self.runner = {"temp": str(temp)}
        self.steps: dict[str, dict[str, str]] = {}

    def value(self, path: str) -> str:
        parts = path.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self.inputs[parts[1]]
        if parts[0] in ("github", "runner") and len(parts) == 2:
            return getattr(self, parts[0])[parts[1]]
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.steps.get(parts[1], {}).get(parts[3], "")
        raise AssertionError(f"the harness does not understand the expression {path!r}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, expression: str) -> bool:
        """`a == 'x' && b != ''`: the only form the action's `if:` uses."""
        results = []
        for term in expression.split("&&"):
            match = COMPARISON.fullmatch(term.strip())
            assert match, f"the harness does not understand the condition {term.strip()!r}"
            left, op, right = match.groups()
            results.append((self.value(left) == right) == (op == "=="))
        return all(results)


def _outputs(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    assert "<<" not in text, "multi-line outputs are not understood by the harness"
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def run_action(action: dict[str, Any], action_path: Path, workdir: Path, temp: Path,
               with_: dict[str, str], env: dict[str, str],
               done: dict[str, dict[str, str]] | None = None) -> ActionRun:
    """Run the action's steps in `workdir`; a step whose id is in `done` is not run again and
    has the outputs given there (the install step, run once for several scenarios)."""
    declared = action.get("inputs", {})
    assert set(with_) <= set(declared), f"unknown inputs {set(with_) - set(declared)}"
    inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()} | with_
    ctx = Context(inputs, action_path, temp)
    summary = temp / "step_summary.md"
    summary.write_text("", encoding="utf-8")
    runs: list[StepRun] = []
    failed = False
    for i, step in enumerate(action["runs"]["steps"]):
        run = StepRun(step.get("name", f"step {i}"))
        runs.append(run)
        condition = step.get("if")
        if done and step.get("id") in done:
            ctx.steps[step["id"]] = done[step["id"]]
            run.skipped = True
            continue
        if failed or (condition is not None and not ctx.condition(condition)):
            run.skipped = True
            continue
        if "uses" in step:
            run.uses = step["uses"]
            run.with_ = {k: ctx.substitute(str(v)) for k, v in step.get("with", {}).items()}
            continue
        assert step["shell"] == "bash", "the harness runs bash steps only"
        output = temp / f"output-{i}"
        script = temp / f"step-{i}.sh"
        script.write_text(ctx.substitute(step["run"]), encoding="utf-8")
        step_env = {k: ctx.substitute(str(v)) for k, v in step.get("env", {}).items()}
        full_env = {**env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
                    "GITHUB_PATH": str(temp / "path"), "GITHUB_ENV": str(temp / "env"),
                    "GITHUB_ACTIONS": "true", "CI": "true", "RUNNER_TEMP": str(temp),
                    "GITHUB_WORKSPACE": str(workdir), **step_env}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=workdir, env=full_env, capture_output=True, text=True,
                              check=False)
        run.code, run.stdout, run.stderr = proc.returncode, proc.stdout, proc.stderr
        if "id" in step:
            ctx.steps[step["id"]] = _outputs(output)
        failed = proc.returncode != 0
    outputs = {name: ctx.substitute(spec["value"])
               for name, spec in action.get("outputs", {}).items()}
    return ActionRun(runs, outputs, summary.read_text(encoding="utf-8"))
