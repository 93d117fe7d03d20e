"""Path globs of task contracts (``--scope``, ``--protect``, PLAN.md ``scope:``).

A glob is matched against the path relative to the repository root, with ``/`` as the
separator: ``*`` and ``?`` stay inside one path segment, ``**`` spans any number of
segments, and a glob that names a directory covers everything below it (``src/app``
covers ``src/app/cli.py``). So ``*.py`` matches only top-level files; use ``**/*.py``.
"""

from __future__ import annotations

import re
from functools import lru_cache


def is_glob(text: str) -> bool:
    """True if ``text`` has glob characters (else it names one path literally)."""
    return any(char in text for char in "*?[")


@lru_cache(maxsize=1024)
def _compile(glob: str) -> re.Pattern[str]:
    glob = glob.strip()
    if glob.startswith("./"):
        glob = glob[2:]
    glob = glob.rstrip("/")
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                out.append("[" + glob[i + 1 : end].replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + "(?:/.*)?")


def matches(glob: str, path: str) -> bool:
    """True if ``path`` (relative, ``/``-separated) is covered by ``glob``."""
    glob = glob.strip()
    if not glob:
        return False
    if glob in (".", "./", "**"):
        return True
    return _compile(glob).fullmatch(path) is not None


def matches_any(globs: tuple[str, ...] | list[str], path: str) -> bool:
    return any(matches(glob, path) for glob in globs)
