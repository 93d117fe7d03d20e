"""A starting VERIFY.md for the repository ``tether init`` finds itself in: pytest, ruff,
mypy, pre-commit, npm/pnpm scripts, each only where the repository uses it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tether.memory.verify_md import render_verify

INTRO = (
    "Gates tether runs: `## step` after every step that changed files, `## task` before a "
    "task counts as done.\nA gate is a `command` in backticks, `review` (a reviewer model "
    "reads the diff), or\n`browser URL` (with `start:` and `expect:` sub-items). "
    "Placeholders: {changed}, {changed_py},\n{affected_tests} (tests selected for the "
    "change), {port} (a free port). Sub-item `timeout: N` (seconds)."
)


def _pyproject(root: Path) -> dict[str, object]:
    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _mentions(root: Path, word: str) -> bool:
    for name in (
        "pyproject.toml",
        "setup.cfg",
        "requirements.txt",
        "requirements-dev.txt",
        "tox.ini",
        ".pre-commit-config.yaml",
    ):
        try:
            if word in (root / name).read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def python_gates(root: Path) -> tuple[list[str], list[str]]:
    tool = _pyproject(root).get("tool")
    tools = tool if isinstance(tool, dict) else {}
    has_tests = (
        (root / "tests").is_dir() or any(root.glob("test_*.py")) or any(root.glob("*/test_*.py"))
    )
    step: list[str] = []
    task: list[str] = []
    if (
        "ruff" in tools
        or (root / "ruff.toml").exists()
        or (root / ".ruff.toml").exists()
        or _mentions(root, "ruff")
    ):
        step.append("`ruff check {changed_py}`")
        task.append("`ruff check .`")
    if has_tests or "pytest" in tools or _mentions(root, "pytest"):
        step.append("`pytest -q -x {affected_tests}`")
        task.append("`pytest -q`")
    mypy = tools.get("mypy")
    if mypy is not None or (root / "mypy.ini").exists():
        step.append("`mypy {changed_py}`")
        task.append("`mypy`" if isinstance(mypy, dict) and "files" in mypy else "`mypy .`")
    if (root / ".pre-commit-config.yaml").exists():
        step.append("`pre-commit run --files {changed}`")
        task.append("`pre-commit run --all-files`")
    return step, task


def node_gates(root: Path) -> tuple[list[str], list[str]]:
    try:
        scripts = json.loads((root / "package.json").read_text(encoding="utf-8")).get("scripts")
    except (OSError, ValueError, AttributeError):
        return [], []
    if not isinstance(scripts, dict):
        return [], []
    runner = "pnpm" if (root / "pnpm-lock.yaml").exists() else "npm"
    step = [f"`{runner} run lint`"] if "lint" in scripts else []
    task = [f"`{runner} {'test' if runner == 'npm' else 'run test'}`"] if "test" in scripts else []
    task += [f"`{runner} run {name}`" for name in ("lint", "typecheck") if name in scripts]
    return step, task


def verify_template(root: Path) -> str:
    step, task = python_gates(root)
    node_step, node_task = node_gates(root)
    step += node_step
    task += node_task
    text = render_verify(step, task, INTRO)
    if not step and not task:
        text += (
            "\n(no test, lint or type checker found here: add gates as list items, "
            "e.g. - `make test`)\n"
        )
    return text
