"""The CLI surface: help, startup cost, errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_tether

COMMANDS = [
    "init",
    "models",
    "fake-model",
    "do",
    "undo",
    "checkpoints",
    "verify",
    "plan",
    "run",
    "status",
    "sessions",
    "report",
    "rules",
    "skills",
    "pair",
    "variants",
    "runs",
    "pick",
    "serve",
    "demo",
]


def test_top_level_help_lists_commands(tmp_path: Path) -> None:
    result = run_tether("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_subcommand_has_short_help(tmp_path: Path, command: str) -> None:
    result = run_tether(command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert len(result.stdout.splitlines()) < 60


def test_help_does_not_import_sdks_or_pydantic() -> None:
    code = (
        "import sys, tether.cli.app as a; "
        "print(sorted(m for m in ('openai','anthropic','pydantic','llama_cpp','playwright') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = run_tether("models", "--bogus", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
