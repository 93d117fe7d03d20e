"""Functions of a Python source by the lines they span: what a changed line belongs to
(for test selection) and what a covered line belongs to (for the coverage map)."""

from __future__ import annotations

import ast

Span = tuple[str, int, int]  # qualified name, first line (decorators included), last line


def function_spans(source: bytes) -> list[Span] | None:
    """Every function and class, nested ones by their dotted path; None if unparsable."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    spans: list[Span] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{node.name}"
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                spans.append((name, start, node.end_lineno or node.lineno))
                visit(node.body, f"{name}.")

    visit(tree.body, "")
    return spans


def innermost(spans: list[Span], first: int, last: int) -> list[str]:
    """The innermost functions touching lines ``first..last`` ('' for module level)."""
    found: list[str] = []
    for line in range(first, last + 1):
        holder = max((s for s in spans if s[1] <= line <= s[2]), key=lambda s: s[1], default=None)
        name = holder[0] if holder else ""
        if name not in found:
            found.append(name)
    return found


def owners(spans: list[Span]) -> dict[int, str]:
    """Line → the innermost function holding it, for every line some function spans."""
    table: dict[int, str] = {}
    for name, first, last in sorted(spans, key=lambda s: s[1]):  # inner ones start later
        for line in range(first, last + 1):
            table[line] = name
    return table


def changed_functions(source: bytes, ranges: list[tuple[int, int]]) -> list[str]:
    """The functions a diff's new-side line ranges fall in ('' for module level)."""
    spans = function_spans(source)
    if spans is None:
        return [""]
    found: list[str] = []
    for first, last in ranges:
        for name in innermost(spans, first, min(last, first + 200)):
            if name not in found:
                found.append(name)
    return found
