"""A task's net change as edits that can be applied again: per file, search/replace
hunks (each ``search`` unique in the file it was cut from), a created file's content,
or a deletion. They come from the trees before and after the task (what was kept, not
what the model tried), and ``plan`` says whether they still apply to a tree."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from tether.textutil import occurrences

Kind = Literal["edit", "create", "delete"]


def digest(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest()[:16] if data is not None else ""


class FileEdit(msgspec.Struct, frozen=True):
    """The net change of one file. ``before``/``after``: short sha256 of its bytes."""

    path: str
    kind: Kind
    before: str = ""
    after: str = ""
    hunks: tuple[tuple[str, str], ...] = ()
    content: str = ""

    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": "file", "path": self.path, "change": self.kind}
        data |= {"before": self.before, "after": self.after}
        if self.kind == "edit":
            data["hunks"] = [{"search": s, "replace": r} for s, r in self.hunks]
        elif self.kind == "create":
            data["content"] = self.content
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> FileEdit:
        hunks = tuple((str(h["search"]), str(h["replace"])) for h in data.get("hunks", []))
        return cls(
            path=str(data["path"]),
            kind=data["change"],
            before=str(data.get("before", "")),
            after=str(data.get("after", "")),
            hunks=hunks,
            content=str(data.get("content", "")),
        )

    def mapped(self, fill: Callable[[str], str]) -> FileEdit:
        """The same edit with every text passed through ``fill`` (parameters)."""
        return FileEdit(
            fill(self.path),
            self.kind,
            self.before,
            self.after,
            tuple((fill(s), fill(r)) for s, r in self.hunks),
            fill(self.content),
        )


class NotText(ValueError):
    """A changed file that is not UTF-8 text (no exact edit can say its change)."""


def file_edit(path: str, old: bytes | None, new: bytes | None) -> FileEdit:
    """The net change of ``path`` from ``old`` to ``new`` (None: absent)."""
    try:
        before = old.decode() if old is not None else None
        after = new.decode() if new is not None else None
    except UnicodeDecodeError as exc:
        raise NotText(f"{path} is not UTF-8 text") from exc
    was, now = digest(old), digest(new)
    if after is None:
        return FileEdit(path, "delete", was, now)
    if before is None:
        return FileEdit(path, "create", was, now, content=after)
    return FileEdit(path, "edit", was, now, hunks=hunks(before, after))


def hunks(before: str, after: str) -> tuple[tuple[str, str], ...]:
    """Search/replace pairs taking ``before`` to ``after`` when applied in order, each
    search unique in the text it is applied to (context lines are added until it is;
    neighbours that still clash are joined, down to one hunk for the whole file)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    spans: list[list[int]] = []
    for group in matcher.get_grouped_opcodes(1):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        span = _unique(old, [i1, i2, j1, j2], before)
        if spans and span[0] <= spans[-1][1]:  # context grew into the previous one
            spans[-1][1], spans[-1][3] = max(spans[-1][1], span[1]), max(spans[-1][3], span[3])
        else:
            spans.append(span)
    while True:
        pairs = [("".join(old[a:b]), "".join(new[c:d])) for a, b, c, d in spans]
        clash = _first_clash(before, pairs)
        if clash == 0:
            return tuple(pairs)
        spans[clash - 1 : clash + 1] = [[spans[clash - 1][0], spans[clash][1],
                                         spans[clash - 1][2], spans[clash][3]]]  # fmt: skip


def _first_clash(text: str, pairs: list[tuple[str, str]]) -> int:
    """The index of the first pair whose search is not unique in the text the pairs
    before it leave; 0 when none clashes (the first is unique in ``text`` already)."""
    for number, (search, replace) in enumerate(pairs):
        if number and len(occurrences(text, search, 2)) != 1:
            return number
        text = text.replace(search, replace, 1)
    return 0


def _unique(old: list[str], span: list[int], before: str) -> list[int]:
    i1, i2, j1, j2 = span
    while True:
        search = "".join(old[i1:i2])
        if search and len(occurrences(before, search, 2)) == 1:
            return [i1, i2, j1, j2]
        if i1 == 0 and i2 == len(old):
            return [i1, i2, j1, j2]  # the whole file: a rewrite
        if i1 > 0:
            i1, j1 = i1 - 1, j1 - 1
        if i2 < len(old):
            i2, j2 = i2 + 1, j2 + 1


class Plan(msgspec.Struct):
    """What applying edits to a tree would give: the new text per path (None: deleted),
    or the first reason they do not apply."""

    files: dict[str, str | None] = msgspec.field(default_factory=dict)
    problem: str = ""

    @property
    def applies(self) -> bool:
        return not self.problem


def plan(edits: list[FileEdit], read: Callable[[str], str | None]) -> Plan:
    """Apply ``edits`` in memory over ``read`` (the current text of a path, None when
    absent); nothing is written."""
    result = Plan()
    for edit in edits:
        current = result.files[edit.path] if edit.path in result.files else read(edit.path)
        problem = _apply(edit, current, result.files)
        if problem:
            return Plan(problem=f"{edit.path}: {problem}")
    return result


def _apply(edit: FileEdit, current: str | None, files: dict[str, str | None]) -> str:
    if edit.kind == "delete":
        if current is None:
            return "it is gone already"
        files[edit.path] = None
        return ""
    if edit.kind == "create":
        if current is not None and current != edit.content:
            return "it exists already (the skill creates it)"
        files[edit.path] = edit.content
        return ""
    if current is None:
        return "there is no such file"
    text = current
    for number, (search, replace) in enumerate(edit.hunks, start=1):
        if not search:
            return "it was empty; only a model can write it again"
        found = len(occurrences(text, search, limit=1000))
        if found != 1:
            where = "is not there" if found == 0 else f"is there {found} times"
            return f"the text of change {number} {where}"
        text = text.replace(search, replace, 1)
    files[edit.path] = text
    return ""
