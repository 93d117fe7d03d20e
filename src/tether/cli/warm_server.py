"""The resident process (``tether warm``): tether's modules loaded once, the heap frozen,
one forked child per command a client hands over (``warm.py``).

The server holds no event loop and no threads, so a fork is a clean copy of a process
that has only imported. It answers only its own user (``SO_PEERCRED``), only clients of
the same interpreter and import path (``warm.key``), and only while the code it loaded is
the code on disk: when a loaded tether file or an import folder changed (an edit, an
upgrade), it refuses the next command (which runs cold), lets running children finish
and starts again as a fresh process. It stops after ``idle`` seconds without a command,
on ``tether warm --stop`` or on SIGTERM, each time after its running children ended."""

from __future__ import annotations

import array
import contextlib
import gc
import marshal
import os
import selectors
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tether.cli import warm, warm_child


@dataclass
class _Child:
    pid: int
    conn: socket.socket
    pidfd: int


@dataclass
class Server:
    folder: str
    idle_s: float
    listener: socket.socket = field(init=False)
    children: dict[int, _Child] = field(default_factory=dict)
    served: int = 0
    started: float = field(default_factory=time.time)
    last: float = field(default_factory=time.monotonic)
    stopping: str = ""  # why it stops taking commands ("stop", "stale", "idle")
    fingerprint: dict[str, int] = field(default_factory=dict)
    lock: int = -1  # the environment's lock (``_only_one``)
    refused: tuple[str, float] | None = None  # the last refusal, for --status
    key: tuple[Any, ...] = field(default_factory=warm.key)  # fixed for the process

    def open(self) -> None:
        self.path = path = warm.socket_path(self.folder, ident=self.key)
        live = warm.connect(self.folder, path)
        if live is not None:
            live.close()
            raise SystemExit(f"a warm tether already answers at {path}")
        if os.path.exists(path):
            os.unlink(path)  # left by a process that was killed
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(path)
        self.bound = os.stat(path).st_ino  # unlinked at the end only if still this one
        self.listener.listen(64)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        # a stop signal wakes the loop: its handler only sets a flag, the select returns
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_w.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno())
        self.selector.register(self.wake_r, selectors.EVENT_READ, lambda r: r.recv(64))
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._stop_signal)

    def _stop_signal(self, _number: int, _frame: object) -> None:
        self.stopping = self.stopping or "stop"

    def release(self) -> None:
        """In a child: close every descriptor of the server's."""
        signal.set_wakeup_fd(-1)
        if self.lock >= 0:
            os.close(self.lock)  # a child holding it would keep a new server out
        self.selector.close()
        for sock in (self.listener, self.wake_r, self.wake_w):
            sock.close()
        for other in self.children.values():
            other.conn.close()
            os.close(other.pidfd)

    def close_listener(self) -> None:
        if self.listener.fileno() < 0:
            return
        self.selector.unregister(self.listener)
        try:
            if os.stat(self.path).st_ino == self.bound:
                os.unlink(self.path)
        except OSError:
            pass
        self.listener.close()

    def serve(self) -> str:
        """Answer until stopped; why it stopped."""
        while not (self.stopping and not self.children):
            idle_left = self.last + self.idle_s - time.monotonic()
            timeout = None if self.children else max(0.0, idle_left)
            events = self.selector.select(timeout)
            if not events and not self.children and not self.stopping:
                self.stopping = "idle"
            for key, _ in events:
                try:
                    key.data(key.fileobj)
                except Exception as exc:  # one failure must not end the others' answers
                    print(f"tether warm: {exc!r}", file=sys.stderr)
            if self.stopping:
                self.close_listener()
        return self.stopping

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        self.last = time.monotonic()
        kept = False  # a running child's connection stays open until it ends
        try:
            kept = self._answer(conn)
        except Exception as exc:  # one bad request must not end the server
            print(f"tether warm: a request failed: {exc!r}", file=sys.stderr)
        finally:
            if not kept:
                conn.close()

    def _answer(self, conn: socket.socket) -> bool:
        """Answers one request; True when the connection stays open (a running child)."""
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            return False
        message, ancdata, flags, _ = conn.recvmsg(1 << 20, socket.CMSG_SPACE(3 * 4))
        fds = _fds(ancdata)
        try:
            request = _request(message, flags)
            op = request.get("op")
            if op == "status":
                _send(conn, self.status())
            elif op == "stop":
                self.stopping = "stop"
                _send(conn, {"stopping": len(self.children)})
            elif op == "run":
                return self._run(conn, request, fds)
            return False
        finally:
            for fd in fds:
                os.close(fd)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "started": self.started,
            "served": self.served,
            "running": sorted(self.children),
            "idle_s": self.idle_s,
            "modules": len(sys.modules),
            "rss_kb": _rss_kb(),
            "refused": self.refused,
        }

    def _run(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> bool:
        refused = self._refusal(request, fds)
        if refused:
            self.refused = (refused, time.time())
            _send(conn, {"refused": refused})
            return False
        forwarded = set(warm_child.DEFAULTS)
        go_r, go_w = os.pipe()  # the child starts once it is on record, so never twice
        signal.pthread_sigmask(signal.SIG_BLOCK, forwarded)  # until the child's are set
        try:
            pid = os.fork()
            if pid == 0:
                os.close(go_w)
                _child(self, conn, request, fds, go_r)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, forwarded)
            os.close(go_r)
        try:
            self._record(pid, conn)
        except BaseException:
            # the client will run it cold: this child, which has done nothing, must not
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self._forget(pid)
            raise
        finally:
            with contextlib.suppress(OSError):  # after a kill: EOF, the child just exits
                os.write(go_w, b"g")
            os.close(go_w)
        return True

    def _record(self, pid: int, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the child sets it too; the first one counts
            os.setpgid(pid, pid)  # before the client can signal the group
        child = _Child(pid, conn, os.pidfd_open(pid))
        self.children[pid] = child
        self.selector.register(child.pidfd, selectors.EVENT_READ, lambda _: self._ended(child))
        self.selector.register(conn, selectors.EVENT_READ, lambda _: self._hung_up(child))
        _send(conn, {"pid": pid})
        self.served += 1

    def _forget(self, pid: int) -> None:
        """Out of the selector and the table (its connection stays open)."""
        child = self.children.pop(pid, None)
        if child is None:
            return
        for fileobj in (child.pidfd, child.conn):
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(fileobj)
        os.close(child.pidfd)

    def _refusal(self, request: dict[str, Any], fds: list[int]) -> str:
        if self.stopping:
            return "stopping"
        if tuple(request.get("key", ())) != self.key:
            return "another interpreter or import path"
        if len(fds) != 3:
            return "the standard streams did not arrive"
        if unmatched := warm_child.unmatched(request):
            return unmatched
        if any(_mtime(path) != seen for path, seen in self.fingerprint.items()):
            self.stopping = "stale"
            return "tether's code changed since this process loaded it"
        return ""

    def _ended(self, child: _Child) -> None:
        _, status = os.waitpid(child.pid, 0)
        self._forget(child.pid)
        with contextlib.suppress(OSError):  # the client is gone
            _send(child.conn, {"exit": os.waitstatus_to_exitcode(status)})
        child.conn.close()
        self.last = time.monotonic()

    def _hung_up(self, child: _Child) -> None:
        """The client went away before its command ended (killed outright, since every
        signal it can catch is forwarded): so does the command, as it would if cold."""
        try:
            if child.conn.recv(1 << 16):
                return
        except OSError:
            pass
        self.selector.unregister(child.conn)
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)


def _rss_kb() -> int:
    """This process's resident memory (what keeping it warm costs), 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            line = next((ln for ln in status if ln.startswith("VmRSS:")), "")
        return int(line.split()[1]) if line else 0
    except (OSError, ValueError, IndexError):
        return 0


def _send(conn: socket.socket, answer: dict[str, Any]) -> None:
    conn.sendall(marshal.dumps(answer))


def _fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    fds = array.array("i")
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return list(fds)


def _request(message: bytes, flags: int) -> dict[str, Any]:
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        raise ValueError("the request did not fit")
    request = marshal.loads(message)
    if not isinstance(request, dict):
        raise ValueError("the request is not a dict")
    return request


def fingerprint() -> dict[str, int]:
    """Modification times of the tether files this process loaded and of the import
    folders (installing or removing a package changes its folder), taken once the
    server has loaded all it will (each command then only stats them again)."""
    import tether

    root = os.path.dirname(tether.__file__)
    seen: dict[str, int] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.startswith(root):
            seen[path] = _mtime(path)
    for folder in sys.path[1:]:
        seen[folder] = _mtime(folder)
    return seen


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _child(
    server: Server, conn: socket.socket, request: dict[str, Any], fds: list[int], go: int
) -> None:
    """In the forked child: once the server has it on record, become the client's
    process, run the command, exit."""
    code = 1
    try:
        os.setpgid(0, 0)
        server.release()
        conn.close()
        if os.read(go, 1) != b"g":
            os._exit(1)  # the server could not record it: the client runs it cold
        os.close(go)
        warm_child.become(request, fds)
        from tether.cli.app import main

        main()  # leaves through app.leave (os._exit)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # nothing may return into the server's loop
        with contextlib.suppress(BaseException):
            print(f"tether: {exc!r}", file=sys.stderr)
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def load() -> None:
    """Import what commands use, so no child imports it again."""
    import importlib
    import pkgutil

    import tether

    for info in pkgutil.walk_packages(tether.__path__, "tether."):
        if info.name.endswith("__main__") or ".testing" in info.name:
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # an optional extra that is not installed
            print(f"tether warm: not preloaded: {info.name}: {exc}", file=sys.stderr)
    for name in ("anyio._backends._asyncio", "rich.console", "rich.live", "regex"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _only_one(folder: str) -> int:
    """The environment's lock, held for the server's life: two commands that each start
    one (``TETHER_WARM=auto``) leave one server, not two racing for the socket."""
    import fcntl

    fd = os.open(warm.socket_path(folder, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise SystemExit("tether warm: another one serves this environment") from None
    return fd


def main() -> None:
    """``python -c 'from tether.cli.warm_server import main; main()' FOLDER IDLE_S``."""
    folder, idle_s = sys.argv[1], float(sys.argv[2])
    lock = _only_one(folder)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    gc.disable()
    load()
    server = Server(folder, idle_s)
    server.lock = lock
    server.fingerprint = fingerprint()
    server.open()
    gc.freeze()
    gc.enable()
    print(f"tether warm: pid {os.getpid()} ready, {len(sys.modules)} modules", file=sys.stderr)
    why = server.serve()
    print(f"tether warm: stopped ({why}), {server.served} commands served", file=sys.stderr)
    if why == "stale":  # the code changed: a fresh process loads the new code
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
