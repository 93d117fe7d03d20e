"""`tether status` and `tether sessions`: the newest session that ran tasks (a `verify`
after it does not take its place), its time split, newest speeds, `--json`, pruning."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_tether
from tests.helpers import model_env
from tests.test_plan_run import FUNCS, PYTEST, executor_turns, make_calc
from tether.telemetry import read_events, sessions
from tether.testing.server import ScriptedServer


def plan_of_three(repo: Path) -> None:
    (repo / "PLAN.md").write_text(
        "# PLAN\n\n## calc\n\n"
        + "".join(
            f"- [ ] T{i}: Add {name}()\n  - scope: calc.py\n  - max-diff: 20\n"
            f"  - accept: {PYTEST} -k {name}\n"
            for i, name in enumerate(FUNCS, 1)
        )
    )


def test_status_reports_the_run_not_a_later_verify(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    make_calc(repo)
    plan_of_three(repo)
    server = scripted({"models": {"exec": executor_turns()}}, tps=2000)
    ran = run_tether("run", "--all", cwd=repo, env=model_env(server))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    run_id = sessions(repo)[-1].name
    verified = run_tether("verify", cwd=repo)
    assert sessions(repo)[-1].name != run_id, "verify opened a session of its own"

    shown = run_tether("status", cwd=repo)
    assert shown.returncode == 0, shown.stderr
    print(shown.stdout)
    assert f"last run {run_id}: tether run --all" in shown.stdout
    assert "tasks: 3 done · 0 failed · 0 handed off" in shown.stdout
    assert "6 model call(s)" in shown.stdout

    data = json.loads(run_tether("status", "--json", cwd=repo).stdout)
    session = data["session"]
    assert session["id"] == run_id and session["command"] == "tether run --all"
    assert session["tasks"] == {"done": 3, "failed": 0, "handoff": 0, "other": 0}
    assert session["model_calls"] == 6 and session["exit_code"] == 0
    split = session["split_s"]
    parts = split["model"] + split["tools"] + split["gates"] + split["tether"] + split["startup"]
    assert abs(parts - session["seconds"]) < 0.01, split
    assert split["gates"] > split["model"] > 0 and split["startup"] > 0
    logged = [e for e in read_events(sessions(repo)[-2] / "events.jsonl")]
    calls = [e for e in logged if e["type"] == "model_call"]
    assert session["tokens"]["input"] == sum(c["input_tokens"] for c in calls)
    newest = calls[-1]
    assert data["speeds"]["executor"]["at"] == newest["ts"]
    assert data["plan"]["counts"]["done"] == 3
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_damaged_log_still_reports(repo: Path) -> None:
    """A hand-edited or torn events.jsonl: the lines tether cannot place are skipped."""
    folder = repo / ".tether" / "sessions" / "20260101-000000-abcd"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text(
        '{"type": "session_start", "ts": "2026-01-01T00:00:00+00:00", "command": "tether do x"}\n'
        '{"type": "task_start", "ts": "yesterday", "task": "T1"}\n'
        "[1, 2, 3]\n"
        '{"type": "task_start", "ts": "2026-01-01T00:00:01+00:00", "title": "x"}\n'
        '{"type": "step", "ts": "2026-01-01T00:00:02+00:00", "step": 1, "model_s": "fast"}\n'
        '{"type": "task_end", "ts": "2026-01-01T00:00:03+00:00", "status": "done"}\n'
        '{"type": "session_end", "ts": "2026-01-01T00:00:04+00:00", "exit_code": 0}\n{"type": "no'
    )
    for args in (("status",), ("status", "--json"), ("sessions",), ("report",)):
        shown = run_tether(*args, cwd=repo)
        assert shown.returncode == 0, (args, shown.stderr)
        assert "Traceback" not in shown.stderr
    assert json.loads(run_tether("status", "--json", cwd=repo).stdout)["session"]["steps"] == 1
