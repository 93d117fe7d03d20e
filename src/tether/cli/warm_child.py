"""In a child the warm process forked: take on the client's process state, so the command
runs as it would have in the client (``warm.py``) — its standard streams (the very
descriptors), working directory, environment, umask, arguments and signal dispositions,
in a process group of its own (the client forwards its signals to that group)."""

from __future__ import annotations

import gc
import io
import locale
import os
import resource
import signal
import sys
import tempfile
import time
from typing import Any

# what a cold interpreter starts with; the server's own handlers must not stay
DEFAULTS: dict[int, Any] = {
    signal.SIGINT: signal.default_int_handler,
    signal.SIGTERM: signal.SIG_DFL,
    signal.SIGHUP: signal.SIG_DFL,
    signal.SIGQUIT: signal.SIG_DFL,
    signal.SIGCHLD: signal.SIG_DFL,
    signal.SIGUSR1: signal.SIG_DFL,
    signal.SIGUSR2: signal.SIG_DFL,
}


def become(request: dict[str, Any], fds: list[int]) -> None:
    for number, handler in DEFAULTS.items():
        signal.signal(number, handler)
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())  # the server blocked them for the fork
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        if fd > 2:
            os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    locale.setlocale(locale.LC_CTYPE, "")  # as Python's start-up does, from this env
    time.tzset()
    _limits(request)
    tempfile.tempdir = None  # gettempdir() answers for this environment's TMPDIR
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    os.umask(int(request["umask"]))
    _streams(request["streams"])
    sys.argv = list(request["argv"])
    try:
        os.chdir(request["cwd"])
    except OSError as exc:
        print(f"tether: cannot enter {request['cwd']}: {exc.strerror}", file=sys.stderr)
        os._exit(1)
    gc.disable()  # as startup.main: settle_heap resumes it where long work starts


def unmatched(request: dict[str, Any]) -> str:
    """Why a child could not take on the client's limits (checked before the fork): an
    unprivileged process can lower its limits and raise its niceness, not the reverse."""
    for name, (_, hard) in dict(request.get("rlimits") or {}).items():
        _, own = resource.getrlimit(getattr(resource, name))
        if own != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > own):
            return f"the client's {name} is above this process's"
    if int(request.get("nice", 0)) < os.getpriority(os.PRIO_PROCESS, 0):
        return "the client is less nice than this process"
    return ""


def _limits(request: dict[str, Any]) -> None:
    for name, (soft, hard) in dict(request.get("rlimits") or {}).items():
        which = getattr(resource, name)
        if resource.getrlimit(which) != (soft, hard):
            resource.setrlimit(which, (soft, hard))
    nice = int(request.get("nice", 0))
    if nice != os.getpriority(os.PRIO_PROCESS, 0):
        os.setpriority(os.PRIO_PROCESS, 0, nice)


def _streams(specs: list[tuple[Any, ...]]) -> None:
    """stdin, stdout and stderr over the client's descriptors, made as its were."""
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        encoding, errors, line_buffering, write_through = specs[fd]
        raw = io.FileIO(fd, "rb" if fd == 0 else "wb", closefd=False)
        buffered: io.BufferedReader | io.BufferedWriter = (
            io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        )
        stream = io.TextIOWrapper(
            buffered,
            encoding=encoding,
            errors=errors,
            newline=None if fd == 0 else "\n",
            line_buffering=line_buffering,
            write_through=write_through,
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
