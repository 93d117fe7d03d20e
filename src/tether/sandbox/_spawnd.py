"""tether's command starter: one process per task, run as
``python -I -S _spawnd.py CGROUP FD`` (the standard library only, nothing of tether).

It joins the task's pids cgroup once, then forks each command it is asked for, so every
command starts inside the cgroup without joining it (a join waits on a kernel-wide lock:
10-30 ms a command). Requests and replies are JSON datagrams on the SOCK_SEQPACKET
socket ``FD``; a request carries the command's stdout and stderr as descriptors:

    -> {"id": 1, "argv": [...], "cwd": "...", "env": {...}}   (+ 2 descriptors)
    <- {"id": 1, "pid": 4242}  or  {"id": 1, "error": "..."}
    <- {"id": 1, "code": 0}    when it exits (negative: the signal that ended it)

When the socket closes (tether ended, or died) it kills what it started and exits."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a few ms to import; this runs once per task
    from typing import Any


def main() -> None:
    cgroup, fd = sys.argv[1], int(sys.argv[2])
    channel = socket.socket(fileno=fd)
    os.set_inheritable(fd, False)
    with open(os.path.join(cgroup, "cgroup.procs"), "w") as procs:
        procs.write(str(os.getpid()))
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    channel.send(json.dumps({"ready": os.getpid()}).encode())
    running: dict[int, int] = {}  # pid -> request id
    try:
        serve(channel, wake_r, running)
    finally:
        for pid in running:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def serve(channel: socket.socket, wake_r: int, running: dict[int, int]) -> None:
    while True:
        ready = select.select([channel.fileno(), wake_r], [], [])[0]
        if wake_r in ready:
            os.read(wake_r, 4096)
        reap(channel, running)
        if channel.fileno() not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(channel, 1 << 20, 2, socket.MSG_CMSG_CLOEXEC)
        except OSError:
            return
        if not data:
            return
        for received in fds:  # MSG_CMSG_CLOEXEC is not honoured everywhere
            os.set_inheritable(received, False)
        request = json.loads(data)
        reply: dict[str, Any] = {"id": request["id"]}
        try:
            pid = start(request, fds)
        except OSError as exc:  # fork refused: the cgroup's pids cap, memory
            reply["error"] = f"{type(exc).__name__}: {exc}"
        else:
            running[pid] = request["id"]
            reply["pid"] = pid
        finally:
            for received in fds:
                os.close(received)
        channel.send(json.dumps(reply).encode())


def reap(channel: socket.socket, running: dict[int, int]) -> None:
    """Collect every child that ended (strays included); say which commands did."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in running:
            code = os.waitstatus_to_exitcode(status)
            channel.send(json.dumps({"id": running.pop(pid), "code": code}).encode())


DEFAULTS = (signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ)  # as a fresh process has them


def start(request: dict[str, Any], fds: list[int]) -> int:
    """Start the command: its own session, stdin from /dev/null, the given outputs.
    ``posix_spawn`` (a vfork: 1.0 ms to a ``sh -c true``'s end against 2.5 ms for a
    fork of this interpreter); where it fails, the fork below says why, as before."""
    argv = [str(a) for a in request["argv"]]
    env = {str(k): str(v) for k, v in request["env"].items()}
    out, err = fds
    if os.path.isabs(argv[0]):
        try:
            os.chdir(str(request["cwd"]))  # the child's folder: this process has no other use
            actions = [
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out, 1),
                (os.POSIX_SPAWN_DUP2, err, 2),
            ]
            return os.posix_spawn(
                argv[0], argv, env, file_actions=actions, setsid=True, setsigdef=DEFAULTS
            )
        except OSError:
            pass
    return _forked(request, argv, env, out, err)


def _forked(
    request: dict[str, Any], argv: list[str], env: dict[str, str], out: int, err: int
) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:
        signal.set_wakeup_fd(-1)
        for number in DEFAULTS:
            signal.signal(number, signal.SIG_DFL)
        os.setsid()
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(str(request["cwd"]))
        os.execvpe(argv[0], argv, env)
    except BaseException as exc:
        os.write(2, f"tether: cannot start {argv[0]}: {exc}\n".encode())
    finally:
        os._exit(127)


if __name__ == "__main__":
    main()
