"""``keep: signatures``: public functions, methods and classes keep their names,
parameters, defaults and return annotations.

Breakages come from griffe (``find_breaking_changes``: removed objects, parameters
removed, moved, made required, their kind or default changed, removed bases). griffe
deliberately does not report two things this rule also holds: a changed return
annotation and a parameter added with a default; they are read from griffe's own model
of the two versions. A fast path skips griffe when the public signatures, read with
``ast``, did not change at all (a body-only edit costs two ``ast`` walks)."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.rules.pyparse import Parsed


@dataclass(frozen=True)
class SignatureChange:
    symbol: str
    detail: str
    line: int

    def describe(self, path: str) -> str:
        return f"`{self.symbol}` {self.detail} in {path}:{self.line}"


Node = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def surface(source: Parsed) -> dict[str, tuple[str, Node]]:
    """Each public top-level function and class: its signature text (decorators and
    header; for a class, its header, annotated fields and public methods' headers)."""
    out: dict[str, tuple[str, Node]] = {}

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if _public(node.name):
                    out[node.name] = (_signature(source, node), node)
            elif isinstance(node, ast.If | ast.Try):
                walk(node.body)
                walk(node.orelse)

    walk(source.tree.body)
    return out


def _signature(source: Parsed, node: Node) -> str:
    decorators = " ".join(source.text(d) for d in node.decorator_list)
    first = node.body[0]
    if first.lineno > node.lineno:
        head = source.span(node.lineno, first.lineno - 1)
    else:
        head = source.lines[node.lineno - 1][: first.col_offset].decode("utf-8", "replace")
    parts = [decorators, " ".join(head.split())]
    if isinstance(node, ast.ClassDef):
        for member in node.body:
            if isinstance(member, ast.AnnAssign):
                parts.append(source.text(member))
            elif isinstance(member, Node) and _public(member.name):
                parts.append(_signature(source, member))
    return " | ".join(parts)


def public_signatures(source: Parsed) -> list[str]:
    """The public surface as text, in order (a module with none exposes nothing)."""
    return [text for text, _ in surface(source).values()]


def signature_changes(old: Parsed, new: Parsed, path: str) -> list[SignatureChange]:
    """What broke in the public API from ``old`` to ``new``. griffe reads only the
    definitions whose signature text changed, so its cost follows the change's size."""
    exported = _exports(old, new)
    before, after = surface(old), surface(new)
    changed = [n for n in before if n not in after or after[n][0] != before[n][0]]
    if not changed:
        return exported
    import griffe  # only when a public signature changed (about 0.1 s to import)

    old_text, old_lines = _extract(old, [before[n][1] for n in changed])
    new_text, new_lines = _extract(new, [after[n][1] for n in changed if n in after])
    name = Path(path).stem if Path(path).stem != "__init__" else Path(path).parent.name or "m"
    try:
        old_module = griffe.visit(name, Path(path), old_text)
        new_module = griffe.visit(name, Path(path), new_text)
    except Exception:  # griffe could not model one version: say what ast saw
        return [
            SignatureChange(n, "public signature changed", _node_line(after, before, n))
            for n in changed
        ]
    found = [_breakage(b) for b in griffe.find_breaking_changes(old_module, new_module)]
    found += _beyond_breakages(old_module, new_module)

    def in_file(change: SignatureChange) -> SignatureChange:
        top = change.symbol.split(".")[0]
        lines = new_lines if top in after else old_lines
        line = lines.get(change.line, _node_line(after, before, top))
        return SignatureChange(change.symbol, change.detail, line)

    unique = {(c.symbol, c.detail): in_file(c) for c in found}
    return exported + sorted(unique.values(), key=lambda c: c.line)


def _exports(old: Parsed, new: Parsed) -> list[SignatureChange]:
    """``__all__`` is the public API's list of names: any change to it counts."""
    before, after = _all(old), _all(new)
    if before[0] == after[0]:
        return []
    line = after[1] or before[1] or 1
    return [SignatureChange("__all__", f"changed: {before[0]} → {after[0]}", line)]


def _all(source: Parsed) -> tuple[str | None, int]:
    for node in source.tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return source.text(node), node.lineno
    return None, 0


def _extract(source: Parsed, nodes: list[Node]) -> tuple[str, dict[int, int]]:
    """The nodes' source as one module, and its line → the file's line."""
    chunks: list[str] = []
    lines: dict[int, int] = {}
    at = 1
    for node in nodes:
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or node.lineno
        raw = b"\n".join(source.lines[start - 1 : end]).decode("utf-8", "replace")
        chunk = textwrap.dedent(raw)
        for offset in range(end - start + 1):
            lines[at + offset] = start + offset
        chunks.append(chunk)
        at += end - start + 2
    return "\n\n".join(chunks) + "\n", lines


def _node_line(
    after: dict[str, tuple[str, Node]], before: dict[str, tuple[str, Node]], name: str
) -> int:
    found = after.get(name) or before.get(name)
    return found[1].lineno if found else 1


def _breakage(breakage: Any) -> SignatureChange:
    obj = breakage.obj
    symbol = _symbol(obj.path)
    kind = str(breakage.kind.value).lower()
    old, new = breakage.old_value, breakage.new_value
    param = getattr(old, "name", None) if hasattr(old, "kind") else None
    if param and "parameter" in kind:
        detail = f"parameter `{param}`: {kind}"
        if "default" in kind:
            detail += f" ({getattr(old, 'default', '')} → {getattr(new, 'default', '')})"
    elif "removed" in kind and old is not None and hasattr(old, "name"):
        detail = f"{kind}: `{old.name}`"
    else:
        detail = kind
    return SignatureChange(symbol, detail, int(getattr(obj, "lineno", 0) or 1))


def _beyond_breakages(before: Any, after: Any) -> list[SignatureChange]:
    """Return annotations and added parameters of public functions found in both."""
    found: list[SignatureChange] = []
    for path, old in _functions(before).items():
        new = _functions(after).get(path)
        if new is None:
            continue
        line = int(new.lineno or 1)
        if str(old.returns) != str(new.returns):
            found.append(
                SignatureChange(
                    _symbol(path), f"return annotation changed: {old.returns} → {new.returns}", line
                )
            )
        names = [p.name for p in old.parameters]
        for param in new.parameters:
            if param.name not in names:
                found.append(
                    SignatureChange(_symbol(path), f"parameter `{param.name}` added", line)
                )
    return found


def _functions(module: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(obj: Any) -> None:
        for member in obj.members.values():
            if getattr(member, "is_alias", False) or not _public(member.name):
                continue
            if member.is_function:
                out[member.path] = member
            elif member.is_class:
                walk(member)

    walk(module)
    return out


def _symbol(path: str) -> str:
    return path.split(".", 1)[1] if "." in path else path


def _public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))
