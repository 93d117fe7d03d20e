"""The developer's side of the executor loop's ``Steering`` seam, for the session: a
stop at the next step boundary, what they said for the model, and review mode (each
step that changed files waits for their word)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tether.agent.seams import Review

ShowStep = Callable[[int, list[str], str, str], None]


class SessionSteering:
    def __init__(self, show: ShowStep, review: bool = False):
        self.review_mode = review
        self._show = show
        self._stop = False
        self._said: list[str] = []
        self._waiting: asyncio.Future[Review] | None = None
        self.waiting_step = 0

    # --- the loop's side -------------------------------------------------------------

    def stop_requested(self) -> bool:
        return self._stop

    def said(self) -> list[str]:
        out, self._said = self._said, []
        return out

    async def review(self, step: int, changed: list[str], before: str, after: str) -> Review:
        if not self.review_mode or self._stop:
            return Review()
        self._waiting = asyncio.get_running_loop().create_future()
        self.waiting_step = step
        self._show(step, changed, before, after)
        try:
            return await self._waiting
        finally:
            self._waiting, self.waiting_step = None, 0

    # --- the developer's side ----------------------------------------------------------

    @property
    def waiting(self) -> bool:
        """A step is waiting for the developer's review."""
        return self._waiting is not None and not self._waiting.done()

    def answer(self, review: Review) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(review)

    def stop(self) -> None:
        """Stop at the next step boundary; a step waiting for review is kept first."""
        self._stop = True
        self.answer(Review(keep=True))

    @property
    def stopping(self) -> bool:
        return self._stop

    def say(self, text: str) -> None:
        self._said.append(text)

    def reset(self) -> None:
        """A new task starts: no stop asked, nothing said yet."""
        self._stop = False
        self._said = []
