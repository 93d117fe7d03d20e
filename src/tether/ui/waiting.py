"""The "gates running" line: what runs and for how long, once a tier takes over a second.

On a terminal it is a Rich live line that counts up and disappears when the gates end;
otherwise (a pipe, a log, the live session's prompt) plain lines at 1 s and every 10 s."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

SHOW_AFTER_S = 1.0
PLAIN_EVERY_S = 10.0


class GatesWaiting:
    """Started by a tier's ``gates_start`` event, stopped when its last gate ends."""

    def __init__(self, console: Console, live: bool, prefix: str = ""):
        self.console = console
        self.live = live
        self.prefix = prefix
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._display: Live | None = None
        self._what = ""
        self._started = 0.0
        self.pending = 0

    def start(self, tier: str, gates: list[str]) -> None:
        self.stop()
        shown = ", ".join(gates[:3]) + (f" +{len(gates) - 3}" if len(gates) > 3 else "")
        with self._lock:
            self.pending = len(gates)
            self._what = f"{tier} gates running: {shown}"
            self._started = time.monotonic()
            self._arm(SHOW_AFTER_S)

    def one_ended(self) -> None:
        with self._lock:
            self.pending -= 1
            last = self.pending <= 0
        if last:
            self.stop()

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            display, self._display = self._display, None
            self.pending = 0
        if display is not None:
            display.stop()

    def _arm(self, delay: float) -> None:
        self._timer = threading.Timer(delay, self._show)
        self._timer.daemon = True
        self._timer.start()

    def _line(self) -> Text:
        elapsed = time.monotonic() - self._started
        return Text.from_markup(
            f"{self.prefix}      [dim]… {escape(self._what)} · {elapsed:.0f}s[/]"
        )

    def _show(self) -> None:
        with self._lock:
            if self._timer is None:
                return  # stopped meanwhile
            if not self.live:
                self.console.print(self._line())
                self._arm(PLAIN_EVERY_S)
                return
            from rich.live import Live

            self._timer = None
            self._display = Live(
                _Counting(self), console=self.console, transient=True, refresh_per_second=4
            )
            self._display.start()


class _Counting:
    """A renderable that reads the elapsed time each time Rich refreshes the line."""

    def __init__(self, waiting: GatesWaiting):
        self.waiting = waiting

    def __rich__(self) -> Text:
        return self.waiting._line()
