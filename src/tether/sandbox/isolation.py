"""Guard layer 2, the OS sandbox for commands the model runs (and for gates).

With bubblewrap (``bwrap``): the work tree is read-write; ``.git``, ``.tether``,
``tether.toml`` and the task's protected files are read-only; the rest of the file
system is read-only; ``$HOME``, ``/home``, ``/root``, ``/tmp`` and ``/run`` are empty
(but for the toolchains on PATH and the folders an editable install points at, shown
read-only); sockets in the work tree are unreachable; there is no network unless the
task allows it. Either way the environment is an allowlist (``ALLOWED_ENV`` plus
``[guard] pass_env``). Where a pids cgroup is writable, the command's process tree is
capped (a fork bomb stops there) and killed as a whole on timeout. Without bwrap,
commands run unsandboxed and layers 1 and 3 carry the load (tether says so at start).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from tether.errors import UsageError
from tether.layout import STATE_DIR
from tether.sandbox.process import CommandResult, PidsCgroup, execute, kill_tree
from tether.sandbox.spawner import Spawner

# What a command sees of tether's environment: these names (and LC_*), what
# ``[guard] pass_env`` adds, nothing else -- no API key, token, database URL, DSN or
# agent socket reaches a command by accident.
ALLOWED_ENV = (
    "PATH", "LANG", "LANGUAGE", "TERM", "TZ", "USER", "LOGNAME", "SHELL", "COLUMNS",
    "LINES", "NO_COLOR", "FORCE_COLOR", "CI", "VIRTUAL_ENV", "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV", "PYTHONPATH", "PYTHONHASHSEED", "PYTHONUTF8", "SOURCE_DATE_EPOCH",
)  # fmt: skip


def command_env(
    home: Path, pass_env: Iterable[str] = (), extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a sandboxed command: an allowlist, an empty $HOME."""
    allowed = set(ALLOWED_ENV) | set(pass_env)
    env = {k: v for k, v in os.environ.items() if k in allowed or k.startswith("LC_")}
    env.update(
        {
            "HOME": str(home),
            "TMPDIR": "/tmp",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            **(extra or {}),
        }
    )
    return env


@dataclass(frozen=True)
class Isolation:
    """What a sandbox lets a command see and do (the guard decides it; see
    ``tether/workflow/sandboxes.py``). Paths are relative to the work tree unless said."""

    read_only: tuple[str, ...] = ()
    allow_network: bool = False
    pass_env: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()
    hide: tuple[str, ...] = ()  # sockets in the tree: unreachable
    visible: tuple[str, ...] = ()  # absolute folders under a hidden one, shown read-only


class PlainSandbox:
    """No OS isolation: an allowlisted environment, an empty $HOME, a process-tree kill."""

    name = "none"

    def __init__(
        self, isolation: Isolation | Future[Isolation] = Isolation(), use_cgroup: bool = True
    ):
        """``isolation`` may still be being worked out (a future): the first command
        waits for it, so a task's first request does not."""
        self._isolation = isolation
        self.use_cgroup = use_cgroup
        self.spawner: Spawner | None = None  # set on the copy ``steps`` yields

    @property
    def isolation(self) -> Isolation:
        if isinstance(self._isolation, Future):
            self._isolation = self._isolation.result()
        return self._isolation

    def argv(
        self, command: str, cwd: Path, home: Path, writable: tuple[Path, ...] = ()
    ) -> list[str]:
        return ["/bin/sh", "-c", command]

    def env(self, home: Path) -> dict[str, str]:
        iso = self.isolation
        return command_env(home, iso.pass_env, dict(iso.extra_env))

    def with_network(self) -> PlainSandbox:
        """This sandbox, sharing the host's network (for servers a browser must reach)."""
        return type(self)(replace(self.isolation, allow_network=True), self.use_cgroup)

    async def run(
        self,
        command: str,
        cwd: Path,
        timeout_s: float,
        *,
        env: dict[str, str] | None = None,
        writable: tuple[Path, ...] = (),
    ) -> CommandResult:
        """``env`` is added to the allowlisted environment; ``writable`` are folders
        outside the tree the command may write (a gate's report folder)."""
        with tempfile.TemporaryDirectory(prefix="tether-home-") as home:
            return await execute(
                self.argv(command, cwd, Path(home), writable),
                command,
                cwd,
                {**self.env(Path(home)), **(env or {})},
                timeout_s,
                self.use_cgroup,
                self.spawner,
            )

    @asynccontextmanager
    async def steps(self) -> AsyncIterator[PlainSandbox]:
        """This sandbox for one task's step commands, which run one at a time: a starter
        process enters a pids cgroup once for the task and forks each command inside it
        (entering one costs a command 10-30 ms). Gates, run side by side, keep a cgroup
        each, so each keeps its own cap."""
        spawner = Spawner.start() if self.use_cgroup else None
        if spawner is None:
            yield self
            return
        shared = copy.copy(self)
        shared.spawner = spawner
        try:
            yield shared
        finally:
            await spawner.close()

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
                    env=self.env(Path(home)),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=sink,
                    stderr=sink,
                    start_new_session=True,
                )
                try:
                    yield proc.pid
                finally:
                    kill_tree(proc.pid, cgroup)
                    await proc.wait()
                    if cgroup is not None:
                        cgroup.remove()


class BwrapSandbox(PlainSandbox):
    """bubblewrap isolation (see the module docstring)."""

    name = "bwrap"

    def __init__(
        self,
        isolation: Isolation | Future[Isolation] = Isolation(),
        use_cgroup: bool = True,
        bwrap: str = "bwrap",
    ):
        super().__init__(isolation, use_cgroup)
        self.bwrap = bwrap

    def with_network(self) -> BwrapSandbox:
        return BwrapSandbox(
            replace(self.isolation, allow_network=True), self.use_cgroup, self.bwrap
        )

    def argv(
        self, command: str, cwd: Path, home: Path, writable: tuple[Path, ...] = ()
    ) -> list[str]:
        root = cwd.resolve()
        iso = self.isolation
        args = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        args += ["--tmpfs", "/tmp"]
        if Path("/run").is_dir():  # agent and service sockets (ssh, gpg, docker, dbus)
            args += ["--tmpfs", "/run"]
        hidden = [folder for folder in HIDDEN if folder.is_dir()]
        for folder in hidden:
            args += ["--tmpfs", str(folder)]
        for tool_dir in [*toolchain_dirs(hidden), *map(Path, iso.visible)]:
            if tool_dir.is_dir():
                args += ["--ro-bind", str(tool_dir), str(tool_dir)]
        args += ["--dir", str(home), "--bind", str(root), str(root)]
        for folder in writable:
            args += ["--bind", str(folder), str(folder)]
        for rel in (".git", STATE_DIR, "tether.toml", *iso.read_only):
            target = root / rel
            if target.exists() or target.is_symlink():
                args += ["--ro-bind", str(target), str(target)]
        for rel in iso.hide:
            if (root / rel).is_socket():
                args += ["--ro-bind", "/dev/null", str(root / rel)]
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
        args += ["--new-session", "--chdir", str(root)]
        if not iso.allow_network:
            args.append("--unshare-net")
        return [*args, "--", "/bin/sh", "-c", command]


HIDDEN = (Path("/home"), Path("/root"))


def toolchain_dirs(hidden: list[Path]) -> list[Path]:
    """Folders under hidden directories that commands still need, read-only: the tool
    root holding each PATH entry (``~/.pyenv``, ``~/.cargo``; only ``~/.local/bin``
    itself from ``~/.local``; a virtual environment under ``/tmp``) and this Python's
    installation. ``~/.ssh`` and other secrets stay hidden. Worked out once per PATH
    (about 1 ms of stat calls, which every sandboxed command paid)."""
    return list(_toolchain_dirs(tuple(hidden), os.environ.get("PATH", "")))


@functools.lru_cache(maxsize=8)
def _toolchain_dirs(hidden: tuple[Path, ...], search_path: str) -> tuple[Path, ...]:
    import sys

    wanted: set[Path] = set()
    candidates = [Path(p) for p in search_path.split(os.pathsep) if p]
    candidates += [Path(sys.prefix), Path(sys.base_prefix)]
    for candidate in candidates:
        for path in {candidate, candidate.resolve()}:
            for top in (*hidden, Path("/tmp")):
                if top in path.parents and path.exists():
                    wanted.add(_tool_root(top, path))
    return tuple(sorted(wanted))


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


def bwrap_for(mode: str) -> str | None:
    """The bubblewrap a sandbox ``mode`` uses (None: unsandboxed); ``bwrap`` required."""
    found = shutil.which("bwrap")
    if mode == "none" or (mode == "auto" and found is None):
        return None
    if found is None:
        raise UsageError(
            'sandbox = "bwrap" but bubblewrap is not installed',
            hint='install it (Debian/Ubuntu: apt-get install bubblewrap) or set sandbox = "auto"',
        )
    return found


def make_sandbox(
    mode: str, isolation: Isolation | Future[Isolation] = Isolation()
) -> BwrapSandbox | PlainSandbox:
    """``auto``: bwrap when installed; ``bwrap``: required; ``none``: unsandboxed."""
    found = bwrap_for(mode)
    if found is None:
        return PlainSandbox(isolation)
    return BwrapSandbox(isolation, bwrap=found)
