"""The CLI surface: help, startup cost, errors without tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_tether
from tests.helpers import model_env, tool
from tether.testing.server import ScriptedServer

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


def test_help_is_drawn_without_rich() -> None:
    """Typer's rich help imports markdown-it, pygments and most of Rich (~110 ms of a
    0.26 s --help); tether's help is click's plain text."""
    code = (
        "import atexit, sys; "
        "atexit.register(lambda: print('LOADED', [m for m in ('typer.rich_utils', "
        "'rich.markdown', 'rich.console') if m in sys.modules])); "
        "sys.argv = ['tether', '--help']; from tether.cli.app import main; main()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Commands:" in out.stdout and "LOADED []" in out.stdout, out.stdout[-300:]


def test_only_the_invoked_command_is_built(tmp_path: Path) -> None:
    """Building all commands costs ~18 ms of each start; a named one is built alone, and
    a typo or an option keeps them all (so the suggestion and the help list them)."""
    code = (
        "import sys; from tether.cli import app as a; a.only_invoked(sys.argv[1:]); "
        "print(sorted(c.name for c in a.app.registered_commands), "
        "sorted(g.name for g in a.app.registered_groups))"
    )
    shown = {}
    for args in (["do", "x"], ["skills", "list"], ["doo"], ["--help"]):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        shown[args[0]] = out.stdout.strip()
    assert shown["do"] == "['do'] []"
    assert shown["skills"] == "[] ['skills']"
    assert shown["doo"] == shown["--help"] and "'variants'" in shown["doo"]
    typo = run_tether("doo", cwd=tmp_path)
    assert typo.returncode == 2 and "Did you mean 'do'?" in typo.stderr, typo.stderr
    assert "--scope" in run_tether("do", "--help", cwd=tmp_path).stdout


def test_start_up_pauses_the_collector_and_long_work_resumes_it_with_the_heap_frozen() -> None:
    """The entry point pauses the garbage collector while modules load; where a
    command's long work starts (``run_cancellable``) it is frozen and resumed."""
    code = (
        "import gc, sys, types; from tether.cli import startup\n"
        "fake = types.ModuleType('tether.cli.app')\n"
        "fake.main = lambda: print('entry', gc.isenabled())\n"
        "sys.modules['tether.cli.app'] = fake\n"
        "startup.main()\n"
        "from tether.cli.running import run_cancellable\n"
        "async def probe(): return gc.isenabled(), gc.get_freeze_count()\n"
        "enabled, frozen = run_cancellable(probe)\n"
        "print('work', enabled, frozen > 1000)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split("\n")[:2] == ["entry False", "work True True"], out.stderr


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = run_tether("models", "--bogus", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_leaving_at_once_loses_no_output_and_no_event(repo: Path) -> None:
    """The CLI exits with os._exit (no interpreter finalisation): what it printed into
    a file's buffer and every session's last event must still be there."""
    sessions = repo / ".tether" / "sessions"
    for k in range(250):
        folder = sessions / f"20260101-0000{k // 60:02d}-{k:04x}"
        folder.mkdir(parents=True)
        (folder / "events.jsonl").write_text(
            '{"type": "session_start", "ts": "2026-01-01T00:00:00+00:00", '
            '"command": "tether do x"}\n'
            '{"type": "session_end", "ts": "2026-01-01T00:00:01+00:00", "exit_code": 0}\n'
        )
    listing = repo / "listing.txt"
    with listing.open("w") as sink:
        done = subprocess.run(
            [sys.executable, "-m", "tether", "sessions", "--limit", "250"],
            cwd=repo, stdout=sink, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = listing.read_text().splitlines()
    assert len(lines) == 250 and all("tether do x" in ln for ln in lines)
    verified = run_tether("verify", cwd=repo)  # no VERIFY.md: exit 2, said on stderr
    assert verified.returncode == 2 and "there is no VERIFY.md here" in verified.stderr
    newest = sorted(sessions.iterdir())[-1]
    last = (newest / "events.jsonl").read_text().splitlines()[-1]
    assert '"session_end"' in last and '"exit_code": 2' in last


def test_a_task_imports_no_sdk_no_pydantic_no_charts(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    """What `tether do` imports, from spawn to exit (python -X importtime)."""
    server = scripted({"default": [tool("create_file", path="a.txt", content="a\n"),
                                   tool("done", summary="wrote a.txt")]})  # fmt: skip
    env = {**os.environ, **model_env(server), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tether", "do", "write a.txt"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    heavy = ("openai", "anthropic", "pydantic", "plotly", "llama_cpp", "playwright", "griffe")
    assert not [m for m in imported if m.split(".")[0] in heavy]
