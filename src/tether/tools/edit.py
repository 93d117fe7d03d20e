"""Search/replace edits: exactly one occurrence, or a precise error. Pure functions.

Matching goes in two passes. First the exact text. If it does not occur at all, a
second pass compares line by line with trailing whitespace ignored: models often drop
trailing spaces or a final newline when they copy a block. Nothing fuzzier: a block
that differs in anything but trailing whitespace is reported with the closest lines
of the file so the model can copy them exactly.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from tether.textutil import occurrences


@dataclass(frozen=True)
class EditError:
    message: str


def apply_edit(text: str, search: str, replace: str, path: str = "the file") -> str | EditError:
    """``text`` with the one occurrence of ``search`` replaced, or why not."""
    if not search:
        return EditError("`search` is empty; give the exact text to replace")
    found = occurrences(text, search, limit=1000)
    if len(found) == 1:
        return text.replace(search, replace, 1)
    if found:
        return EditError(_ambiguous(text, search, len(found), path))
    return _apply_loose(text, search, replace, path)


def _ambiguous(text: str, search: str, count: int, path: str) -> str:
    starts = [text.count("\n", 0, at) + 1 for at in occurrences(text, search)]
    where = ", ".join(str(n) for n in starts)
    return (
        f"`search` occurs {count} times in {path} (at lines {where}); include more "
        "surrounding lines so it matches exactly once"
    )


def _apply_loose(text: str, search: str, replace: str, path: str) -> str | EditError:
    lines = text.splitlines(keepends=True)
    wanted = [line.rstrip() for line in search.rstrip("\n").split("\n")]
    stripped = [line.rstrip() for line in lines]
    size = len(wanted)
    hits = [i for i in range(len(lines) - size + 1) if stripped[i : i + size] == wanted]
    if len(hits) > 1:
        where = ", ".join(str(i + 1) for i in hits[:10])
        return EditError(
            f"`search` matches {len(hits)} places in {path} when trailing "
            f"whitespace is ignored (lines {where}); include more lines"
        )
    if not hits:
        return EditError(_not_found(lines, wanted, path))
    start = hits[0]
    block = "".join(lines[start : start + size])
    ending = "\n" if block.endswith("\n") else ""
    new_block = replace if replace.endswith("\n") or not ending else replace + ending
    return "".join(lines[:start]) + new_block + "".join(lines[start + size :])


def _not_found(lines: list[str], wanted: list[str], path: str) -> str:
    message = f"`search` was not found in {path}"
    if not lines:
        return message + " (the file is empty)"
    size = max(1, len(wanted))
    target = "\n".join(wanted)
    best, best_at = 0.0, 0
    for index in _candidates(lines, wanted):
        window = "\n".join(line.rstrip() for line in lines[index : index + size])
        score = difflib.SequenceMatcher(None, target, window, autojunk=False).ratio()
        if score > best:
            best, best_at = score, index
    if best < 0.3:
        return message + "; read the file again and copy the text exactly"
    shown = lines[best_at : best_at + size]
    numbered = "".join(f"{best_at + i + 1:>5}| {line}" for i, line in enumerate(shown))
    return (
        f"{message}. Closest lines ({best_at + 1}-{best_at + len(shown)}, "
        f"{best:.0%} similar):\n{numbered.rstrip()}\nCopy the text exactly (without the "
        "line numbers)"
    )


def _candidates(lines: list[str], wanted: list[str]) -> list[int]:
    """Start lines worth scoring: where a line resembles one of the search lines."""
    firsts = [w.strip() for w in wanted if w.strip()][:3]
    if not firsts or len(lines) <= 400:
        return list(range(len(lines)))
    found: set[int] = set()
    stripped = [line.strip() for line in lines]
    for offset, first in enumerate(firsts):
        for match in difflib.get_close_matches(first, stripped, n=5, cutoff=0.5):
            for index, line in enumerate(stripped):
                if line == match:
                    found.add(max(0, index - offset))
    return sorted(found) or list(range(min(len(lines), 400)))
