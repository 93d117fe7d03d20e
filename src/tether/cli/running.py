"""Running a workflow coroutine from a command: asyncio.run, with SIGTERM treated like
Ctrl-C (the task is cancelled cleanly and ends at a step boundary)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def run_cancellable(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        if current is not None:
            loop.add_signal_handler(signal.SIGTERM, current.cancel)
        return await make()

    return asyncio.run(main())
