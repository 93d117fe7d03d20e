"""Text helpers shared by the edit tool and skills' exact replay, so both agree on what
"exactly one occurrence" means."""

from __future__ import annotations


def occurrences(text: str, part: str, limit: int = 10) -> list[int]:
    """Where ``part`` starts in ``text``, overlapping ones included (``str.count``
    misses ``"b\\nb\\n"`` twice in ``"b\\nb\\nb\\n"``); at most ``limit``."""
    if not part:
        return []
    found: list[int] = []
    at = text.find(part)
    while at != -1 and len(found) < limit:
        found.append(at)
        at = text.find(part, at + 1)
    return found
