"""Skills end to end: the real CLI, real repositories, the scripted model over HTTP. A
task done with passing gates is captured (the folder validates with skills-ref); an
exact replay passes with no model call; a replay whose edits no longer apply falls back
to a guided one; a replay whose gates fail is rolled back; certify replays in
worktrees and writes the pass rate; a failed task is refused."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skills_ref import read_properties, validate

from tests.conftest import git, run_tether
from tests.helpers import events, git_out, model_env, tool
from tether.testing.server import ScriptedServer

PYTEST = "python -m pytest -q -p no:cacheprovider"
MODULE = 'def title():\n    return "Helo from {name}"\n'
TEST = (
    'from {name} import title\n\n\ndef test_title():\n    assert title() == "Hello from {name}"\n'
)
PLAN = """# PLAN

- [ ] T1: Fix the typo in users.py
  - scope: users.py
  - accept: {pytest} test_users.py
- [ ] T2: Fix the typo in billing.py
  - scope: billing.py
  - accept: {pytest} test_billing.py
"""
FIX_USERS = [
    tool("read_file", path="users.py"),
    tool("edit_file", path="users.py", search='"Helo from users"', replace='"Hello from users"'),
    tool("done", summary="users.py: Helo → Hello"),
]
SKILL = ".agents/skills/fix-typo"


def project(repo: Path) -> Path:
    for name in ("users", "billing"):
        (repo / f"{name}.py").write_text(MODULE.format(name=name))
        (repo / f"test_{name}.py").write_text(TEST.format(name=name))
    # orders.py says it another way: the recorded edit does not apply to it
    orders = 'def title():\n    text = "Helo from orders"\n    return text\n'
    (repo / "orders.py").write_text(orders)
    (repo / "test_orders.py").write_text(TEST.format(name="orders"))
    (repo / "PLAN.md").write_text(PLAN.format(pytest=PYTEST))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "sample")
    return repo


def captured(repo: Path, scripted: Callable[..., ScriptedServer]) -> Path:
    """T1 run by the scripted model, then captured as fix-typo (module=users.py)."""
    project(repo)
    server = scripted({"default": FIX_USERS})
    ran = run_tether("run", "T1", cwd=repo, env=model_env(server))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = run_tether(
        "skills", "capture", "T1", "--name", "fix-typo", "--param", "module=users.py",
        cwd=repo,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return repo / SKILL


def test_capture_writes_a_valid_skill_with_its_trajectory_and_contract(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    folder = captured(repo, scripted)
    assert validate(folder) == []
    props = read_properties(folder)
    assert props.name == "fix-typo" and props.metadata == {"tether-params": "module"}
    recorded = (folder / "references/trajectory.jsonl").read_text()
    lines = [json.loads(ln) for ln in recorded.splitlines()]
    calls = [ln for ln in lines if ln["kind"] == "call"]
    assert [c["tool"] for c in calls] == ["read_file", "edit_file", "done"]
    assert calls[1]["args"] == {
        "path": "{module}", "search": '"Helo from {module.stem}"',
        "replace": '"Hello from {module.stem}"',
    }  # fmt: skip
    [change] = [ln for ln in lines if ln["kind"] == "file"]
    assert change["path"] == "{module}" and change["change"] == "edit"
    assert change["before"] != change["after"] and len(change["before"]) == 16
    contract = tomllib.loads((folder / "references/contract.toml").read_text())
    assert contract["params"] == {"module": "users.py"}
    assert contract["contract"]["scope"] == ["{module}"]
    assert contract["gates"]["accept"] == [f"{PYTEST} test_{{module.stem}}.py"]
    assert any("pass" in p for p in contract["gates"]["proved"])
    body = (folder / "SKILL.md").read_text()
    assert "1. Read `{module}`.\n" in body
    steps = '2. In `{module}`, change `"Helo from {module.stem}"` to `"Hello from {module.stem}"`.'
    assert steps in body
    assert f"- {PYTEST} test_{{module.stem}}.py" in body  # done when: the gates
    listed = run_tether("skills", "list", "--json", cwd=repo)
    [entry] = json.loads(listed.stdout)
    assert entry["params"] == ["module"] and entry["certified"] == []


def test_exact_replay_on_a_copy_passes_with_no_model_call(
    repo: Path, scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    folder = captured(repo, scripted)
    copy = tmp_path / "copy"
    git(repo.parent, "clone", "-q", str(repo), str(copy))
    git(copy, "config", "user.email", "dev@example.com")
    git(copy, "config", "user.name", "Dev")
    git(copy, "reset", "-q", "--hard", "HEAD~1")  # before T1's fix
    shutil.copytree(folder, copy / SKILL)
    silent = scripted({"default": []})
    result = run_tether("skills", "replay", "fix-typo", cwd=copy, env=model_env(silent))
    assert result.returncode == 0, result.stdout + result.stderr
    assert silent.requests == []
    assert "exact (no model call)" in result.stdout
    assert (copy / "users.py").read_text() == MODULE.format(name="users").replace("Helo", "Hello")
    assert git_out(copy, "log", "-1", "--format=%s").startswith("tether: Fix the typo in users.py")
    progress = (copy / "PROGRESS.md").read_text()
    assert "## skill:fix-typo · attempt 1 · done" in progress
    assert "- skill: fix-typo, exact, no model call" in progress
    [replay] = [e for e in events(copy) if e["type"] == "skill_replay"]
    assert replay["way"] == "exact" and replay["status"] == "done"


def test_a_replay_whose_edit_no_longer_applies_falls_back_to_guided(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    captured(repo, scripted)
    # the worked example holds three assistant turns: the server counts them
    pad: dict[str, Any] = {"content": "unused"}
    guided = [
        pad, pad, pad,
        tool("read_file", path="orders.py"),
        tool("edit_file", path="orders.py", search="Helo from", replace="Hello from"),
        tool("done", summary="orders.py fixed"),
    ]  # fmt: skip
    server = scripted({"default": guided})
    result = run_tether(
        "skills", "replay", "fix-typo", "--param", "module=orders.py", cwd=repo,
        env=model_env(server),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "exact replay did not pass" in result.stdout and "is not there" in result.stdout
    assert "guided by openai/exec" in result.stdout
    assert '"Hello from orders"' in (repo / "orders.py").read_text()
    first = server.requests[0]["body"]["messages"]
    example = [m for m in first if m["role"] == "assistant"]
    assert len(example) == 3 and "orders.py" in json.dumps(example)  # filled in
    read = next(m for m in first if m.get("tool_call_id") == "skill_1")
    assert 'text = "Helo from orders"' in read["content"]  # the file as it is now
    assert any("# Skill fix-typo" in str(m.get("content")) for m in first)
    ways = [(e["way"], e.get("status")) for e in events(repo) if e["type"] == "skill_replay"]
    assert ways[-1] == ("guided", "done")
    gates = [e for e in events(repo) if e["type"] == "gate" and e["tier"] == "task"]
    assert gates[-1]["gate"] == f"{PYTEST} test_orders.py" and gates[-1]["status"] == "pass"
    assert "guided by openai/exec (exact did not:" in (repo / "PROGRESS.md").read_text()


def test_a_replay_whose_gates_fail_is_rolled_back(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    captured(repo, scripted)
    # billing's test now wants something else: the exact edit applies, the gate fails
    (repo / "test_billing.py").write_text(TEST.format(name="billing").replace("Hello", "Hi"))
    git(repo, "commit", "-qam", "billing says hi")
    before = (repo / "billing.py").read_text()
    result = run_tether(
        "skills", "replay", "fix-typo", "--param", "module=billing.py", "--way", "exact",
        cwd=repo,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert (repo / "billing.py").read_text() == before
    assert "test_billing.py" in result.stdout and "did not pass" in result.stdout
    assert git_out(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert "## skill:fix-typo · attempt 1 · failed" in (repo / "PROGRESS.md").read_text()


def fixing_billing() -> dict[str, Any]:
    """A model that replays fix-typo on billing.py: three unused answers (the exact
    replay asks none), then the edit and done."""
    pad: dict[str, Any] = {"content": "unused"}
    edit = tool("edit_file", path="billing.py", search="Helo", replace="Hello")
    return {"default": [pad, pad, pad, edit, tool("done", summary="fixed")]}


def test_certify_replays_in_worktrees_and_records_the_pass_rate(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    folder = captured(repo, scripted)
    server = scripted(fixing_billing())
    pad: dict[str, Any] = {"content": "unused"}
    result = run_tether(
        "skills", "certify", "fix-typo", "-n", "3", "--param", "module=billing.py",
        cwd=repo, env=model_env(server),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "openai/exec: 3/3" in result.stdout
    cert = read_properties(folder).metadata["tether-certified"]
    assert cert.startswith("openai/exec 3/3 ")
    assert validate(folder) == []
    assert (repo / "billing.py").read_text() == MODULE.format(name="billing")  # untouched
    assert len(server.requests) == 6  # two guided steps each (the edit, done)
    assert git_out(repo, "worktree", "list").count("\n") == 1  # removed again
    [line] = (folder / "references/certifications.jsonl").read_text().splitlines()
    assert json.loads(line)["passed"] == 3
    # a model that fails: its rate is recorded beside the first and flagged
    bad = scripted({"default": [pad, pad, pad, tool("done", summary="nothing")]})
    env = model_env(bad, model="tiny")
    failed = run_tether(
        "skills", "certify", "fix-typo", "-n", "2", "--param", "module=billing.py",
        cwd=repo, env=env,
    )  # fmt: skip
    assert failed.returncode == 1
    assert "openai/tiny: 0/2" in failed.stdout
    listed = run_tether("skills", "list", cwd=repo)
    assert "openai/exec 3/3" in listed.stdout and "openai/tiny 0/2" in listed.stdout
    assert "below 80%" in listed.stdout


def test_a_task_that_failed_cannot_be_captured(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    project(repo)
    wrong = tool("edit_file", path="billing.py", search="Helo", replace="Hullo")
    script = {"default": [wrong, *[tool("done", summary="done")] * 4]}
    ran = run_tether("run", "T2", cwd=repo, env=model_env(scripted(script)))
    assert ran.returncode == 1, ran.stdout
    result = run_tether("skills", "capture", "T2", "--name", "fix-billing", cwd=repo)
    assert result.returncode == 2
    assert "T2 'Fix the typo in billing.py'" in result.stderr + result.stdout
    assert "ended failed" in result.stderr + result.stdout
    assert not (repo / ".agents").exists()


def test_a_plan_task_naming_a_skill_replays_it_exactly(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    captured(repo, scripted)
    plan = (repo / "PLAN.md").read_text()
    plan += "- [ ] T3: Fix the typo in billing.py again\n  - skill: fix-typo module=billing.py\n"
    (repo / "PLAN.md").write_text(plan)
    git(repo, "commit", "-qam", "T3")
    silent = scripted({"default": []})
    result = run_tether("run", "T3", cwd=repo, env=model_env(silent))
    assert result.returncode == 0, result.stdout + result.stderr
    assert silent.requests == []
    assert '"Hello from billing"' in (repo / "billing.py").read_text()
    progress = (repo / "PROGRESS.md").read_text()
    assert "## T3 · attempt 1 · done" in progress and "- skill: fix-typo, exact" in progress
    gates = [e for e in events(repo) if e["type"] == "gate" and e["tier"] == "task"]
    assert gates[-1]["gate"] == f"{PYTEST} test_billing.py"
    # a skill the repository does not have is said so, with the task's line
    (repo / "PLAN.md").write_text(plan + "- [ ] T4: Again\n  - skill: fix-tpyo module=x.py\n")
    missing = run_tether("run", "T4", cwd=repo, env=model_env(silent))
    assert missing.returncode == 2
    assert "there is no skill 'fix-tpyo'" in missing.stderr and "fix-typo" in missing.stderr


def _steps_share(repo: Path) -> float:
    """The cached share of the newest session's steps after the skill was loaded (the
    third on): all that came before them is the same prefix and history."""
    newest = sorted((repo / ".tether" / "sessions").glob("*/events.jsonl"))[-1]
    lines = [json.loads(ln) for ln in newest.read_text().splitlines()]
    steps = [e for e in lines if e["type"] == "step"][2:]
    return sum(e["cached_tokens"] for e in steps) / sum(e["input_tokens"] for e in steps)


def test_use_skill_loads_one_and_the_prefix_with_skills_stays_byte_identical(
    repo: Path, scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    captured(repo, scripted)
    turns = [
        {"tool_calls": [{"name": "use_skill", "arguments": {"name": "fix-typo"}}]},
        tool("read_file", path="orders.py"),
        tool("edit_file", path="orders.py", search="Helo from", replace="Hello from"),
        tool("done", summary="orders.py fixed"),
    ]
    server = scripted({"default": turns})
    args = ("do", "Fix the typo in orders.py", "--scope", "orders.py", "--no-commit")
    result = run_tether(*args, cwd=repo, env=model_env(server))
    assert result.returncode == 0, result.stdout + result.stderr
    bodies = [r["body"] for r in server.requests]
    assert "use_skill" in [t["function"]["name"] for t in bodies[0]["tools"]]
    prefix = bodies[0]["messages"]  # system, the skills' index, the task: before any reply
    assert any(str(m["content"]).startswith("# Skills") for m in prefix)
    assert any("- fix-typo: Fix the typo in {module}" in str(m["content"]) for m in prefix)
    for body in bodies[1:]:
        assert json.dumps(body["messages"][: len(prefix)]) == json.dumps(prefix)
        assert json.dumps(body["tools"]) == json.dumps(bodies[0]["tools"])
    loaded = bodies[1]["messages"][-1]["content"]
    assert loaded.startswith("# Skill fix-typo") and "{module} was users.py" in loaded
    with_skills = _steps_share(repo)
    # the same task where there are no skills: the cached share of the later steps holds
    bare = tmp_path / "bare"
    bare.mkdir()
    git(bare, "init", "-q", "-b", "main")
    git(bare, "config", "user.email", "dev@example.com")
    git(bare, "config", "user.name", "Dev")
    project(bare)
    other = scripted({"default": turns})  # use_skill is no tool there: an error comes back
    plain = run_tether(*args, cwd=bare, env=model_env(other))
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "use_skill" not in json.dumps(other.requests[0]["body"]["tools"])
    without = _steps_share(bare)
    assert with_skills >= without - 0.02, (with_skills, without)


def test_the_planner_writes_skill_md_and_is_asked_again_when_it_drops_a_parameter(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    project(repo)
    ran = run_tether("run", "T1", cwd=repo, env=model_env(scripted({"default": FIX_USERS})))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    vague = tool("submit_skill", description="Fix typos.", procedure="1. Fix the typo.")
    good = tool(
        "submit_skill",
        description="Fix a greeting typo in one module and prove it with its test.",
        procedure="1. Read {module}.\n2. Change Helo to Hello.\n3. Run test_{module.stem}.py.",
    )
    planner = scripted({"default": [vague, good]})
    result = run_tether(
        "skills", "capture", "--last", "--name", "fix-greeting", "--param", "module=users.py",
        cwd=repo, env=model_env(planner, role="planner", model="smart"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "written by planner" in result.stdout
    asked_again = planner.requests[1]["body"]["messages"][-1]["content"]
    assert "never names {module}" in asked_again
    first = planner.requests[0]["body"]["messages"][-1]["content"]
    assert "edit_file" in first and "{module}" in first and "users.py" not in first
    folder = repo / ".agents/skills/fix-greeting"
    assert validate(folder) == []
    assert read_properties(folder).description.startswith("Fix a greeting typo")
    assert "2. Change Helo to Hello." in (folder / "SKILL.md").read_text()
    shown = run_tether("skills", "show", "fix-greeting", cwd=repo)
    assert "module (was users.py)" in shown.stdout
    # users.py is fixed already; billing.py still has the typo
    assert "the recorded edits do not apply (users.py: the text of change 1" in shown.stdout
    there = run_tether("skills", "show", "fix-greeting", "--param", "module=billing.py", cwd=repo)
    assert "here with module=billing.py: the recorded edits apply" in there.stdout
    assert "3. Run test_{module.stem}.py." in shown.stdout
    removed = run_tether("skills", "rm", "fix-greeting", cwd=repo)
    assert removed.returncode == 0 and not folder.exists()


def test_the_session_lists_and_shows_skills(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    captured(repo, scripted)
    result = run_tether("pair", cwd=repo, input="/skills\n/skills show fix-typo\n/quit\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fix-typo (module): Fix the typo in {module}" in result.stdout
    assert "module (was users.py)" in result.stdout


def test_a_task_may_not_change_a_skill_unless_its_scope_names_it(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    folder = captured(repo, scripted)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the skill")
    widen = tool(
        "edit_file", path=f"{SKILL}/references/contract.toml",
        search='scope = ["{module}"]', replace='scope = ["**"]',
    )  # fmt: skip
    server = scripted({"default": [widen, tool("done", summary="x")]})
    result = run_tether("do", "Widen the skill", "--no-commit", cwd=repo, env=model_env(server))
    assert result.returncode == 1
    assert 'scope = ["{module}"]' in (folder / "references/contract.toml").read_text()
    [violation] = [e for e in events(repo) if e["type"] == "violation"]
    assert violation["rule"] == "protected" and "contract.toml" in violation["detail"]


def test_the_planner_sees_the_skills_and_may_name_one(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    captured(repo, scripted)
    task = {
        "title": "Fix the typo in billing.py",
        "scope": ["billing.py"],
        "protect": [],
        "max_diff": 6,
        "accept": [f"{PYTEST} test_billing.py"],
        "notes": "",
    }

    def plan_call(skill: str) -> dict[str, Any]:
        named = {"tasks": [{**task, "skill": skill}]}
        return {"tool_calls": [{"name": "submit_plan", "arguments": named}]}

    server = scripted({"default": [plan_call("fix-tpyo module=billing.py"),
                                   plan_call("fix-typo module=billing.py")]})  # fmt: skip
    env = model_env(server, role="planner", model="planner")
    result = run_tether("plan", "Fix the billing greeting", cwd=repo, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    prompt = server.requests[0]["body"]["messages"][-1]["content"]
    assert "# Skills" in prompt and "- fix-typo (module): Fix the typo in {module}" in prompt
    again = server.requests[1]["body"]["messages"][-1]["content"]
    assert "no skill 'fix-tpyo'" in again
    assert "  - skill: fix-typo module=billing.py\n" in (repo / "PLAN.md").read_text()


def test_a_refused_recapture_keeps_the_skill_it_would_replace(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    folder = captured(repo, scripted)
    before = (folder / "SKILL.md").read_text()
    again = run_tether(
        "skills", "capture", "T1", "--name", "fix-typo", "--force", "--description", "x" * 1100,
        cwd=repo,
    )  # fmt: skip
    assert again.returncode == 2
    assert "Description exceeds 1024 character limit" in again.stderr + again.stdout
    assert (folder / "SKILL.md").read_text() == before
    assert sorted(p.name for p in folder.parent.iterdir()) == ["fix-typo"]  # nothing left over
    replaced = run_tether(
        "skills", "capture", "T1", "--name", "fix-typo", "--force", "--description", "Fix it.",
        cwd=repo,
    )  # fmt: skip
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert read_properties(folder).description == "Fix it."
    assert sorted(p.name for p in folder.parent.iterdir()) == ["fix-typo"]
