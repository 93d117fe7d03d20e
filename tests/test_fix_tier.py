"""Through the real CLI and the scripted model server: the ``## fix`` tier's edits join
the step and answer to its contract; a change no test covers is told to the model and
the task tier, never passed as verified at the step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_tether
from tests.helpers import events, git_out, model_env, tool
from tests.test_step_gates import PKG, write
from tether.testing.server import ScriptedServer

PYTEST = "python -m pytest -q -p no:cacheprovider"
CALC = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def test_a_formatter_in_the_fix_tier_joins_the_step(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    verify = (
        "## fix\n- `ruff format --no-cache -q {changed_py}`\n"
        "## step\n- `ruff check --no-cache {changed_py}`\n"
        f"## task\n- `{PYTEST}`\n"
    )
    write(repo, {**CALC, "VERIFY.md": verify})
    ugly = "    return a + b\n\n\ndef mul(a,b):\n  return a*b\n"
    script = {
        "default": [
            tool("edit_file", path="calc.py", search="    return a + b\n", replace=ugly),
            tool("done", summary="added mul"),
        ]
    }
    server = scripted(script)
    result = run_tether("do", "Add mul", "--scope", "calc.py", cwd=repo, env=model_env(server))
    assert result.returncode == 0, result.stdout + result.stderr
    committed = git_out(repo, "show", "HEAD:calc.py")
    assert "def mul(a, b):\n    return a * b\n" in committed, committed
    log = events(repo)
    fix = [e for e in log if e["type"] == "gate" and e["tier"] == "fix"]
    assert [e["status"] for e in fix] == ["pass"]
    first = next(e for e in log if e["type"] == "step")
    assert first["changed"] == ["calc.py"] and first["violations"] == 0
    assert "fix_s" in first


def test_a_fixer_that_leaves_the_scope_is_rolled_back_with_the_step(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    fixer = "import sys\nopen('other.py', 'a').write('# fixed\\n')\n"
    verify = f"## fix\n- `python fixer.py {{changed_py}}`\n## task\n- `{PYTEST}`\n"
    write(repo, {**CALC, "fixer.py": fixer, "other.py": "x = 1\n", "VERIFY.md": verify})
    script = {
        "default": [
            tool("edit_file", path="calc.py", search="a + b", replace="b + a"),
            tool("done", summary="swapped"),
            tool("done", summary="swapped"),
        ]
    }
    server = scripted(script)
    result = run_tether("do", "Swap", "--scope", "calc.py", cwd=repo, env=model_env(server))
    assert result.returncode != 0
    log = events(repo)
    violation = next(e for e in log if e["type"] == "violation")
    assert "other.py" in violation["detail"], violation
    assert any(e["type"] == "rollback" for e in log)
    assert (repo / "other.py").read_text() == "x = 1\n"
    assert (repo / "calc.py").read_text() == CALC["calc.py"]


def test_a_change_no_test_covers_is_told_to_the_model_and_the_task_tier(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    verify = f"## step\n- `{PYTEST} {{affected_tests}}`\n## task\n- `{PYTEST}`\n"
    write(repo, {**PKG, "VERIFY.md": verify})
    script = {
        "default": [
            tool("edit_file", path="pkg/core.py", search="x * 2", replace="x + x"),
            tool("done", summary="addition instead of product"),
        ]
    }
    server = scripted(script)
    result = run_tether("do", "Tidy _helper", "--scope", "pkg/**", cwd=repo, env=model_env(server))
    assert result.returncode == 0, result.stdout + result.stderr
    gates = [e for e in events(repo) if e["type"] == "gate"]
    step = next(g for g in gates if g["tier"] == "step")
    assert step["status"] == "uncovered" and step["uncovered"] == ["pkg/core.py:_helper"]
    told = server.requests[1]["body"]["messages"][-1]["content"]
    assert "no test covers pkg/core.py:_helper" in told, told
    task = next(g for g in gates if g["tier"] == "task")
    assert task["status"] == "pass"
    assert "no step gate covered pkg/core.py:_helper" in task["summary"]
    # the task tier's run taught the map who reaches _helper, for the next step
    assert (repo / ".tether" / "cache" / "coverage-map.json").is_file()
    assert git_out(repo, "log", "-1", "--format=%s").startswith("tether:")


def test_verify_runs_the_fixers_on_request_and_reports_gaps(repo: Path) -> None:
    verify = (
        "## fix\n- `ruff format --no-cache -q {changed_py}`\n"
        f"## step\n- `{PYTEST} {{affected_tests}}`\n"
    )
    write(repo, {**PKG, "VERIFY.md": verify})
    (repo / "pkg" / "core.py").write_text(PKG["pkg/core.py"].replace("x * 2", "x*2"))
    gaps = run_tether("verify", "--tier", "step", cwd=repo)
    assert gaps.returncode == 0, gaps.stdout + gaps.stderr
    assert "uncovered" in gaps.stdout and "ready, with gaps" in gaps.stdout
    assert "pkg/core.py:_helper" in gaps.stdout
    assert "x*2" in (repo / "pkg" / "core.py").read_text()  # step and task never fix
    fixed = run_tether("verify", "--tier", "fix", cwd=repo)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "x * 2" in (repo / "pkg" / "core.py").read_text()
    wrong = run_tether("verify", "--tier", "lint", cwd=repo)
    assert wrong.returncode == 2 and "step, task, all or fix" in wrong.stderr
