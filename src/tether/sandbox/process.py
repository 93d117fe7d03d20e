"""Running one command as a process tree: capture, timeout, a pids cgroup, a clean kill.

Nothing a command starts outlives it: the process group is killed when it ends, and
where a pids cgroup is writable its whole tree is capped and killed as one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MAX_CAPTURE = 256 * 1024
PIDS_MAX = 512
GRACE_S = 3.0  # after a timeout's SIGINT, time to print what ran before the SIGKILL


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    def tail(self, lines: int = 40, chars: int = 4000) -> str:
        """Exit code and the tail of both streams, for a model or a report."""
        parts = [f"exit code {self.exit_code}" + (" (killed: timeout)" if self.timed_out else "")]
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            if text.strip():
                parts.append(f"--- {name} ---\n{clip_tail(text, lines, chars)}")
        return "\n".join(parts)


def clip_tail(text: str, lines: int, chars: int) -> str:
    kept = text.rstrip("\n").splitlines()
    cut = len(kept) > lines
    body = "\n".join(kept[-lines:])
    if len(body) > chars:
        body, cut = body[-chars:], True
    return (f"[... {len(kept) - min(lines, len(kept))} earlier lines cut]\n" if cut else "") + body


class PidsCgroup:
    """A cgroup (v1 ``pids`` hierarchy, or v2 where delegated) capping one command."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, limit: int = PIDS_MAX) -> PidsCgroup | None:
        for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
            if not (base / "cgroup.procs").exists():
                continue
            if base == Path("/sys/fs/cgroup") and "pids" not in _read(base / "cgroup.controllers"):
                continue
            path = base / "tether" / uuid.uuid4().hex[:12]
            try:
                path.mkdir(parents=True)
                (path / "pids.max").write_text(str(limit))
            except OSError:
                return None
            return cls(path)
        return None

    def wrap(self, argv: list[str]) -> list[str]:
        """argv that first moves itself into this cgroup, then execs ``argv``."""
        return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.path), *argv]

    def pids(self) -> list[int]:
        return [int(p) for p in _read(self.path / "cgroup.procs").split() if p.strip()]

    def kill_all(self) -> None:
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self) -> None:
        self.kill_all()
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.02)


class Running(Protocol):
    """A started command: ``asyncio.subprocess.Process`` or one the task's starter forked."""

    @property
    def pid(self) -> int: ...

    @property
    def stdout(self) -> asyncio.StreamReader | None: ...

    @property
    def stderr(self) -> asyncio.StreamReader | None: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


class Tree(Protocol):
    """What holds a command's whole process tree: its own cgroup, or the task's."""

    def kill_all(self) -> None: ...

    def remove(self) -> None: ...


class Spawned(Running, Tree, Protocol):
    """A command a task's starter forked: its tree is the task's cgroup."""


class Starter(Protocol):
    """Starts commands inside a cgroup entered once (``spawner.Spawner``)."""

    async def spawn(self, argv: list[str], cwd: Path, env: dict[str, str]) -> Spawned | None: ...


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


async def execute(
    argv: list[str],
    command: str,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    use_cgroup: bool,
    spawner: Starter | None = None,
) -> CommandResult:
    """Run ``argv`` to its end or its timeout; ``spawner``: the task's command starter
    (its cgroup holds the tree), else a cgroup of its own where one is writable."""
    started = time.perf_counter()
    spawned = await spawner.spawn(argv, cwd, env) if spawner else None
    proc: Running
    tree: Tree | None
    if spawned is not None:
        proc, tree = spawned, spawned
    else:
        cgroup = PidsCgroup.create() if use_cgroup else None
        proc, tree = await _start(cgroup.wrap(argv) if cgroup else argv, cwd, env), cgroup
    out, err = bytearray(), bytearray()
    timed_out = False
    collect = asyncio.ensure_future(_collect(proc, out, err))
    try:
        await asyncio.wait_for(asyncio.shield(collect), timeout=timeout_s)
    except TimeoutError:
        timed_out = True
        await _stop_gently(proc.pid, tree, collect)
        await proc.wait()
    except BaseException:
        collect.cancel()
        kill_tree(proc.pid, tree)
        raise
    finally:
        kill_tree(proc.pid, tree)  # nothing a command started outlives it
        if tree is not None:
            tree.remove()
    return CommandResult(
        command=command,
        exit_code=proc.returncode if proc.returncode is not None else -9,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        seconds=time.perf_counter() - started,
        timed_out=timed_out,
    )


async def _start(argv: list[str], cwd: Path, env: dict[str, str]) -> Running:
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


async def _collect(proc: Running, out: bytearray, err: bytearray) -> None:
    """Read both streams into ``out``/``err`` (keeping the last MAX_CAPTURE bytes)."""

    async def drain(stream: asyncio.StreamReader | None, kept: bytearray) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            kept += chunk
            if len(kept) > MAX_CAPTURE:
                del kept[: len(kept) - MAX_CAPTURE]

    await asyncio.gather(drain(proc.stdout, out), drain(proc.stderr, err))
    await proc.wait()


async def _stop_gently(pid: int, tree: Tree | None, collect: asyncio.Future[None]) -> None:
    """SIGINT first, so a test runner prints what it found so far (pytest's summary on
    KeyboardInterrupt) while its output is still read; SIGKILL after ``GRACE_S``. The
    bubblewrap processes are spared: one that dies takes the sandbox down at once."""
    for target in [pid, *descendants(pid)]:
        if _comm(target) != "bwrap":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(target, signal.SIGINT)
    try:
        await asyncio.wait_for(asyncio.shield(collect), timeout=GRACE_S)
    except TimeoutError:
        kill_tree(pid, tree)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collect, timeout=GRACE_S)
    if not collect.done():
        collect.cancel()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc; children in other sessions included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _read(entry / "stat")
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    frontier = [pid]
    while frontier:
        found += (following := [c for p in frontier for c in children.get(p, [])])
        frontier = following
    return found


def _comm(pid: int) -> str:
    return _read(Path(f"/proc/{pid}/comm")).strip()


def kill_tree(pid: int, tree: Tree | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if tree is not None:
        tree.kill_all()
