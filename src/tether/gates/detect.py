"""A starting VERIFY.md for the repository ``tether init`` finds itself in: pytest, ruff,
mypy, pre-commit, npm/pnpm scripts, each only where the repository uses it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tether.memory.verify_md import render_verify

INTRO = (
    "Gates tether runs: `## fix` (formatters, autofixers) after a step's edits, their\n"
    "changes joining the step; `## step` after every step that changed files; `## task`\n"
    "before a task counts as done. A gate is a `command` in backticks, `review` (a\n"
    "reviewer model reads the diff), or `browser URL` (with `start:` and `expect:`\n"
    "sub-items). Placeholders: {changed}, {changed_py}, {affected_tests} (tests selected\n"
    "for the change), {port} (a free port). Sub-item `timeout: N` (seconds)."
)
STEP_PYTEST = "`pytest -q --maxfail=3 {affected_tests}`"


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


def python_fixers(root: Path) -> list[str]:
    """Autofixers the repository already uses (never a formatter it does not use: that
    would rewrite whole files)."""
    tool = _pyproject(root).get("tool")
    tools = tool if isinstance(tool, dict) else {}
    ruff = tools.get("ruff")
    uses_ruff = ruff is not None or (root / "ruff.toml").exists() or (root / ".ruff.toml").exists()
    fix: list[str] = []
    if uses_ruff or _mentions(root, "ruff"):
        fix.append("`ruff check --fix-only -q {changed_py}`")
    ruff_format = isinstance(ruff, dict) and "format" in ruff
    if ruff_format or _mentions(root, "ruff-format") or _mentions(root, "ruff format"):
        fix.append("`ruff format -q {changed_py}`")
    elif "black" in tools or _mentions(root, "black"):
        fix.append("`black -q {changed_py}`")
    return fix


def node_fixers(root: Path) -> list[str]:
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        package = {}
    deps = {}
    if isinstance(package, dict):
        for key in ("devDependencies", "dependencies"):
            if isinstance(package.get(key), dict):
                deps.update(package[key])
    has_config = any(root.glob(".prettierrc*")) or (root / "prettier.config.js").exists()
    if "prettier" in deps or has_config:
        return ["`npx --no-install prettier --write --ignore-unknown {changed}`"]
    return []


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
        step.append(STEP_PYTEST)
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
    text = render_verify(step, task, INTRO, [*python_fixers(root), *node_fixers(root)])
    if not step and not task:
        text += (
            "\n(no test, lint or type checker found here: add gates as list items, "
            "e.g. - `make test`)\n"
        )
    return text
