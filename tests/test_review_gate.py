"""The review gate with a scripted reviewer model: comments reach the executor; an
approval lets the task finish."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, run_tether
from tests.helpers import events, model_env, tool
from tether.testing.server import ScriptedServer

APPROVE = {
    "tool_calls": [{"name": "submit_review", "arguments": {"verdict": "approve", "comments": []}}]
}
CHANGES = {
    "tool_calls": [
        {
            "name": "submit_review",
            "arguments": {"verdict": "request_changes", "comments": ["mul() needs a docstring"]},
        }
    ]
}


def test_review_comments_reach_the_executor_and_approval_finishes(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "VERIFY.md").write_text("## task\n- review\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc")
    script = {
        "models": {
            "exec": [
                tool(
                    "edit_file",
                    path="calc.py",
                    search="    return a + b\n",
                    replace="    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
                ),
                tool("done", summary="added mul"),
                tool(
                    "edit_file",
                    path="calc.py",
                    search="def mul(a, b):\n",
                    replace='def mul(a, b):\n    """Multiply."""\n',
                ),
                tool("done", summary="documented mul"),
            ],
            "reviewer": [{"cases": [{"when": '"""Multiply."""', **APPROVE}, CHANGES]}],
        }
    }
    server = scripted(script)
    env = {**model_env(server), **model_env(server, role="reviewer", model="reviewer")}
    result = run_tether("do", "Add mul()", cwd=repo, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    executor_requests = [r for r in server.requests if r["body"]["model"] == "exec"]
    feedback = executor_requests[2]["body"]["messages"][-1]["content"]
    assert "changes requested" in feedback and "mul() needs a docstring" in feedback
    reviews = [e for e in events(repo) if e["type"] == "gate" and e["gate"] == "review"]
    assert [r["status"] for r in reviews] == ["fail", "pass"]
    review_prompt = next(r for r in server.requests if r["body"]["model"] == "reviewer")
    text = review_prompt["body"]["messages"][-1]["content"]
    assert "Task: Add mul()" in text and "+def mul(a, b):" in text


def test_review_gate_needs_the_reviewers_key(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    (repo / "VERIFY.md").write_text("## task\n- review\n")
    (repo / "tether.toml").write_text(
        '[reviewer]\nmodel = "r"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "TETHER_TEST_REVIEW_KEY"\n'
    )
    server = scripted({"default": [tool("done", summary="x")]})
    result = run_tether("do", "Anything", cwd=repo, env=model_env(server))
    assert result.returncode == 2
    assert "$TETHER_TEST_REVIEW_KEY is not set" in result.stderr
