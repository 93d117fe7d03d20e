"""The resident process's client side, run before anything else is imported: when a warm
tether (``tether warm``) serves this environment, the command is handed to it over a
Unix socket and this process only waits for its exit code, forwarding signals.

Most of a cold ``tether do``'s start-up (~0.3 s of CPU on a 2-core VM) is importing
modules; the warm process has them loaded and its heap frozen, and forks one child per
command. The child gets this process's stdin, stdout and stderr (the descriptors
themselves), its working directory, environment, umask and arguments, so it behaves as
this process would have. Nothing here imports more than ``_socket``, ``marshal`` and
``zlib``: with no warm process running, the cost is one ``lstat`` (under 0.1 ms).

With ``TETHER_WARM=auto`` a command that found none starts one as it ends (``app.leave``).
Handing over is skipped (the command runs here, cold) when ``TETHER_WARM=off``, for the
live session (it owns the terminal), for a background job reading a terminal, when no
server answers, or when the server refuses (another interpreter, changed code)."""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # typing itself costs ~5 ms to import; this runs before all
if TYPE_CHECKING:
    from typing import Any

# the commands that run in the resident process: not the live session (`pair`, or no
# command), which owns the terminal, nor the long-running servers and `warm` itself
HANDED_OVER = frozenset(
    {
        *("do", "run", "plan", "verify", "status", "sessions", "report", "undo"),
        *("checkpoints", "rules", "variants", "runs", "pick", "skills", "models"),
        *("init", "demo"),
    }
)
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGWINCH", "SIGUSR1", "SIGUSR2")
RLIMITS = (
    *("RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK"),
    *("RLIMIT_NOFILE", "RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_MEMLOCK"),
)
_FLAGS = ("optimize", "isolated", "no_site", "no_user_site", "safe_path", "utf8_mode")


def key() -> tuple[Any, ...]:
    """What must be equal for a warm process to stand in for this one: the interpreter,
    its import path (minus the script's own folder) and the flags that change imports.
    (``python`` and ``python3.11`` in one virtual environment are one interpreter.)"""
    flags = tuple(getattr(sys.flags, name, None) for name in _FLAGS)
    binary = os.path.realpath(sys.executable)
    encoding = sys.getfilesystemencoding()
    return (binary, sys.prefix, sys.version, tuple(sys.path[1:]), flags, encoding)


def directory() -> str:
    """Where the sockets live: ``TETHER_WARM_DIR``, else ``$XDG_RUNTIME_DIR/tether``,
    else ``/tmp/tether-<uid>``."""
    chosen = os.environ.get("TETHER_WARM_DIR")
    if chosen:
        return chosen
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(runtime, "tether") if runtime else f"/tmp/tether-{os.getuid()}"


def unsafe(folder: str) -> str | None:
    """Why ``folder`` may not hold the socket (None when it may): it must be a real
    folder of this user that nobody else can enter, or another user could stand in."""
    try:
        info = os.lstat(folder)
    except OSError:
        return "it does not exist"
    if (info.st_mode & 0o170000) != 0o040000:
        return "it is not a folder"
    if info.st_uid != os.getuid():
        return f"it belongs to uid {info.st_uid}"
    if info.st_mode & 0o077:
        return f"others may use it (mode {info.st_mode & 0o777:o})"
    return None


def socket_path(folder: str | None = None, suffix: str = ".sock", ident: Any = None) -> str:
    """This environment's socket in ``folder`` (its log and lock: other ``suffix``es);
    ``ident``: ``key()``, when the caller has it already."""
    import zlib

    name = f"warm-{zlib.crc32(repr(ident or key()).encode()):08x}{suffix}"
    return os.path.join(folder or directory(), name)


def connect(folder: str | None = None, path: str | None = None, ident: Any = None) -> Any:
    """A connection to this environment's warm process (or the one at ``path``), or
    None."""
    import _socket

    folder = folder or directory()
    if unsafe(folder):
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
    try:
        sock.connect(path or socket_path(folder, ident=ident))
    except OSError:
        sock.close()
        return None
    return sock


def ask(sock: Any, request: dict[str, Any], fds: tuple[int, ...] = ()) -> Any:
    """One request and its answer (None when the connection broke)."""
    import _socket

    ancillary = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _ints(fds))] if fds else []
    try:
        sock.sendmsg([marshal.dumps(request)], ancillary)
        return receive(sock)
    except OSError:
        return None


def receive(sock: Any) -> Any:
    data = sock.recv(1 << 16)
    return marshal.loads(data) if data else None


def _ints(values: tuple[int, ...]) -> bytes:
    return b"".join(v.to_bytes(4, sys.byteorder, signed=True) for v in values)


def _streams() -> list[tuple[Any, ...]]:
    """How Python set up this process's stdin, stdout and stderr, for the child's."""
    specs = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if stream is None:
            raise OSError("a standard stream is closed")
        specs.append(
            (
                stream.encoding,
                stream.errors or "strict",
                stream.line_buffering,
                getattr(stream, "write_through", False),
            )
        )
    return specs


def limits() -> dict[str, Any]:
    """This process's resource limits and niceness (``nice tether do``, ``ulimit -n``),
    which the child must have too: it starts with the server's."""
    import resource

    return {
        "rlimits": {name: resource.getrlimit(getattr(resource, name)) for name in RLIMITS},
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
    }


def _in_background() -> bool:
    """A background job reading its terminal would be stopped (SIGTTIN) if cold; the
    warm child is outside the terminal's session and would read it, so it runs cold."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) != os.getpgrp()
    except OSError:
        return False


start_after = False  # TETHER_WARM=auto and none answered: start one once this ends


def hand_over(argv: list[str]) -> int | None:
    """The command's exit code after the warm process ran it, or None to run it here."""
    global start_after
    mode = os.environ.get("TETHER_WARM", "").lower()
    if mode in ("0", "off", "no", "false"):
        return None
    if len(argv) < 2 or argv[1] not in HANDED_OVER or _in_background():
        return None
    ident = key()
    sock = connect(ident=ident)
    if sock is None:
        start_after = mode == "auto"
        return None
    try:
        mask = os.umask(0o022)
        os.umask(mask)
        request = {
            "op": "run",
            "key": ident,
            "argv": list(argv),
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "umask": mask,
            "streams": _streams(),
            **limits(),
        }
    except OSError:  # a deleted working directory, a closed stream: cold says why
        sock.close()
        return None
    forward = _Forwarder()
    answer = ask(sock, request, (0, 1, 2))
    if not isinstance(answer, dict) or "pid" not in answer:
        sock.close()
        forward.restore()  # a Ctrl-C meanwhile reaches the cold run
        return None  # refused (another interpreter, changed code, busy): run it here
    forward.started(int(answer["pid"]))
    return _wait(sock, forward)


def _wait(sock: Any, forward: _Forwarder) -> int:
    answer = None
    while not isinstance(answer, dict):
        try:
            answer = receive(sock)
        except OSError:
            answer = None
        if answer is None:
            return forward.orphaned()
    code = int(answer.get("exit", 1))
    if code < 0:  # the child died of a signal: so does this process, for the shell
        forward.die_of(-code)
        return 128 - code  # a signal this process may not die of: the shell's number
    return code


class _Forwarder:
    """Signals this process gets go to the child's process group, as a terminal sends
    them to its foreground group; Ctrl-Z stops the child, then this process."""

    def __init__(self) -> None:
        import _signal  # type: ignore[import-not-found]  # signal without its enums

        self._signal = _signal
        self.pid = 0
        self.pending: list[int] = []
        self.saved: dict[int, Any] = {}
        for name in (*FORWARDED, "SIGTSTP", "SIGCONT"):
            number = getattr(_signal, name)
            self.saved[number] = _signal.signal(number, self._got)

    def started(self, pid: int) -> None:
        self.pid = pid
        for number in self.pending:
            self._send(number)
        self.pending.clear()

    def _got(self, number: int, _frame: object) -> None:
        if not self.pid:
            self.pending.append(number)
        else:
            self._send(number)

    def _send(self, number: int) -> None:
        s = self._signal
        try:
            if number == s.SIGTSTP:
                os.killpg(self.pid, s.SIGSTOP)
                os.kill(os.getpid(), s.SIGSTOP)  # the shell sees the job stopped
            else:
                os.killpg(self.pid, number)
        except OSError:
            pass  # the child has just ended; its exit code is on its way

    def restore(self) -> None:
        """The handlers as they were; a signal that came before any child had a pid is
        raised again, for this process (which runs the command cold) to act on."""
        for number, handler in self.saved.items():
            self._signal.signal(number, handler)
        for number in self.pending:
            os.kill(os.getpid(), number)
        self.pending.clear()

    def die_of(self, number: int) -> None:
        self._signal.signal(number, self._signal.SIG_DFL)
        os.kill(os.getpid(), number)

    def orphaned(self) -> int:
        """The warm process went away before the child's end: wait for the child and
        say that its exit code is unknown."""
        import time

        while self.pid:
            try:
                os.kill(self.pid, 0)
            except OSError:  # gone (or the pid is someone else's now)
                break
            time.sleep(0.05)
        print(
            f"tether: the warm process ended while it ran this command (pid {self.pid});"
            " its exit code is unknown. `tether warm --status` says whether it runs.",
            file=sys.stderr,
        )
        return 1
