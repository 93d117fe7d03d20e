"""The review load of a task: the lines a human must read (added and removed, not the
context), the files touched, and for each hunk whether the model's done summary
accounts for it.

A hunk is accounted for when the summary names something in it: an identifier of its
changed lines or of the function it sits in (``sub``, ``parse_plan``), or its file
(``calc.py``, ``calc``). Words every summary uses ("added", "fix", "test") do not
count. It is a reading aid, not a proof: the page shows which word matched."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tether.vcs.hunks import split

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@ ?(.*)$")
MIN_WORD = 3
_COMMON = (
    "add added adds adding also all and any are but call called calls can change changed "
    "changes check code does done every file files fix fixed fixes for from function get "
    "had has have its into line lines make made more new not now one only out remove "
    "removed same see set so some test tests than that the them then there these this "
    "those use used uses using was were what when which will with would you your value "
    "values none true false self return returns str int list dict print"
)
COMMON = frozenset(_COMMON.split()) | frozenset(keyword.kwlist)


@dataclass
class Hunk:
    path: str
    number: int
    start: int  # first line on the new side
    added: int
    removed: int
    text: str
    explained_by: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return self.added + self.removed


@dataclass
class ReviewLoad:
    hunks: list[Hunk] = field(default_factory=list)
    diff: str = ""

    @property
    def lines(self) -> int:
        return sum(h.lines for h in self.hunks)

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(h.path for h in self.hunks))

    @property
    def explained(self) -> int:
        return sum(1 for h in self.hunks if h.explained_by)


def words(text: str) -> set[str]:
    """Identifier-like words, lower case, and the parts of snake_case ones."""
    found: set[str] = set()
    for word in _WORD.findall(text):
        lowered = word.lower()
        for part in {lowered, *lowered.split("_")}:
            if len(part) >= MIN_WORD and part not in COMMON:
                found.add(part)
    return found


def review_load(diff: str, summary: str) -> ReviewLoad:
    said = words(summary)
    said_text = summary.lower()
    load = ReviewLoad(diff=diff)
    for file in split(diff):
        path = file.path
        name = PurePosixPath(path).name.lower()
        for number, lines in file.hunks:
            match = _HEADER.match(lines[0].rstrip("\n"))
            start = int(match.group(2)) if match else 0
            context = match.group(3) if match else ""
            changed = [ln for ln in lines[1:] if ln.startswith(("+", "-"))]
            hunk = Hunk(
                path=path,
                number=number,
                start=start,
                added=sum(1 for ln in changed if ln.startswith("+")),
                removed=sum(1 for ln in changed if ln.startswith("-")),
                text="".join(lines),
            )
            own = words(context + "\n" + "".join(ln[1:] for ln in changed))
            hunk.explained_by = sorted(own & said)
            if name in said_text:
                hunk.explained_by.insert(0, name)
            load.hunks.append(hunk)
    return load
