"""`tether plan` and `tether run` end to end: a scripted planner and executor over HTTP,
a real repository, real gates, PLAN.md and PROGRESS.md."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import git, run_tether
from tests.helpers import events, git_out, model_env, tool
from tether.memory.plan_md import parse_plan
from tether.memory.progress_md import parse_progress
from tether.testing.server import ScriptedServer

PYTEST = "python -m pytest -q -p no:cacheprovider"
FUNCS = {"sub": "a - b", "mul": "a * b", "div": "a / b"}


def plan_call(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"tool_calls": [{"name": "submit_plan", "arguments": {"tasks": tasks}}]}


def planned(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": f"Add {name}()",
        "scope": ["calc.py"],
        "protect": ["test_calc.py"],
        "max_diff": 20,
        "accept": [f"{PYTEST} -k {name}"],
        "notes": f"{name} returns {FUNCS[name]}",
        **extra,
    }


def executor_turns(broken: str | None = None) -> list[dict[str, Any]]:
    """Turn 0 adds the function named in the task; turn 1 says done."""
    cases = []
    for name, body in FUNCS.items():
        wrong = body.replace("-", "+") if name == broken else body
        cases.append(
            {
                "when": f"Task: Add {name}()",
                **tool(
                    "edit_file",
                    path="calc.py",
                    search="# more\n",
                    replace=f"def {name}(a, b):\n    return {wrong}\n\n\n# more\n",
                ),
            }
        )
    return [{"cases": cases}, tool("done", summary="added it")] + [
        tool("done", summary="added it")
    ] * 4


def make_calc(repo: Path) -> Path:
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\n# more\n")
    tests = "import calc\n\n\ndef test_add():\n    assert calc.add(2, 3) == 5\n"
    for name, body in FUNCS.items():
        expected = eval(body, {"a": 6, "b": 3})
        tests += f"\n\ndef test_{name}():\n    assert calc.{name}(6, 3) == {expected}\n"
    (repo / "test_calc.py").write_text(tests)
    (repo / "VERIFY.md").write_text(
        "## step\n- `python -m pytest -q -p no:cacheprovider "
        "-k add`\n## task\n- `python -m pytest -q -p "
        "no:cacheprovider -k add`\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc")
    return repo


def both(server: ScriptedServer) -> dict[str, str]:
    return {**model_env(server, role="planner", model="planner"), **model_env(server)}


def test_plan_then_run_all(repo: Path, scripted: Callable[..., ScriptedServer]) -> None:
    make_calc(repo)
    server = scripted(
        {
            "models": {
                "planner": [plan_call([planned("sub"), planned("mul"), planned("div")])],
                "exec": executor_turns(),
            }
        }
    )
    planned_run = run_tether("plan", "Add sub, mul and div to calc", cwd=repo, env=both(server))
    assert planned_run.returncode == 0, planned_run.stdout + planned_run.stderr
    plan = parse_plan((repo / "PLAN.md").read_text())
    assert [(t.id, t.title, t.status) for t in plan.tasks] == [
        ("T1", "Add sub()", "open"),
        ("T2", "Add mul()", "open"),
        ("T3", "Add div()", "open"),
    ]
    assert plan.tasks[0].scope == ("calc.py",) and plan.tasks[0].max_diff == 20
    assert "## Add sub, mul and div to calc" in (repo / "PLAN.md").read_text()
    head = git_out(repo, "rev-parse", "HEAD").strip()
    ran = run_tether("run", "--all", cwd=repo, env=both(server))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert [t.status for t in parse_plan((repo / "PLAN.md").read_text()).tasks] == ["done"] * 3
    log = git_out(repo, "log", "--format=%s", f"{head}..HEAD").split("\n")[:3]
    assert log == ["tether: Add div()", "tether: Add mul()", "tether: Add sub()"]
    entries = parse_progress((repo / "PROGRESS.md").read_text())
    assert [(e.task_id, e.status) for e in entries] == [
        ("T1", "done"),
        ("T2", "done"),
        ("T3", "done"),
    ]
    for entry in entries:
        assert "task `python -m pytest" in entry.fields["gates"] and "pass" in entry.fields["gates"]
        assert entry.fields["commit"] != "none"
    accepts = [e for e in events(repo) if e["type"] == "gate" and "-k sub" in e["gate"]]
    assert [e["status"] for e in accepts] == ["pass"]
    status = run_tether("status", cwd=repo)
    assert "3 done" in status.stdout and "executor" in status.stdout
    undone = run_tether("undo", cwd=repo)
    assert undone.returncode == 0 and "T3 is open again" in undone.stdout
    assert [t.status for t in parse_plan((repo / "PLAN.md").read_text()).tasks] == [
        "done",
        "done",
        "open",
    ]
    assert git_out(repo, "log", "-1", "--format=%s").strip() == "tether: Add mul()"
    assert "def div" not in (repo / "calc.py").read_text()


def test_a_failing_task_gets_a_follow_up(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    make_calc(repo)
    (repo / "PLAN.md").write_text(
        "# PLAN\n\n## calc\n\n"
        f"- [ ] T1: Add sub()\n  - scope: calc.py\n  - max-diff: 20\n  - accept: {PYTEST} -k sub\n"
        f"- [ ] T2: Add mul()\n  - scope: calc.py\n  - max-diff: 20\n  - accept: {PYTEST} -k mul\n"
    )
    server = scripted({"models": {"exec": executor_turns(broken="sub")}})
    ran = run_tether("run", "--all", cwd=repo, env=model_env(server))
    assert ran.returncode == 1, ran.stdout
    plan = parse_plan((repo / "PLAN.md").read_text())
    assert [(t.id, t.status) for t in plan.tasks] == [
        ("T1", "failed"),
        ("T1.1", "open"),
        ("T2", "open"),
    ]
    follow = plan.tasks[1]
    assert follow.title.startswith("Fix: task gates failed")
    assert "T1 failed (attempt 1)" in follow.notes and follow.accept == (f"{PYTEST} -k sub",)
    (entry,) = parse_progress((repo / "PROGRESS.md").read_text())
    assert entry.status == "failed" and "fail" in entry.fields["gates"]
    assert "def sub" not in (repo / "calc.py").read_text(), "failed work is rolled back"
    assert "checkpoint" in entry.fields


def test_planner_answers_that_break_the_rules_are_re_asked(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    make_calc(repo)
    bad = [
        planned("sub", scope=["../outside.py"]),
        planned("mul", max_diff=0),
        planned("div", accept=[]),
    ]
    server = scripted(
        {
            "models": {
                "planner": [
                    plan_call(bad),
                    {"content": "here is my plan in words"},
                    plan_call([planned("sub")]),
                ]
            }
        }
    )
    result = run_tether("plan", "Add sub", cwd=repo, env=both(server))
    assert result.returncode == 0, result.stdout + result.stderr
    second = server.requests[1]["body"]["messages"]
    report = second[-1]["content"]
    assert "'../outside.py' leaves the repository" in report
    assert "'max_diff' must be a positive integer" in report
    assert "'accept' must not be empty" in report
    assert "submit_plan tool call" in server.requests[2]["body"]["messages"][-1]["content"]
    assert [t.id for t in parse_plan((repo / "PLAN.md").read_text()).tasks] == ["T1"]


def test_planner_that_never_complies_fails_clearly(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    server = scripted({"models": {"planner": [{"content": "no"}] * 3}})
    result = run_tether("plan", "Anything", cwd=repo, env=both(server))
    assert result.returncode == 1
    assert "broke the rules 3 times" in result.stderr
    assert not (repo / "PLAN.md").exists()


def test_malformed_plan_exits_2(repo: Path) -> None:
    (repo / "PLAN.md").write_text("# PLAN\n\n- [?] T1: odd box\n")
    result = run_tether("run", cwd=repo)
    assert result.returncode == 2 and "PLAN.md:3:" in result.stderr
