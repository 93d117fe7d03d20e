"""One pids cgroup per task, entered once: a starter process (``_spawnd.py``) joins it
and forks each of the task's step commands there, so they are born inside it.

Joining a cgroup waits on a kernel-wide lock (10-30 ms, measured in the loop), which a
wrapper shell paid for every command. The cap and the clean kill stay: the cgroup caps
the task's processes, and once no command runs every process in it but the starter is
killed, so nothing a command started outlives it. When the starter cannot be used (no
writable cgroup, it did not start, a request too big for one datagram) a command starts
the old way, with a cgroup of its own."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tether.sandbox.process import PidsCgroup

HELPER = Path(__file__).with_name("_spawnd.py")
MAX_REQUEST = 150_000  # one datagram within the socket's default send buffer
READY_S = 5.0  # the starter is a bare interpreter; it is ready within milliseconds


class SpawnedCommand:
    """A command the starter forked, seen as ``asyncio.subprocess.Process`` is (pid,
    stdout, stderr, wait, returncode) and as its cgroup would be (kill_all, remove)."""

    def __init__(
        self,
        spawner: Spawner,
        pid: int,
        pipes: tuple[asyncio.StreamReader, asyncio.StreamReader],
        transports: list[asyncio.BaseTransport],
        exited: asyncio.Future[int],
    ):
        self.pid = pid
        self.stdout, self.stderr = pipes
        self.returncode: int | None = None
        self._spawner = spawner
        self._transports = transports
        self._exited = exited
        self._released = False

    async def wait(self) -> int:
        self.returncode = await asyncio.shield(self._exited)
        return self.returncode

    def kill_all(self) -> None:
        """The command's whole tree (its group is killed by the caller): every process
        of the task's cgroup but the starter, unless another command is running."""
        self._spawner.sweep(running=0 if self._released else 1)

    def remove(self) -> None:
        if not self._released:
            self._released = True
            self._spawner.live -= 1
        for transport in self._transports:
            transport.close()
        self._spawner.sweep(running=0)


class Spawner:
    """The starter of one task's commands (see the module docstring)."""

    def __init__(self, cgroup: PidsCgroup, helper: subprocess.Popen[bytes], channel: socket.socket):
        self.cgroup = cgroup
        self.live = 0  # commands started and not yet removed
        self._helper = helper
        self._channel = channel
        self._loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[int] = self._loop.create_future()
        self._started: dict[int, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._ids = itertools.count(1)
        self.starter_pid = 0
        self._gone = False
        self._loop.add_reader(channel.fileno(), self._receive)

    @classmethod
    def start(cls) -> Spawner | None:
        """A starter in a fresh pids cgroup, or None where there is no writable cgroup."""
        cgroup = PidsCgroup.create()
        if cgroup is None or not sys.executable:
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            helper = subprocess.Popen(
                [sys.executable, "-I", "-S", str(HELPER), str(cgroup.path), str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            ours.close()
            cgroup.remove()
            return None
        finally:
            theirs.close()
        ours.setblocking(False)
        return cls(cgroup, helper, ours)

    async def spawn(self, argv: list[str], cwd: Path, env: dict[str, str]) -> SpawnedCommand | None:
        """Start ``argv`` through the starter; None when the caller must start it."""
        if not await self._usable():
            return None
        ident = next(self._ids)
        request = json.dumps({"id": ident, "argv": argv, "cwd": str(cwd), "env": env}).encode()
        if len(request) > MAX_REQUEST:
            return None
        started = self._started[ident] = self._loop.create_future()
        exited = self._exits[ident] = self._loop.create_future()
        (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
        try:
            socket.send_fds(self._channel, [request], [out_w, err_w])
        except OSError:
            for fd in (out_r, err_r):
                os.close(fd)
            self._forget(ident)
            return None
        finally:
            os.close(out_w)
            os.close(err_w)
        # the pipes' readers are made while the starter starts the command
        pipes, transports = await self._readers(out_r, err_r)
        try:
            pid = await started
        except BaseException as exc:  # refused (the caller starts it), or cancelled
            for transport in transports:
                transport.close()
            self._forget(ident)
            if isinstance(exc, OSError):
                return None
            raise
        self._started.pop(ident, None)
        self.live += 1
        return SpawnedCommand(self, pid, pipes, transports, exited)

    def _forget(self, ident: int) -> None:
        self._started.pop(ident, None)
        self._exits.pop(ident, None)

    async def _readers(
        self, *fds: int
    ) -> tuple[tuple[asyncio.StreamReader, asyncio.StreamReader], list[asyncio.BaseTransport]]:
        readers: list[asyncio.StreamReader] = []
        transports: list[asyncio.BaseTransport] = []
        for fd in fds:
            reader = asyncio.StreamReader(loop=self._loop)
            protocol = asyncio.StreamReaderProtocol(reader, loop=self._loop)
            transport, _ = await self._loop.connect_read_pipe(
                functools.partial(_same, protocol), os.fdopen(fd, "rb", buffering=0)
            )
            readers.append(reader)
            transports.append(transport)
        return (readers[0], readers[1]), transports

    async def _usable(self) -> bool:
        if not self._ready.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._ready), READY_S)
        if not self._ready.done():
            self._lost()
        return not self._gone and self._ready.result() > 0

    def _receive(self) -> None:
        while True:
            try:
                data = self._channel.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            self._answer(json.loads(data))

    def _answer(self, message: dict[str, int | str]) -> None:
        if "ready" in message:
            self.starter_pid = int(message["ready"])
            _settle(self._ready, self.starter_pid)
        elif "pid" in message:
            _settle(self._started.get(int(message["id"])), int(message["pid"]))
        elif "error" in message:
            waiting = self._started.get(int(message["id"]))
            if waiting is not None and not waiting.done():
                waiting.set_exception(OSError(str(message["error"])))
        elif "code" in message:
            _settle(self._exits.pop(int(message["id"]), None), int(message["code"]))

    def _lost(self) -> None:
        """The starter is gone (or never came): what it ran is killed, its commands end
        as killed, and the task's next commands start the old way."""
        self._gone = True
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._channel.fileno())
        _settle(self._ready, 0)
        self.cgroup.kill_all()
        for waiting in self._started.values():
            if not waiting.done():
                waiting.set_exception(OSError("the command starter is gone"))
        for exit_ in self._exits.values():
            _settle(exit_, -signal.SIGKILL)
        self._exits.clear()

    def sweep(self, running: int) -> None:
        """Kill every process of the task's cgroup but the starter, when no more than
        ``running`` commands are live (a stray of a running one is left to its end)."""
        if self.live > running:
            return
        for pid in self.cgroup.pids():
            if pid != self.starter_pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    async def close(self) -> None:
        """End the starter (it kills what it ran when its socket closes) and the cgroup."""
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._channel.fileno())
        self._channel.close()
        for _ in range(100):
            if self._helper.poll() is not None:
                break
            await asyncio.sleep(0.002)
        self.cgroup.remove()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._helper.wait(timeout=1)


def _same(protocol: asyncio.StreamReaderProtocol) -> asyncio.StreamReaderProtocol:
    return protocol


def _settle(future: asyncio.Future[int] | None, value: int) -> None:
    if future is not None and not future.done():
        future.set_result(value)
