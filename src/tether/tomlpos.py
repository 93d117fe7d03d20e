"""Find the line of a key in a TOML document, so errors can say ``tether.toml:LINE``.

``tomllib`` returns plain dicts with no positions; this scanner maps each dotted key
path (``("executor", "temperature")``) to the line that defines it. It understands
tables, arrays of tables, dotted and quoted keys, and skips multi-line strings. It
never raises: an unreadable line is simply not indexed.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\[\[?\s*(?P<key>[^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(
    r"^(?P<key>(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)
_PART = re.compile(r"\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[A-Za-z0-9_\-]+))\s*")


def split_key(key: str) -> tuple[str, ...]:
    """Split a dotted TOML key (``a."b.c".d``) into its parts."""
    parts: list[str] = []
    for match in _PART.finditer(key):
        parts.append(match.group("dq") or match.group("sq") or match.group("bare") or "")
    return tuple(parts)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every key path defined in ``text`` to its 1-based line number."""
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            table = split_key(header.group("key"))
            found.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            found.setdefault(table + split_key(assign.group("key")), number)
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_multiline = quote
    return found


def line_of(lines: dict[tuple[str, ...], int], path: tuple[str | int, ...]) -> int | None:
    """The line of ``path``, or of its nearest enclosing key that has one."""
    keys = tuple(str(part) for part in path if not isinstance(part, int))
    while keys:
        if keys in lines:
            return lines[keys]
        keys = keys[:-1]
    return None
