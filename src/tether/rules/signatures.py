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
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SignatureChange:
    symbol: str
    detail: str
    line: int

    def describe(self, path: str) -> str:
        return f"`{self.symbol}` {self.detail} in {path}:{self.line}"


def public_signatures(module: ast.Module) -> list[str]:
    """The public surface as text: each public def and class with its signature."""
    out: list[str] = []

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if _public(node.name):
                    decorators = ",".join(ast.unparse(d) for d in node.decorator_list)
                    returns = ast.unparse(node.returns) if node.returns else ""
                    out.append(
                        f"def {prefix}{node.name}({ast.unparse(node.args)})->{returns}@{decorators}"
                    )
            elif isinstance(node, ast.ClassDef) and _public(node.name):
                out.append(f"class {prefix}{node.name}({','.join(map(ast.unparse, node.bases))})")
                walk(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.If | ast.Try):
                for block in (node.body, node.orelse):
                    walk(block, prefix)

    walk(module.body, "")
    return out


def signature_changes(
    old_text: str, new_text: str, path: str, old: ast.Module, new: ast.Module
) -> list[SignatureChange]:
    """What broke in the public API from ``old`` to ``new`` (parsed already)."""
    if public_signatures(old) == public_signatures(new):
        return []
    import griffe  # only when a public signature changed (about 0.1 s to import)

    name = Path(path).stem if Path(path).stem != "__init__" else Path(path).parent.name or "m"
    try:
        before = griffe.visit(name, Path(path), old_text)
        after = griffe.visit(name, Path(path), new_text)
    except Exception:  # griffe could not model one version: judge by ast alone
        return [SignatureChange("module", "public signatures changed", 1)]
    found = [_breakage(b) for b in griffe.find_breaking_changes(before, after)]
    found += _beyond_breakages(before, after)
    unique = {(c.symbol, c.detail): c for c in found}
    return sorted(unique.values(), key=lambda c: c.line)


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
