"""The demo's sample project: three small settings modules, a failing test for each, a
VERIFY.md, an AGENTS.md and a prepared PLAN.md. The tasks suit a 135M model: two it
usually gets right, one it usually gets wrong -- so the gates are seen doing their job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FILES = {
    "service/__init__.py": '"""A tiny service with three settings."""\n',
    "service/timeout.py": '"""How long a request may take, in seconds."""\n\nTIMEOUT = 10\n',
    "service/retries.py": '"""How often a failed request is tried again."""\n\nRETRIES = 2\n',
    "service/greeting.py": '"""The greeting shown to users."""\n\n\ndef greeting(name):\n'
    '    return "Helo, " + name + "!"\n',
    "tests/test_timeout.py": "from service.timeout import TIMEOUT\n\n\ndef test_timeout():\n"
    "    assert TIMEOUT == 30\n",
    "tests/test_retries.py": "from service.retries import RETRIES\n\n\ndef test_retries():\n"
    "    assert RETRIES == 5\n",
    "tests/test_greeting.py": "from service.greeting import greeting\n\n\n"
    'def test_greeting():\n    assert greeting("Ada") == '
    '"Hello, Ada!"\n',
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
    ".gitignore": "__pycache__/\n",
    "AGENTS.md": "# AGENTS.md\n\n- Change only what the task asks.\n- Keep the tests green.\n",
}

TASKS = [
    (
        "Set TIMEOUT to 30 in service/timeout.py",
        "service/timeout.py",
        "test_timeout.py",
        "the line `TIMEOUT = 10` becomes `TIMEOUT = 30`",
    ),
    (
        "Set RETRIES to 5 in service/retries.py",
        "service/retries.py",
        "test_retries.py",
        "the line `RETRIES = 2` becomes `RETRIES = 5`",
    ),
    (
        'Fix the typo in service/greeting.py: "Helo" must be "Hello"',
        "service/greeting.py",
        "test_greeting.py",
        "in the return line, the word Helo becomes Hello",
    ),
]


def pytest_command() -> str:
    return f"{sys.executable} -m pytest -q -p no:cacheprovider"


def verify_md() -> str:
    pytest = pytest_command()
    return (
        "# VERIFY\n\n## step\n\n"
        f"- `{sys.executable} -m py_compile {{changed_py}}`\n"
        f"- `{pytest} -x {{affected_tests}}`\n\n"
        "## task\n\n"
        f"- `{pytest} {{affected_tests}}`\n"
    )


def plan_md() -> str:
    lines = [
        "# PLAN",
        "",
        "Prepared by `tether demo` (planning needs a capable model:",
        '`tether plan "GOAL"` with a planner configured in tether.toml).',
        "",
        "## Make the three settings tests pass",
        "",
    ]
    for number, (title, path, test, notes) in enumerate(TASKS, start=1):
        lines += [
            f"- [ ] T{number}: {title}",
            f"  - scope: {path}",
            "  - max-diff: 6",
            f"  - accept: {pytest_command()} tests/{test}",
            f"  - notes: {notes}",
            "  - max-steps: 8",
        ]
    return "\n".join(lines) + "\n"


def tether_toml(model_path: str | None) -> str:
    extra = f'model_path = "{model_path}"\n' if model_path else ""
    return (
        "# Written by `tether demo`: every role runs on the embedded local model.\n"
        f'[executor]\nprovider = "local"\ntemperature = 0.2\n{extra}'
        "context_window = 8192\nmax_output_tokens = 512\n\n"
        "[guard]\nmax_violations = 3\ncommand_timeout_s = 60\n"
    )


def create(root: Path, model_path: str | None) -> None:
    """Write the project and commit it (a git repository with one commit)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in {
        **FILES,
        "VERIFY.md": verify_md(),
        "PLAN.md": plan_md(),
        "tether.toml": tether_toml(model_path),
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    env = {
        "GIT_AUTHOR_NAME": "tether demo",
        "GIT_AUTHOR_EMAIL": "demo@localhost",
        "GIT_COMMITTER_NAME": "tether demo",
        "GIT_COMMITTER_EMAIL": "demo@localhost",
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "sample project with three failing tests"],
    ):
        subprocess.run(
            ["git", *args], cwd=root, check=True, capture_output=True, env={**_base_env(), **env}
        )
    subprocess.run(["git", "config", "user.name", "tether demo"], cwd=root, check=True)
    subprocess.run(["git", "config", "user.email", "demo@localhost"], cwd=root, check=True)


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)
