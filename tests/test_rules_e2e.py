"""Rules from every source, end to end: the real CLI, a real repository, the scripted
model over HTTP. A step that breaks a rule is rolled back with the rule and the symbol
named; a nearby change the rule allows is kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, run_tether
from tests.helpers import events, model_env, tool
from tether.testing.server import ScriptedServer

PLAN = '''def parse_plan(text: str) -> list[str]:
    """The tasks."""
    return [line for line in text.splitlines() if line.startswith("- [")]
'''


def plan_repo(repo: Path) -> Path:
    (repo / "src").mkdir()
    (repo / "src" / "plan_md.py").write_text(PLAN)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_plan.py").write_text("def test_x():\n    assert 1 == 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plan module")
    return repo


TYPE_CHANGE = tool(
    "edit_file",
    path="src/plan_md.py",
    search="-> list[str]:",
    replace="-> tuple[str, ...]:",
)
BODY_CHANGE = tool(
    "edit_file",
    path="src/plan_md.py",
    search='line.startswith("- [")',
    replace='line.lstrip().startswith("- [")',
)


def test_keep_types_rolls_back_a_return_annotation_and_keeps_a_body_edit(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    plan_repo(repo)
    server = scripted({"default": [TYPE_CHANGE, BODY_CHANGE, tool("done", summary="ok")]})
    result = run_tether(
        "do", "Tidy parse_plan", "--keep", "types", "--no-commit",
        cwd=repo, env=model_env(server),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    text = (repo / "src" / "plan_md.py").read_text()
    assert "-> list[str]:" in text and "lstrip()" in text
    [violation] = [e for e in events(repo) if e["type"] == "violation"]
    assert violation["rule"] == "keep: types"
    assert violation["detail"] == (
        "`parse_plan` return annotation changed: list[str] → tuple[str, ...] in src/plan_md.py:1"
    )
    assert "keep: types" in result.stdout and "rolled back" in result.stdout
    told = server.requests[1]["body"]["messages"][-1]["content"]
    assert "keep: types" in told and "`parse_plan` return annotation" in told


def test_a_rule_in_plain_words_on_the_command_line(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    plan_repo(repo)
    weaken = tool("edit_file", path="tests/test_plan.py", search="assert 1 == 1", replace="pass")
    sneak = tool("run", command="echo 'def test_x(): pass' > tests/test_plan.py")
    server = scripted({"default": [weaken, sneak, BODY_CHANGE, tool("done", summary="ok")]})
    result = run_tether(
        "do", "Make the tests pass", "--rule", "don't change the tests", "--no-commit",
        cwd=repo, env=model_env(server),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "→ keep: tests" in result.stdout
    assert (repo / "tests" / "test_plan.py").read_text() == "def test_x():\n    assert 1 == 1\n"
    found = [(e["layer"], e["rule"]) for e in events(repo) if e["type"] == "violation"]
    assert found == [("policy", "keep: tests"), ("diff", "keep: tests")]
    start = next(e for e in events(repo) if e["type"] == "task_start")
    assert start["contract"]["rules"] == ["keep: tests"]


def test_agents_md_rules_and_a_plan_task_keep_apply_to_run(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    plan_repo(repo)
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["rich"]\n')
    (repo / "AGENTS.md").write_text(
        "# AGENTS.md\n\n## Repository rules\n\n- Keep changes small.\n\n"
        "## Rules\n\n- no new dependencies\n"
    )
    (repo / "PLAN.md").write_text("# PLAN\n\n- [ ] T1: Tidy parse_plan\n  - keep: signatures\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "rules")
    add_dep = tool(
        "edit_file", path="pyproject.toml", search='["rich"]', replace='["rich", "requests"]'
    )
    rename = tool("edit_file", path="src/plan_md.py", search="def parse_plan(", replace="def read(")
    server = scripted({"default": [add_dep, rename, BODY_CHANGE, tool("done", summary="tidied")]})
    result = run_tether("run", "T1", cwd=repo, env=model_env(server))
    assert result.returncode == 0, result.stdout + result.stderr
    found = [(e["rule"], e["detail"]) for e in events(repo) if e["type"] == "violation"]
    assert found[0] == ("keep: deps", "`project:requests` added (requests) in pyproject.toml")
    assert found[1][0] == "keep: signatures" and "`parse_plan`" in found[1][1]
    start = next(e for e in events(repo) if e["type"] == "task_start")
    assert start["contract"]["rules"] == ["keep: deps", "keep: signatures"]
    assert "requests" not in (repo / "pyproject.toml").read_text()


def test_tether_rules_shows_the_compiled_form_without_running(repo: Path) -> None:
    plan_repo(repo)
    result = run_tether(
        "rules", "only src/plan_md.py and its tests, and don't touch the types", cwd=repo
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "→ scope: src/plan_md.py, **/test_plan_md.py (1 file)",
        "→ keep: types",
    ]
    data = json.loads(run_tether("rules", "no sudo, be nice", "--json", cwd=repo).stdout)
    assert [r["rule"] for r in data["rules"]] == ["no running: sudo"]
    assert data["unparsed"] == ["be nice"]


def test_an_unknown_keep_is_a_clear_error(repo: Path) -> None:
    result = run_tether("do", "x", "--keep", "typos", cwd=repo)
    assert result.returncode == 2
    assert "--keep: 'typos' is not something a task can keep" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


SUBMIT = {
    "tool_calls": [
        {
            "name": "submit_rules",
            "arguments": {
                "rules": [
                    {"kind": "protect", "paths": ["src/plan_md.py"]},
                    {"kind": "advice", "what": "prefer pure functions"},
                ]
            },
        }
    ]
}


def test_what_the_compiler_cannot_read_goes_to_the_planner_with_submit_rules(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    plan_repo(repo)
    server = scripted({"models": {"plan": [SUBMIT]}, "default": []})
    env = model_env(server, role="planner", model="plan")
    result = run_tether("rules", "the parser is sacred", "--ask", "--json", cwd=repo, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["rules"] == [] and data["unparsed"] == ["the parser is sacred"]
    assert [r["rule"] for r in data["proposed"]] == [
        "protect: src/plan_md.py",
        "advice: prefer pure functions",
    ]
    request = server.requests[0]["body"]
    assert request["tools"][0]["function"]["name"] == "submit_rules"
    assert "the parser is sacred" in request["messages"][-1]["content"]


def test_a_bad_submit_rules_answer_is_asked_again_then_refused(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    plan_repo(repo)
    bad = {"tool_calls": [{"name": "submit_rules", "arguments": {"rules": [{"kind": "scope"}]}}]}
    server = scripted({"models": {"plan": [bad, bad]}, "default": []})
    env = model_env(server, role="planner", model="plan")
    result = run_tether("rules", "the parser is sacred", "--ask", cwd=repo, env=env)
    assert result.returncode == 2
    assert "the planner's answer was not a rule set (rule 1: a scope rule needs paths)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert "a scope rule needs paths" in server.requests[1]["body"]["messages"][-1]["content"]


def test_the_session_asks_the_planner_and_applies_its_rules_once_confirmed(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    plan_repo(repo)
    server = scripted({"models": {"plan": [SUBMIT, SUBMIT]}, "default": []})
    env = model_env(server, role="planner", model="plan")
    lines = ["/rule the parser is sacred", "y", "/rules", "/rule the parser is holy", "n", "/rules"]
    result = run_tether("pair", cwd=repo, env=env, input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "→ protect: src/plan_md.py (the planner's reading)" in out
    assert "1. protect: src/plan_md.py" in out and "2. advice: prefer pure functions" in out
    # refused: what was said stays advice, said as such
    assert "→ not a rule, only advice: the parser is holy" in out
    assert "3. advice: the parser is holy" in out


def test_run_and_variants_take_the_same_rule_options(repo: Path) -> None:
    for command in ("do", "run", "variants"):
        shown = run_tether(command, "--help", cwd=repo).stdout
        assert "--keep" in shown and "--rule" in shown, command
    refused = run_tether("run", "--rule", "only ../outside.py", cwd=repo)
    assert refused.returncode == 2
    assert "'../outside.py' leaves the repository" in refused.stderr
