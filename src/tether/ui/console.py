"""Shared Rich consoles and error printing for the commands and the session."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


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
