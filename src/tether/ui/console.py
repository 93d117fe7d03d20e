"""Shared Rich consoles and error printing for the commands and the session."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

Listener = Callable[[dict[str, Any]], None]


@cache
def out() -> Console:
    from rich.console import Console

    return Console(highlight=False)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def error(message: str) -> None:
    from rich.markup import escape

    err().print(f"[bold red]error:[/] {escape(message)}")


def note(message: str) -> None:
    from rich.markup import escape

    err().print(f"[yellow]note:[/] {escape(message)}")


STATUS_COLORS = {
    "done": "green",
    "done-unverified": "yellow",
    "interrupted": "yellow",
    "handoff": "magenta",
}


def status_color(status: str) -> str:
    """The one colour scheme for a task's status (done, interrupted, handoff, failed)."""
    return STATUS_COLORS.get(str(status), "red")


def made_at_first_event(make: Callable[[], Listener]) -> Listener:
    """An event listener built when the first event comes: Rich (~38 ms of imports)
    then loads while a task's first request is out, not before it goes."""
    made: list[Listener] = []

    def listener(event: dict[str, Any]) -> None:
        if not made:
            made.append(make())
        made[0](event)

    return listener
