"""The task's command starter: one pids cgroup entered once, every step command forked
inside it, nothing a command starts outliving it (real processes, real cgroups)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.helpers import processes_with
from tether.sandbox import BwrapSandbox, CommandResult, PlainSandbox
from tether.sandbox.process import PidsCgroup

MODES = ["none", *(["bwrap"] if shutil.which("bwrap") else [])]


def _cgroup_writable() -> bool:
    probe = PidsCgroup.create()
    if probe is None:
        return False
    probe.remove()
    return True


pytestmark = pytest.mark.skipif(not _cgroup_writable(), reason="no writable pids cgroup")


@asynccontextmanager
async def steps(mode: str) -> AsyncIterator[PlainSandbox]:
    bwrap = shutil.which("bwrap") or "bwrap"
    box = BwrapSandbox(bwrap=bwrap) if mode == "bwrap" else PlainSandbox()
    async with box.steps() as shared:
        assert isinstance(shared, PlainSandbox) and shared.spawner is not None
        yield shared


def with_steps(mode: str, body: Callable[[PlainSandbox], Awaitable[None]]) -> None:
    async def main() -> None:
        async with steps(mode) as shared:
            await body(shared)

    asyncio.run(main())


@pytest.mark.parametrize("mode", MODES)
def test_commands_run_inside_the_tasks_cgroup_with_their_output_and_codes(
    mode: str, tmp_path: Path
) -> None:
    async def body(box: PlainSandbox) -> None:
        assert box.spawner is not None
        done = await box.run("echo out; echo err >&2; exit 3", tmp_path, 10)
        assert (done.exit_code, done.stdout, done.stderr) == (3, "out\n", "err\n")
        missing = await box.run("no-such-command-here", tmp_path, 10)
        assert missing.exit_code == 127 and "not found" in missing.stderr
        inside = await box.run("cat /proc/self/cgroup", tmp_path, 10)
        assert box.spawner.cgroup.path.name in inside.stdout
        cwd = await box.run("pwd; cat", tmp_path, 10)  # stdin is empty, not tether's
        assert cwd.stdout.strip() == str(tmp_path.resolve()) and cwd.exit_code == 0

    with_steps(mode, body)


def test_a_command_that_cannot_start_says_why_and_the_next_one_runs(tmp_path: Path) -> None:
    """The starter's fast path (posix_spawn) gives way to a fork that reports the error
    as the command's own, exit code 127, as a shell would."""
    gone = tmp_path / "gone"
    gone.mkdir()

    async def body(box: PlainSandbox) -> None:
        gone.rmdir()
        failed = await box.run("true", gone, 10)
        assert failed.exit_code == 127 and "cannot start /bin/sh" in failed.stderr, failed
        assert "No such file or directory" in failed.stderr
        fine = await box.run("pwd; echo $$ >&2", tmp_path, 10)
        assert fine.exit_code == 0 and fine.stdout.strip() == str(tmp_path.resolve())
        assert fine.stderr.strip().isdigit()  # the shell's own pid: it started

    with_steps("none", body)


@pytest.mark.parametrize("mode", MODES)
def test_a_daemon_a_command_leaves_behind_is_killed_when_it_ends(mode: str, tmp_path: Path) -> None:
    async def body(box: PlainSandbox) -> None:
        done = await box.run(
            "(setsid sh -c 'sleep 91 # tether-daemon' >/dev/null 2>&1 &); echo started",
            tmp_path,
            10,
        )
        assert done.stdout.strip() == "started"
        assert not done.timed_out  # no descriptor of the command's pipes leaked into it
        await asyncio.sleep(0.05)
        assert not processes_with("tether-daemon")

    with_steps(mode, body)


@pytest.mark.parametrize("mode", MODES)
def test_a_timeout_kills_the_whole_tree_and_the_next_command_runs(
    mode: str, tmp_path: Path
) -> None:
    async def body(box: PlainSandbox) -> None:
        done = await box.run("sleep 92 # tether-tree & sleep 93 # tether-tree", tmp_path, 0.5)
        assert done.timed_out
        await asyncio.sleep(0.05)
        assert not processes_with("tether-tree")
        after = await box.run("echo after", tmp_path, 10)
        assert after.stdout == "after\n"

    with_steps(mode, body)


def test_commands_started_together_each_get_their_own_output(tmp_path: Path) -> None:
    async def body(box: PlainSandbox) -> None:
        runs = [box.run(f"sleep 0.{k}; echo {k}; exit {k}", tmp_path, 10) for k in range(1, 6)]
        done: list[CommandResult] = await asyncio.gather(*runs)
        assert [(d.stdout, d.exit_code) for d in done] == [(f"{k}\n", k) for k in range(1, 6)]

    with_steps("none", body)


def test_a_request_too_big_for_the_starter_runs_the_old_way(tmp_path: Path) -> None:
    async def body(box: PlainSandbox) -> None:
        big = {f"BIG{k}": "x" * 100_000 for k in range(3)}  # one variable: at most 128 KiB
        done = await box.run('printf %s "$BIG0$BIG2" | wc -c', tmp_path, 10, env=big)
        assert done.stdout.strip() == "200000"
        inside = await box.run("cat /proc/self/cgroup", tmp_path, 10, env=big)
        assert box.spawner is not None and box.spawner.cgroup.path.name not in inside.stdout

    with_steps("none", body)


def test_when_the_starter_dies_its_command_ends_killed_and_the_next_runs(tmp_path: Path) -> None:
    async def body(box: PlainSandbox) -> None:
        assert box.spawner is not None
        await box.run("true", tmp_path, 10)  # the starter is up
        starter = box.spawner.starter_pid
        running = asyncio.ensure_future(box.run("sleep 94 # tether-orphan", tmp_path, 30))
        await asyncio.sleep(0.2)
        os.kill(starter, signal.SIGKILL)
        done = await asyncio.wait_for(running, 10)
        assert done.exit_code < 0
        assert not processes_with("tether-orphan")
        after = await box.run("echo after", tmp_path, 10)
        assert after.stdout == "after\n"

    with_steps("none", body)


def test_closing_ends_the_starter_and_removes_the_cgroup(tmp_path: Path) -> None:
    async def main() -> tuple[int, Path]:
        async with steps("none") as box:
            assert box.spawner is not None
            await box.run("true", tmp_path, 10)
            return box.spawner.starter_pid, box.spawner.cgroup.path

    starter, cgroup = asyncio.run(main())
    assert not cgroup.exists()
    assert not Path(f"/proc/{starter}").exists()
