"""Bad input never crashes tether or corrupts anything: each class gets exit 2 and a
file:line message from the real CLI; the file tools' path arguments and the three
input files' bytes are fuzzed with hypothesis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import git, run_tether
from tests.helpers import model_env, tool
from tether.config import parse_config
from tether.errors import UsageError
from tether.guard.contract import Contract
from tether.guard.policy import ActionPolicy
from tether.memory.plan_md import parse_plan
from tether.memory.verify_md import parse_verify
from tether.models.types import ToolCall
from tether.sandbox import PlainSandbox
from tether.testing.server import ScriptedServer
from tether.tools.toolbox import Toolbox

PLAN = "# PLAN\n\n- [ ] T1: Do it\n"


def do(repo: Path, server: ScriptedServer | None = None, *extra: str) -> tuple[int, str]:
    env = model_env(server) if server else {"TETHER_EXECUTOR_MODEL": "x"}
    done = run_tether("do", "Do it", *extra, cwd=repo, env=env)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "data", "where"),
    [
        ("tether.toml", b"[guard]\nmax_diff = 10\n# caf\xe9\n", "tether.toml:3"),
        ("VERIFY.md", b"## task\n\n- `pytest \xff`\n", "VERIFY.md:3"),
        ("tether.toml", b"[guard]\nmax_diff = 1\0\n", "tether.toml:2"),
    ],
)
def test_invalid_bytes_in_an_input_file_are_a_clear_error(
    repo: Path, name: str, data: bytes, where: str
) -> None:
    (repo / name).write_bytes(data)
    code, out = do(repo)
    assert code == 2, out
    assert where in out and "Traceback" not in out


def test_invalid_utf8_in_plan_md_stops_run_with_file_and_line(repo: Path) -> None:
    (repo / "PLAN.md").write_bytes(b"# PLAN\n\n- [ ] T1: caf\xe9\n")
    done = run_tether("run", cwd=repo, env={"TETHER_EXECUTOR_MODEL": "x"})
    assert done.returncode == 2 and "PLAN.md:3" in done.stderr + done.stdout


def test_a_bom_in_tether_toml_is_accepted(repo: Path) -> None:
    (repo / "tether.toml").write_bytes(b"\xef\xbb\xbf[guard]\nmax_diff = 7\n")
    done = run_tether("models", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_plan_typo_is_an_error_naming_the_right_key() -> None:
    with pytest.raises(UsageError) as caught:
        parse_plan(PLAN + "  - maxdiff: 3\n", "PLAN.md")
    assert "PLAN.md:4" in caught.value.render() and "'max-diff'" in caught.value.render()


@pytest.mark.parametrize("scope", ["../../etc/passwd", "/etc/passwd", "src/../../x", "~/x"])
def test_a_scope_outside_the_repo_is_refused(repo: Path, scope: str) -> None:
    with pytest.raises(UsageError):
        parse_plan(PLAN + f"  - scope: {scope}\n", "PLAN.md")
    code, out = do(repo, None, "--scope", scope)
    assert code == 2, out
    assert "leaves the repository" in out or "absolute" in out, out


def test_an_unknown_placeholder_in_verify_md_is_an_error() -> None:
    with pytest.raises(UsageError) as caught:
        parse_verify("## step\n\n- `pytest {changed_test}`\n")
    assert "VERIFY.md:3" in caught.value.render() and "{changed_test}" in caught.value.render()
    parse_verify("## step\n\n- `echo ${HOME} {changed} | awk '{print $1}'`\n")


def test_a_merge_in_progress_and_a_detached_head_are_refused(repo: Path) -> None:
    (repo / ".git" / "MERGE_HEAD").write_text(git(repo, "rev-parse", "HEAD"))
    code, out = do(repo)
    assert code == 2 and "middle of a merge" in out
    (repo / ".git" / "MERGE_HEAD").unlink()
    git(repo, "checkout", "-q", "--detach")
    code, out = do(repo)
    assert code == 2 and "--detached" in out


def test_detached_goes_on_when_asked(repo: Path, scripted: Callable[..., ScriptedServer]) -> None:
    git(repo, "checkout", "-q", "--detach")
    server = scripted({"default": [tool("read_file", path="README.md")] * 2})
    code, out = do(repo, server, "--detached", "--max-steps", "2")
    assert code == 1 and "step budget" in out


def test_a_fifo_and_a_catastrophic_regex_never_hang_the_tools(repo: Path) -> None:
    os.mkfifo(repo / "pipe")
    (repo / "slow.txt").write_text("a" * 40 + "!\n")
    git(repo, "add", "slow.txt")
    box = Toolbox(repo, ActionPolicy(repo, Contract()), PlainSandbox())
    started = time.monotonic()
    read = asyncio.run(box.execute(ToolCall("1", "read_file", json.dumps({"path": "pipe"}))))
    assert not read.ok and "not a regular file" in read.text
    pattern = {"pattern": "(a+)+$"}
    found = asyncio.run(box.execute(ToolCall("2", "search", json.dumps(pattern))))
    assert time.monotonic() - started < 30
    assert found.ok or "was stopped" in found.text


PATHS = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["\0", "a\0b", "x" * 5000, "/".join(["d"] * 600), "README.md/x", "..",
                     "../x", "/etc/passwd", ".git/config", "~", "a//b", " ", "\n", "README.md"]),
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=PATHS, name=st.sampled_from(["read_file", "edit_file", "create_file", "delete_file"]))
def test_fuzzed_paths_are_answered_never_raised(repo: Path, path: str, name: str) -> None:
    box = Toolbox(repo, ActionPolicy(repo, Contract(allow_delete=True)), PlainSandbox())
    args = {"path": path, "search": "sample", "replace": "sample", "content": "x"}
    wanted = {"read_file": ["path"], "delete_file": ["path"], "create_file": ["path", "content"]}
    keys = wanted.get(name, ["path", "search", "replace"])
    call = ToolCall("1", name, json.dumps({k: args[k] for k in keys}))
    outcome = asyncio.run(box.execute(call))
    assert isinstance(outcome.text, str) and outcome.text
    assert (repo / ".git" / "config").is_file()


SEEDS = [b"[guard]\nmax_diff = 3\n", PLAN.encode() + b"  - scope: src/**\n",
         b"## step\n\n- `ruff check {changed_py}`\n  - timeout: 5\n"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(seed=st.sampled_from(SEEDS), noise=st.binary(max_size=60), at=st.integers(0, 80))
def test_fuzzed_input_file_bytes_parse_or_fail_cleanly(seed: bytes, noise: bytes, at: int) -> None:
    import tempfile

    from tether.fsutil import read_input

    data = seed[:at] + noise + seed[at:]
    with tempfile.NamedTemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        for parse in (parse_config, parse_plan, parse_verify):
            with contextlib.suppress(UsageError):
                parse(read_input(Path(handle.name), "input"))


def test_a_plan_typo_stops_run_with_file_and_line(repo: Path) -> None:
    (repo / "PLAN.md").write_text(PLAN + "  - maxdiff: 3\n")
    done = run_tether("run", cwd=repo, env={"TETHER_EXECUTOR_MODEL": "x"})
    assert done.returncode == 2 and "PLAN.md:4" in done.stderr and "max-diff" in done.stderr


def test_an_unknown_placeholder_stops_verify_with_file_and_line(repo: Path) -> None:
    (repo / "VERIFY.md").write_text("# VERIFY\n\n## step\n\n- `pytest {tests}`\n")
    done = run_tether("verify", cwd=repo)
    assert done.returncode == 2 and "VERIFY.md:5" in done.stderr and "{tests}" in done.stderr


def test_do_works_with_dot_tether_in_the_users_gitignore(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    (repo / ".gitignore").write_text(".tether/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore tether")
    server = scripted(
        {"default": [tool("edit_file", path="README.md", search="sample", replace="example"),
                     tool("done", summary="renamed")]}
    )  # fmt: skip
    code, out = do(repo, server)
    assert code == 0, out
    assert git(repo, "log", "-1", "--format=%s").strip() == "tether: Do it"
