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
TEST = 'from {name} import title\n\n\ndef test_title():\n    assert title() == "Hello from {name}"\n'
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
    (repo / "orders.py").write_text('def title():\n    text = "Helo from orders"\n    return text\n')
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
    lines = [json.loads(ln) for ln in (folder / "references/trajectory.jsonl").read_text().splitlines()]
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
    assert "change `return \"Helo from {module.stem}\"`" in body or "{module}" in body
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
    # the worked example holds two assistant turns: the server counts them
    pad: dict[str, Any] = {"content": "unused"}
    guided = [
        pad, pad,
        tool("read_file", path="orders.py"),
        tool("edit_file", path="orders.py", search='"Helo from orders"', replace='"Hello from orders"'),
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
    assert len(example) == 2 and "orders.py" in json.dumps(example)  # filled in
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


def test_certify_replays_in_worktrees_and_records_the_pass_rate(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    folder = captured(repo, scripted)
    pad: dict[str, Any] = {"content": "unused"}
    edit = tool("edit_file", path="billing.py", search="Helo", replace="Hello")
    server = scripted({"default": [pad, pad, edit, tool("done", summary="fixed")]})
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
    bad = scripted({"default": [pad, pad, tool("done", summary="nothing")]})
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
