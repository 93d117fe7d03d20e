"""Gates judge what they should: a command VERIFY.md and `accept:` both give runs once
(the ledger says both asked), and a step gate's checker findings that were there before
the step are not fed back to the model as its failure, while a new one is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, run_tether
from tests.helpers import events, model_env, tool
from tether.gates.baseline import findings
from tether.memory.progress_md import parse_progress
from tether.testing.server import ScriptedServer

PYTEST = "python -m pytest -q -p no:cacheprovider"
ADD_SUB = tool(
    "edit_file",
    path="calc.py",
    search="    return a + b\n",
    replace="    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
)


def test_a_gate_verify_md_and_accept_both_ask_for_runs_once(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "test_calc.py").write_text(
        "import calc\n\n\ndef test_add():\n    assert calc.add(1, 2) == 3\n"
    )
    (repo / "VERIFY.md").write_text(f"# VERIFY\n\n## task\n- `{PYTEST}`\n")
    (repo / "PLAN.md").write_text(
        "# PLAN\n\n## calc\n\n- [ ] T1: Add sub()\n  - scope: calc.py\n"
        f"  - accept: {PYTEST}\n  - accept: {PYTEST}  -k add\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc")
    edit = ADD_SUB
    server = scripted({"default": [edit, tool("done", summary="added sub")]})
    ran = run_tether("run", "T1", cwd=repo, env=model_env(server))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    task_gates = [e for e in events(repo) if e["type"] == "gate" and e["tier"] == "task"]
    assert sorted((e["gate"], e.get("asked_by")) for e in task_gates) == [
        (PYTEST, ["VERIFY.md:4", "accept"]),  # asked twice, run once
        (f"{PYTEST}  -k add", None),
    ]
    (entry,) = parse_progress((repo / "PROGRESS.md").read_text())
    assert "asked by VERIFY.md:4 and accept, run once" in entry.fields["gates"]


def test_a_finding_older_than_the_step_is_not_the_steps_failure(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    (repo / "calc.py").write_text("import os\n\n\ndef add(a, b):\n    return a + b\n")
    (repo / "VERIFY.md").write_text(
        "# VERIFY\n\n## step\n- `python -m ruff check --no-cache --isolated {changed_py}`\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc with an unused import")
    clean = ADD_SUB
    dirty = tool(
        "edit_file", path="calc.py", search="import os\n", replace="import os\nimport sys\n"
    )
    server = scripted({"default": [clean, dirty, tool("done", summary="added sub")]})
    ran = run_tether("do", "Add sub()", "--scope", "calc.py", cwd=repo, env=model_env(server))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    step_gates = [e for e in events(repo) if e["type"] == "gate" and e["tier"] == "step"]
    assert [e["status"] for e in step_gates] == ["preexisting", "fail"], step_gates
    assert "1 finding(s), all there before this step" in step_gates[0]["summary"]
    assert (
        "1 new finding(s) in this step (1 there before it are not counted)"
        in (step_gates[1]["summary"])
    )
    after_clean = server.requests[1]["body"]["messages"][-1]["content"]
    assert "gates failed" not in after_clean.lower() and "F401" not in after_clean
    after_dirty = server.requests[2]["body"]["messages"][-1]["content"]
    assert "Step gates failed" in after_dirty and "`sys` imported but unused" in after_dirty
    assert "`os` imported but unused" not in after_dirty


def test_findings_are_read_from_the_usual_formats() -> None:
    text = "\n".join(
        [
            "src/a.py:3:1: F401 [*] `os` imported but unused",  # ruff concise, flake8
            "src/a.py:9: error: Incompatible return value  [return-value]",  # mypy
            "E501 Line too long (104 > 100)",  # ruff full: message, then where
            " --> src/a.py:12:101",
            "   |",
            "12 |     x = 1",
            "web/app.ts(4,7): error TS2322: Type 'string' is not assignable",  # tsc
            "other.py:1:1: F401 not one of the changed files",
            "Found 3 errors.",
        ]
    )
    found, shown = findings(text, ["src/a.py", "./web/app.ts"])
    assert sorted(found) == [
        ("src/a.py", "E501 Line too long (104 > 100)"),
        ("src/a.py", "F401 [*] `os` imported but unused"),
        ("src/a.py", "error: Incompatible return value  [return-value]"),
        ("web/app.ts", "error TS2322: Type 'string' is not assignable"),
    ]
    assert shown[("src/a.py", "E501 Line too long (104 > 100)")].endswith("--> src/a.py:12:101")
    moved, _ = findings("src/a.py:30:1: F401 [*] `os` imported but unused", ["src/a.py"])
    assert moved == {("src/a.py", "F401 [*] `os` imported but unused"): 1}
