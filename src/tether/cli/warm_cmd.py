"""``tether warm``: start, ask about or stop the resident process that later commands in
this environment hand themselves to (``warm.py``, ``warm_server.py``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import typer

from tether.cli import warm
from tether.errors import TetherError, UsageError

IDLE_MIN = 60.0  # minutes without a command before it stops itself
START_S = 30.0  # a cold start on a loaded machine imports for a few seconds


def warm_cmd(
    stop: bool = typer.Option(
        False, "--stop", help="Stop every warm tether of yours (after their commands end)."
    ),
    status: bool = typer.Option(False, "--status", help="Say whether it runs, and what."),
    idle: float = typer.Option(
        IDLE_MIN, "--idle", min=0.1, help="Minutes without a command before it stops itself."
    ),
) -> None:
    """Keep a warm tether resident: later commands start in ~0.1 s instead of ~0.5 s.

    The resident process has tether's modules loaded and forks one child per command
    (`do`, `run`, `verify`, `status`, ...); the child gets your terminal, working folder,
    environment and arguments, and your Ctrl-C. The live session (`tether`, `tether pair`)
    always starts cold. TETHER_WARM=off runs a command cold anyway; TETHER_WARM=auto
    starts one whenever a command found none.
    """
    folder = warm.directory()
    if stop:
        _stop(folder)
    elif status:
        _status(folder)
    else:
        _start(folder, idle * 60)


def _ask(folder: str, request: dict[str, Any], path: str | None = None) -> Any:
    sock = warm.connect(folder, path)
    if sock is None:
        return None
    try:
        return warm.ask(sock, request)
    finally:
        sock.close()


def _status(folder: str) -> None:
    answer = _ask(folder, {"op": "status"})
    if not isinstance(answer, dict):
        print(f"No warm tether for this environment ({warm.socket_path(folder)}).")
        print("`tether warm` starts one.")
        raise typer.Exit(1)
    print(_describe(answer))


def _describe(answer: dict[str, Any]) -> str:
    age = time.time() - float(answer["started"])
    running = answer["running"]
    memory = int(answer.get("rss_kb", 0)) // 1024
    lines = [
        f"warm tether: pid {answer['pid']}, up {_span(age)}, "
        f"{answer['served']} commands served, {answer['modules']} modules loaded"
        + (f", {memory} MB resident" if memory else ""),
        f"  running now: {', '.join(map(str, running)) if running else 'none'}",
        f"  stops after {_span(float(answer['idle_s']))} without a command "
        "(`tether warm --stop` stops it now)",
    ]
    if answer.get("refused"):  # why a command ran cold after all
        reason, when = answer["refused"]
        lines.append(f"  last ran a command cold {_span(time.time() - when)} ago: {reason}")
    return "\n".join(lines)


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def _stop(folder: str) -> None:
    """Every socket in the folder, not only this environment's: one started by another
    virtual environment or by an older tether (another key) is stopped too."""
    stopped = running = 0
    for path in sorted(Path(folder).glob("warm-*.sock")) if os.path.isdir(folder) else []:
        answer = _ask(folder, {"op": "stop"}, str(path))
        if isinstance(answer, dict):
            stopped += 1
            running += int(answer.get("stopping", 0))
    if not stopped:
        print("No warm tether was running.")
        return
    note = f" once the {running} command(s) they run end" if running else ""
    print(f"Stopped {stopped} warm tether(s){note}; commands start cold again.")


def start_in_background() -> None:
    """For ``TETHER_WARM=auto``: start one without waiting or saying anything (a folder
    that cannot hold the socket leaves commands cold, as without the setting)."""
    folder = warm.directory()
    with contextlib.suppress(OSError, UsageError, TetherError):
        _make_folder(folder)
        _spawn(folder, IDLE_MIN * 60)


def _spawn(folder: str, idle_s: float) -> tuple[subprocess.Popen[bytes], Path]:
    log = Path(warm.socket_path(folder, ".log"))
    with open(log, "ab") as err:
        serve = "from tether.cli.warm_server import main; main()"
        process = subprocess.Popen(
            [sys.executable, "-c", serve, folder, str(idle_s)],
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    return process, log


def _start(folder: str, idle_s: float) -> None:
    _make_folder(folder)
    answer = _ask(folder, {"op": "status"})
    if isinstance(answer, dict):
        print("Already warm.\n" + _describe(answer))
        return
    process, log = _spawn(folder, idle_s)
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        answer = _ask(folder, {"op": "status"})
        if isinstance(answer, dict):
            print("Warm.\n" + _describe(answer))
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text(errors="replace").strip().splitlines()[-5:]
    if process.poll() is None:
        process.kill()
    said = " / ".join(tail) or "it said nothing"
    raise TetherError(f"the warm tether did not start: {said}", hint=f"its log is {log}")


def _make_folder(folder: str) -> None:
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise TetherError(f"cannot make {folder}: {exc.strerror}") from exc
    why = warm.unsafe(folder)
    if why:
        raise UsageError(
            f"{folder} cannot hold the warm tether's socket: {why}",
            hint=f"make it yours with mode 700 (`chmod 700 {folder}`), or set "
            "TETHER_WARM_DIR to a folder that is",
        )
