"""Unified diffs split into hunks (numbered across the whole diff, from 1), and a patch
made of chosen hunks only -- for picking part of a variant."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileDiff:
    header: list[str]
    hunks: list[tuple[int, list[str]]] = field(default_factory=list)

    @property
    def path(self) -> str:
        lines = [line.rstrip("\n") for line in self.header]
        for line in lines:
            if line.startswith("+++ ") and line != "+++ /dev/null":
                return line[6:] if line.startswith("+++ b/") else line[4:]
        for line in lines:
            if line.startswith("--- a/"):
                return line[6:]
        return "?"


def split(diff: str) -> list[FileDiff]:
    files: list[FileDiff] = []
    number = 0
    in_hunk = False
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git "):
            files.append(FileDiff(header=[line]))
            in_hunk = False
        elif line.startswith("@@") and files:
            number += 1
            files[-1].hunks.append((number, [line]))
            in_hunk = True
        elif files and in_hunk:
            files[-1].hunks[-1][1].append(line)
        elif files:
            files[-1].header.append(line)
    return files


def hunk_count(diff: str) -> int:
    return sum(len(f.hunks) for f in split(diff))


def select(diff: str, chosen: set[int]) -> str:
    """A patch holding only the chosen hunks (whole files whose hunks are all left out
    disappear; binary and pure-mode changes go only when all is chosen)."""
    out: list[str] = []
    for file in split(diff):
        hunks = [lines for number, lines in file.hunks if number in chosen]
        if hunks:
            out += file.header
            for lines in hunks:
                out += lines
    return "".join(out)
