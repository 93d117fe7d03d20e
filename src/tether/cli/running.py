"""Running a workflow coroutine from a command: asyncio.run, with SIGTERM treated like
Ctrl-C (the task is cancelled cleanly and ends at a step boundary)."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def settle_heap() -> None:
    """Called where a command's long work starts (its modules are loaded by then): the
    heap start-up made is frozen, the collector paused by ``startup.main`` resumes.
    Idempotent; a command that never calls it is short and exits without collecting."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def run_cancellable(make: Callable[[], Awaitable[T]]) -> T:
    settle_heap()  # the command's modules are loaded: the heap they made is frozen

    async def main() -> T:
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        if current is not None:
            loop.add_signal_handler(signal.SIGTERM, current.cancel)
        return await make()

    return asyncio.run(main())
