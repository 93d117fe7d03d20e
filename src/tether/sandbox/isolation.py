"""Guard layer 2, the OS sandbox for commands the model runs (and for gates).

With bubblewrap (``bwrap``): the work tree is read-write; ``.git``, ``.tether``,
``tether.toml`` and the task's protected files are read-only; the rest of the file
system is read-only; ``$HOME``, ``/home``, ``/root`` and ``/tmp`` are empty; there is no
network unless the task allows it; the environment is scrubbed of variables whose names
contain KEY, TOKEN, SECRET or PASSWORD. Where a pids cgroup is writable, the command's
process tree is capped (a fork bomb stops there) and killed as a whole on timeout.
Without bwrap, commands run unsandboxed and layers 1 and 3 carry the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tether.errors import UsageError

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
MAX_CAPTURE = 256 * 1024
PIDS_MAX = 512


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


class Sandbox(Protocol):
    """Runs a shell command in a work tree."""

    name: str

    async def run(self, command: str, cwd: Path, timeout_s: float) -> CommandResult: ...


def scrubbed_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not any(word in k.upper() for word in SECRET_WORDS)
    }
    env.update(
        {"HOME": str(home), "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", **(extra or {})}
    )
    return env


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

    def kill_all(self) -> None:
        for _ in range(50):
            pids = [int(p) for p in _read(self.path / "cgroup.procs").split() if p.strip()]
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


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class PlainSandbox:
    """No OS isolation: a scrubbed environment, an empty $HOME, a process-tree kill."""

    name = "none"

    def __init__(self, use_cgroup: bool = True):
        self.use_cgroup = use_cgroup

    def argv(self, command: str, cwd: Path, home: Path) -> list[str]:
        return ["/bin/sh", "-c", command]

    def with_network(self) -> PlainSandbox:
        """This sandbox, sharing the host's network (for servers a browser must reach)."""
        return self

    async def run(self, command: str, cwd: Path, timeout_s: float) -> CommandResult:
        with tempfile.TemporaryDirectory(prefix="tether-home-") as home:
            return await _execute(
                self.argv(command, cwd, Path(home)),
                command,
                cwd,
                scrubbed_env(Path(home)),
                timeout_s,
                self.use_cgroup,
            )

    @asynccontextmanager
    async def background(self, command: str, cwd: Path, log: Path) -> AsyncIterator[int]:
        """Run ``command`` while the block runs (a server for a browser gate); its output
        goes to ``log``; the whole process tree is killed when the block ends."""
        with tempfile.TemporaryDirectory(prefix="tether-home-") as home:
            cgroup = PidsCgroup.create() if self.use_cgroup else None
            argv = self.argv(command, cwd, Path(home))
            with log.open("wb") as sink:
                proc = await asyncio.create_subprocess_exec(
                    *(cgroup.wrap(argv) if cgroup else argv),
                    cwd=cwd,
                    env=scrubbed_env(Path(home)),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=sink,
                    stderr=sink,
                    start_new_session=True,
                )
                try:
                    yield proc.pid
                finally:
                    _kill_tree(proc.pid, cgroup)
                    await proc.wait()
                    if cgroup is not None:
                        cgroup.remove()


class BwrapSandbox(PlainSandbox):
    """bubblewrap isolation (see the module docstring)."""

    def with_network(self) -> BwrapSandbox:
        return BwrapSandbox(
            self.read_only, allow_network=True, use_cgroup=self.use_cgroup, bwrap=self.bwrap
        )

    name = "bwrap"

    def __init__(
        self,
        read_only: Iterable[str] = (),
        allow_network: bool = False,
        use_cgroup: bool = True,
        bwrap: str = "bwrap",
    ):
        super().__init__(use_cgroup)
        self.read_only = tuple(read_only)
        self.allow_network = allow_network
        self.bwrap = bwrap

    def argv(self, command: str, cwd: Path, home: Path) -> list[str]:
        root = cwd.resolve()
        args = [
            self.bwrap,
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
        ]
        hidden = [folder for folder in HIDDEN if folder.is_dir()]
        for folder in hidden:
            args += ["--tmpfs", str(folder)]
        for tool_dir in toolchain_dirs(hidden):
            args += ["--ro-bind", str(tool_dir), str(tool_dir)]
        args += ["--dir", str(home), "--bind", str(root), str(root)]
        for rel in (".git", ".tether", "tether.toml", *self.read_only):
            target = root / rel
            if target.exists() or target.is_symlink():
                args += ["--ro-bind", str(target), str(target)]
        args += [
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--die-with-parent",
            "--new-session",
            "--chdir",
            str(root),
        ]
        if not self.allow_network:
            args.append("--unshare-net")
        return [*args, "--", "/bin/sh", "-c", command]


HIDDEN = (Path("/home"), Path("/root"))


def toolchain_dirs(hidden: list[Path]) -> list[Path]:
    """Folders under hidden directories that commands still need, read-only: the tool
    root holding each PATH entry (``~/.pyenv``, ``~/.cargo``; only ``~/.local/bin``
    itself from ``~/.local``; a virtual environment under ``/tmp``) and this Python's
    installation. ``~/.ssh`` and other secrets stay hidden."""
    import sys

    wanted: set[Path] = set()
    candidates = [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    candidates += [Path(sys.prefix), Path(sys.base_prefix)]
    for candidate in candidates:
        for path in {candidate, candidate.resolve()}:
            for top in (*hidden, Path("/tmp")):
                if top in path.parents and path.exists():
                    wanted.add(_tool_root(top, path))
    return sorted(wanted)


def _tool_root(top: Path, path: Path) -> Path:
    if top == Path("/tmp"):
        venv = next((p for p in (path, *path.parents) if (p / "pyvenv.cfg").exists()), None)
        return venv or path
    parts = path.relative_to(top).parts
    depth = 2 if top == Path("/home") else 1  # /home/<user>/<tool>, /root/<tool>
    if len(parts) < depth:
        return path
    root = top.joinpath(*parts[:depth])
    return path if root.name in (".local", ".config") else root


def make_sandbox(
    mode: str, read_only: Iterable[str] = (), allow_network: bool = False
) -> BwrapSandbox | PlainSandbox:
    """``auto``: bwrap when installed; ``bwrap``: required; ``none``: unsandboxed."""
    found = shutil.which("bwrap")
    if mode == "none" or (mode == "auto" and found is None):
        return PlainSandbox()
    if found is None:
        raise UsageError(
            'sandbox = "bwrap" but bubblewrap is not installed',
            hint='install it (Debian/Ubuntu: apt-get install bubblewrap) or set sandbox = "auto"',
        )
    return BwrapSandbox(read_only=read_only, allow_network=allow_network, bwrap=found)


async def _execute(
    argv: list[str],
    command: str,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    use_cgroup: bool,
) -> CommandResult:
    cgroup = PidsCgroup.create() if use_cgroup else None
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *(cgroup.wrap(argv) if cgroup else argv),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    out, err = bytearray(), bytearray()
    timed_out = False
    try:
        await asyncio.wait_for(_collect(proc, out, err), timeout=timeout_s)
    except TimeoutError:
        timed_out = True
        _kill_tree(proc.pid, cgroup)
        await proc.wait()
    except BaseException:
        _kill_tree(proc.pid, cgroup)
        raise
    finally:
        _kill_tree(proc.pid, cgroup)  # nothing a command started outlives it
        if cgroup is not None:
            cgroup.remove()
    return CommandResult(
        command=command,
        exit_code=proc.returncode if proc.returncode is not None else -9,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        seconds=time.perf_counter() - started,
        timed_out=timed_out,
    )


async def _collect(proc: asyncio.subprocess.Process, out: bytearray, err: bytearray) -> None:
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


def _kill_tree(pid: int, cgroup: PidsCgroup | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill_all()
