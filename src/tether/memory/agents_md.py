"""AGENTS.md's rules section: ``## Rules`` (or ``## Enforced rules``), one rule a bullet,
applied to every task. The rest of the file is prose for the models and stays as is;
adding rules (``/save`` in the session) appends bullets to that section, creating it
at the end of the file when there is none."""

from __future__ import annotations

import re

HEADING = re.compile(r"^##\s+(?:enforced\s+)?rules\s*$", re.IGNORECASE)
BULLET = re.compile(r"^\s*[-*]\s+(?P<text>\S.*)$")
SECTION = "## Rules"
INTRO = (
    "Enforced on every task: tether compiles each line into a rule and checks it on the\n"
    'real diff (`tether rules "TEXT"` shows what a line compiles to).'
)


def rule_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each bullet in the rules section(s)."""
    found: list[tuple[int, str]] = []
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            inside = HEADING.match(line.strip()) is not None
            continue
        match = BULLET.match(line) if inside else None
        if match and not line.strip().startswith("<!--"):
            found.append((number, match.group("text").strip()))
    return found


def with_rules(text: str, rules: list[str]) -> tuple[str, list[str]]:
    """``text`` with ``rules`` added as bullets of the rules section (those already
    there are skipped); returns the new text and the rules added."""
    present = {line for _, line in rule_lines(text)}
    new = [r for r in dict.fromkeys(rules) if r not in present]
    if not new:
        return text, []
    lines = text.splitlines()
    bullets = [f"- {rule}" for rule in new]
    start = next((i for i, ln in enumerate(lines) if HEADING.match(ln.strip())), None)
    if start is None:
        body = text.rstrip("\n")
        block = "\n".join([SECTION, "", INTRO, "", *bullets])
        return (f"{body}\n\n{block}\n" if body else f"{block}\n"), new
    end = start + 1
    while end < len(lines) and not lines[end].startswith("#"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    lines[end:end] = bullets
    return "\n".join(lines) + "\n", new
