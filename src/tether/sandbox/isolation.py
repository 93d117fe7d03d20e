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
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from tether.errors import UsageError
from tether.layout import STATE_DIR
from tether.sandbox.process import CommandResult, PidsCgroup, execute, kill_tree

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")


def scrubbed_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not any(word in k.upper() for word in SECRET_WORDS)
    }
    env.update(
        {"HOME": str(home), "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", **(extra or {})}
    )
    return env


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
            return await execute(
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
                    kill_tree(proc.pid, cgroup)
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
        for rel in (".git", STATE_DIR, "tether.toml", *self.read_only):
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
