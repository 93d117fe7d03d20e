"""A Python file parsed once for the semantic rules, with its source at hand: the text
of a node is its own source (whitespace squeezed), which costs a slice where
``ast.unparse`` would walk the node again."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class Parsed:
    tree: ast.Module
    lines: list[bytes]

    @classmethod
    def parse(cls, data: bytes) -> Parsed | None:
        """None when the bytes are not Python (the gates will say why). A step's old
        version is the previous step's new one: parsed once, kept for the next step."""
        return _parse(data)

    def text(self, node: ast.AST) -> str:
        """``node``'s source, on one line (offsets are UTF-8 bytes, as ast gives them)."""
        start, end = getattr(node, "lineno", 0), getattr(node, "end_lineno", None)
        first, last = getattr(node, "col_offset", 0), getattr(node, "end_col_offset", None)
        if not start or end is None or last is None or end > len(self.lines):
            return ast.unparse(node)
        if start == end:
            raw = self.lines[start - 1][first:last]
        else:
            middle = self.lines[start : end - 1]
            raw = b"\n".join([self.lines[start - 1][first:], *middle, self.lines[end - 1][:last]])
        return " ".join(raw.decode("utf-8", "replace").split())

    def span(self, start: int, end: int) -> str:
        """Lines ``start`` to ``end`` (1-based, inclusive), whitespace squeezed."""
        raw = b" ".join(self.lines[start - 1 : end])
        return " ".join(raw.decode("utf-8", "replace").split())


@functools.lru_cache(maxsize=16)
def _parse(data: bytes) -> Parsed | None:
    try:
        return Parsed(ast.parse(data), data.splitlines())
    except (SyntaxError, ValueError):
        return None


def key(text: str | None) -> str | None:
    """Two annotations are the same when they differ only in spaces."""
    return None if text is None else "".join(text.split())
