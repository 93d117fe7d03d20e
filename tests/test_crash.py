"""Kill `tether do` with SIGKILL at random moments: the tree is always a checkpoint or
one atomic write away from one, and `tether undo` brings back exactly what the user had."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TETHER, git, run_tether
from tests.helpers import events, model_env, tool, tree_files
from tether.testing.server import ScriptedServer

RUNS = 20


def _script() -> dict[str, object]:
    turns: list[dict[str, object]] = [tool("read_file", path="src/app.py")]
    for k in range(6):
        turns.append(
            tool(
                "edit_file",
                path="src/app.py",
                search=f"value_{k} = {k}",
                replace=f"value_{k} = {k * 10}  # changed by step {k}",
            )
        )
        turns.append(tool("create_file", path=f"src/part_{k}.py", content=f"PART = {k}\n" * 20))
    turns.append(tool("run", command=f"{sys.executable} -c 'print(1)'"))
    turns.append(tool("done", summary="changed every value"))
    return {"default": turns}


def _worktree_tree(repo: Path, index: Path) -> str:
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    subprocess.run(
        ["git", "add", "-A", "--", ".", ":(exclude,top).tether"],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        ["git", "write-tree"], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _checkpoint_trees(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "log", "--format=%T", "refs/tether/checkpoints/main"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    return out.stdout.split()


def _distance(repo: Path, a: str, b: str) -> int:
    out = subprocess.run(
        ["git", "diff-tree", "-r", "--name-only", a, b],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return len(out.stdout.split())


def _wait_for_moment(repo: Path, rng: random.Random) -> None:
    """A random moment: mostly after a random number of steps (plus jitter), so the kills
    land inside the task however loaded the machine is; sometimes during start-up."""
    if rng.random() < 0.15:
        time.sleep(rng.uniform(0.05, 0.6))
        return
    wanted = rng.randrange(0, 13)
    deadline = time.time() + 60
    while time.time() < deadline:
        steps = sum(1 for e in events(repo) if e["type"] == "step")
        if steps >= wanted and any(e["type"] == "task_start" for e in events(repo)):
            break
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.08))


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(
    tmp_path: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    server = scripted(_script(), tps=300, ttft_ms=20)
    rng = random.Random(20261130)
    mid_task = 0
    for run in range(RUNS):
        repo = tmp_path / f"repo{run}"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.email", "dev@example.com")
        git(repo, "config", "user.name", "Dev")
        (repo / "src").mkdir()
        (repo / "src" / "app.py").write_text("".join(f"value_{k} = {k}\n" for k in range(6)))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "start")
        (repo / "src" / "app.py").write_text(
            (repo / "src" / "app.py").read_text() + "# the user's unsaved line\n"
        )
        (repo / "draft.md").write_text("an untracked draft\n")
        before = tree_files(repo)
        before_tree = _worktree_tree(repo, tmp_path / f"index{run}")
        proc = subprocess.Popen(
            [*TETHER, "do", "Change every value", "--scope", "src/**"],
            cwd=repo,
            env={**os.environ, **model_env(server)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_moment(repo, rng)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = _worktree_tree(repo, tmp_path / f"index{run}")
        known = [before_tree, *_checkpoint_trees(repo)]
        mid_task += len(known) >= 2 and now != before_tree
        assert min(_distance(repo, tree, now) for tree in known) <= 1, f"run {run}: torn tree"
        undone = run_tether("undo", cwd=repo)
        if undone.returncode == 2:  # killed before the first checkpoint: nothing was touched
            assert "nothing to undo" in undone.stderr or "no task" in undone.stderr
        else:
            assert undone.returncode == 0, undone.stdout + undone.stderr
        after = {k: v for k, v in tree_files(repo).items() if not k.endswith(".tether-tmp")}
        assert after == before, f"run {run}: the user's work was not restored"
        assert (
            subprocess.run(
                ["git", "log", "--format=%s"], cwd=repo, capture_output=True, text=True
            ).stdout.split("\n")[0]
            == "start"
        )
    assert mid_task >= RUNS // 2, f"only {mid_task} kills landed mid-task"
