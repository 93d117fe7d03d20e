"""Parameters of a skill: the paths and names that change from one use to the next.

At capture, each value (``module=src/app/users.py``) becomes a placeholder wherever it
stands as a whole (``{module}``); a path's file stem (``users``) becomes
``{module.stem}`` too, so ``tests/test_users.py`` generalises to
``tests/test_{module.stem}.py``. At replay the placeholders get the new values. Only
the declared names are placeholders: a ``{x}`` in the code itself stays as it is.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from tether.errors import UsageError

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# A whole value stands apart from other path characters (``users.py`` is not in
# ``test_users.py``); a stem only from letters and digits (``test_users`` holds it).
_WHOLE = (r"(?<![\w./-])", r"(?![\w/-]|\.\w)")
_STEM = (r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])")


def parse_params(items: list[str] | tuple[str, ...], where: str = "--param") -> dict[str, str]:
    """``["module=src/a.py"]`` → ``{"module": "src/a.py"}``; bad items are refused."""
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not value:
            raise UsageError(
                f"{where} {item!r}: give NAME=VALUE", hint="e.g. --param module=src/app/users.py"
            )
        if not NAME.match(name):
            raise UsageError(
                f"{where} {item!r}: a parameter name is lowercase letters, digits and _",
                hint="e.g. --param module=src/app/users.py",
            )
        values[name] = value
    return values


def stem_of(value: str) -> str:
    """A path's file stem (``src/app/users.py`` → ``users``); "" for a plain name."""
    if "/" not in value and "." not in value:
        return ""
    stem = PurePosixPath(value).stem
    return stem if stem and stem != value else ""


def forms(values: dict[str, str]) -> list[tuple[str, str, tuple[str, str]]]:
    """(literal, placeholder, edges) triples, longest literal first (a path wins over
    its stem)."""
    found: list[tuple[str, str, tuple[str, str]]] = []
    for name, value in values.items():
        found.append((value, f"{{{name}}}", _WHOLE))
        stem = stem_of(value)
        if len(stem) >= 3:
            found.append((stem, f"{{{name}.stem}}", _STEM))
    return sorted(found, key=lambda item: -len(item[0]))


def generalise(text: str, values: dict[str, str]) -> str:
    """``text`` with each value (standing as a whole) replaced by its placeholder."""
    found = forms(values)
    if not found or not text:
        return text
    table = {literal: placeholder for literal, placeholder, _ in found}
    pattern = re.compile(
        "|".join(f"{before}({re.escape(literal)}){after}" for literal, _, (before, after) in found)
    )
    return pattern.sub(lambda m: table[next(g for g in m.groups() if g is not None)], text)


def placeholder_pattern(names: list[str] | tuple[str, ...]) -> re.Pattern[str] | None:
    if not names:
        return None
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(r"\{(" + alternation + r")(\.stem)?\}")


def clashes(text: str, names: list[str] | tuple[str, ...]) -> list[str]:
    """Placeholders of ``names`` that ``text`` holds already (the code's own ``{module}``):
    generalising would make them parameters too."""
    pattern = placeholder_pattern(names)
    return sorted({m.group(0) for m in pattern.finditer(text)}) if pattern else []


def substitute(text: str, names: tuple[str, ...], values: dict[str, str]) -> str:
    """``text`` with the placeholders of ``names`` filled from ``values``."""
    pattern = placeholder_pattern(names)
    if pattern is None:
        return text

    def fill(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return (stem_of(value) or value) if match.group(2) else value

    return pattern.sub(fill, text)


def resolve(
    names: tuple[str, ...], given: dict[str, str], defaults: dict[str, str], skill: str
) -> dict[str, str]:
    """The values a replay uses: the given ones over the captured ones; an unknown name
    is refused."""
    unknown = sorted(set(given) - set(names))
    if unknown:
        known = ", ".join(names) or "none"
        raise UsageError(
            f"skill {skill} has no parameter {', '.join(unknown)}",
            hint=f"its parameters: {known} (`tether skills show {skill}`)",
        )
    values = {**defaults, **given}
    missing = [n for n in names if n not in values]
    if missing:
        raise UsageError(
            f"skill {skill} needs --param {' --param '.join(f'{n}=...' for n in missing)}",
            hint=f"`tether skills show {skill}` says what each one was",
        )
    return {n: values[n] for n in names}
