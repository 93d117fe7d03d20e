"""Gates with real pytest and ruff, the scripted executor over HTTP, and `tether verify`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, run_tether
from tests.helpers import events, model_env, tool
from tether.testing.server import ScriptedServer

VERIFY = """# VERIFY

## step
- `ruff check --no-cache {changed_py}`
- `pytest -q -x -p no:cacheprovider {affected_tests}`

## task
- `pytest -q -p no:cacheprovider`
"""


def calc_repo(repo: Path, body: str = "    return a + b\n") -> Path:
    (repo / "calc.py").write_text("def add(a, b):\n" + body)
    (repo / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    (repo / "VERIFY.md").write_text(VERIFY)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc")
    return repo


def test_step_gate_failure_goes_back_and_the_executor_fixes_it(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    calc_repo(repo)
    script = {
        "default": [
            tool(
                "edit_file",
                path="calc.py",
                search="return a + b",
                replace="return a + b\n\n\ndef mul(a, b):\n    return a * b + 1",
            ),
            {
                "cases": [
                    {
                        "when": "assert",
                        **tool(
                            "edit_file",
                            path="calc.py",
                            search="return a * b + 1",
                            replace="return a * b",
                        ),
                    },
                    tool("read_file", path="calc.py"),
                ]
            },
            tool("done", summary="added mul"),
        ]
    }
    (repo / "test_calc.py").write_text(
        (repo / "test_calc.py")
        .read_text()
        .replace("from calc import add", "from calc import add, mul")
        + "\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
    )
    git(repo, "commit", "-qam", "test for mul")
    server = scripted(script)
    result = run_tether("do", "Add mul()", cwd=repo, env=model_env(server))
    assert result.returncode == 0, result.stdout + result.stderr
    second_prompt = server.requests[1]["body"]["messages"][-1]["content"]
    assert "Step gates failed" in second_prompt
    assert "FAILED test_calc.py::test_mul" in second_prompt
    assert "assert 7 == 6" in second_prompt
    gates = [e for e in events(repo) if e["type"] == "gate"]
    pytest_steps = [g for g in gates if g["tier"] == "step" and "pytest" in g["gate"]]
    assert [g["status"] for g in pytest_steps] == ["fail", "pass"]
    assert [g["status"] for g in gates if g["tier"] == "task"] == ["pass"]
    assert (repo / "calc.py").read_text().endswith("return a * b\n")


def test_task_gates_failing_three_times_end_the_task(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    calc_repo(repo, body="    return a - b\n")
    touch = tool("edit_file", path="calc.py", search="a - b", replace="a - b  # checked")
    server = scripted({"default": [touch] + [tool("done", summary="looks fine")] * 4})
    result = run_tether("do", "Check add()", cwd=repo, env=model_env(server))
    assert result.returncode == 1
    assert "task gates failed 3 times" in result.stdout
    task_gates = [e for e in events(repo) if e["type"] == "gate" and e["tier"] == "task"]
    assert [g["status"] for g in task_gates] == ["fail"] * 3
    assert all("1 failed" in g["summary"] and Path(g["log"]).is_file() for g in task_gates)
    end = [e for e in events(repo) if e["type"] == "task_end"][-1]
    assert end["status"] == "failed" and end["commit"] is None


def test_ruff_gate_catches_lint_at_the_step(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    calc_repo(repo)
    script = {
        "default": [
            tool(
                "edit_file",
                path="calc.py",
                search="def add(a, b):",
                replace="import os\n\n\ndef add(a, b):",
            ),
            tool("edit_file", path="calc.py", search="import os\n\n\n", replace="# touched\n"),
            tool("done", summary="touched"),
        ]
    }
    server = scripted(script)
    result = run_tether("do", "Touch calc", cwd=repo, env=model_env(server))
    assert result.returncode == 0, result.stdout
    assert "F401" in server.requests[1]["body"]["messages"][-1]["content"]


def test_verify_readiness_report(repo: Path) -> None:
    calc_repo(repo)
    clean = run_tether("verify", cwd=repo)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "skip" in clean.stdout and "ready" in clean.stdout
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    broken = run_tether("verify", cwd=repo)
    assert broken.returncode == 1
    assert "1 failed" in broken.stdout and "not ready" in broken.stdout
    assert "test_calc.py" in broken.stdout  # the selection for the step tier
    step_only = run_tether("verify", "--tier", "step", "--changed-since", "HEAD", cwd=repo)
    assert step_only.returncode == 1
    rows = [line for line in step_only.stdout.splitlines() if line.startswith("│")]
    assert rows and all(line.split("│")[1].strip() in ("step", "") for line in rows)


def test_malformed_verify_md_exits_2_with_line(repo: Path) -> None:
    (repo / "VERIFY.md").write_text("# VERIFY\n\n## step\n- `pytest`\n- run the tests please\n")
    result = run_tether("verify", cwd=repo)
    assert result.returncode == 2
    assert "VERIFY.md:5:" in result.stderr and "unrecognised gate" in result.stderr


def test_no_verify_md_is_explained(repo: Path) -> None:
    result = run_tether("verify", cwd=repo)
    assert result.returncode == 2 and "tether init" in result.stderr


def test_init_detects_the_repository_tools(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        "[tool.ruff]\nline-length = 100\n[tool.mypy]\nstrict = true\n"
    )
    (repo / "tests").mkdir()
    (repo / ".pre-commit-config.yaml").write_text("repos: []\n")
    (repo / "package.json").write_text('{"scripts": {"test": "vitest", "lint": "eslint ."}}')
    (repo / "pnpm-lock.yaml").write_text("")
    assert run_tether("init", cwd=repo).returncode == 0
    text = (repo / "VERIFY.md").read_text()
    for gate in (
        "`ruff check {changed_py}`",
        "`pytest -q --maxfail=3 {affected_tests}`",
        "`ruff check --fix-only -q {changed_py}`",
        "`mypy .`",
        "`pre-commit run --files {changed}`",
        "`pnpm run test`",
        "`pnpm run lint`",
    ):
        assert gate in text, gate
    assert "npm test" not in text
    # ruff is used, its formatter is not: a fixer that rewrites whole files is not added
    assert "ruff format" not in text
    assert text.index("## fix") < text.index("## step")


def test_init_on_a_bare_repo_writes_a_valid_empty_verify(repo: Path) -> None:
    assert run_tether("init", cwd=repo).returncode == 0
    from tether.memory.verify_md import parse_verify

    assert parse_verify((repo / "VERIFY.md").read_text()) == []
