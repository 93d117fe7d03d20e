"""``keep: types`` for Python: the type facts of a module, compared between two versions.

A module's type facts are every annotation a reader of its types sees: each
function's parameter and return annotations (methods and nested functions too), each
annotated name at module or class level (dataclass, TypedDict, NamedTuple and pydantic
fields), type aliases (``X = int | None``, ``X: TypeAlias = ...``, ``TypeVar``,
``NewType``), and class bases (``Protocol``, ``TypedDict``, ``Generic[T]``). A body-only
edit changes none of them; a new function or class adds facts and changes none. A field
added to or removed from a class that has annotated fields changes its type.
A ``.pyi`` stub is types only: any change to its syntax tree counts."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from tether.rules.pyparse import Parsed, key

TYPING_CALLS = {"TypeVar", "NewType", "TypeAliasType", "ParamSpec", "TypeVarTuple"}
TYPING_NAMES = {
    "Union", "Optional", "Literal", "Callable", "Annotated", "Final", "ClassVar", "Dict",
    "List", "Tuple", "Set", "FrozenSet", "Type", "Mapping", "Sequence", "Iterable",
    "Iterator", "Any", "dict", "list", "tuple", "set", "frozenset", "type",
}  # fmt: skip


@dataclass(frozen=True)
class Fact:
    """One annotation: ``symbol`` as a reader names it, ``what`` it is, its source."""

    symbol: str
    what: str
    text: str | None
    line: int


@dataclass(frozen=True)
class TypeChange:
    symbol: str
    what: str
    old: str | None
    new: str | None
    line: int

    def describe(self, path: str) -> str:
        if self.old is None:
            change = f"added ({self.new})"
        elif self.new is None:
            change = f"removed (was {self.old})"
        else:
            change = f"changed: {self.old} → {self.new}"
        return f"`{self.symbol}` {self.what} {change} in {path}:{self.line}"


def type_changes(old: Parsed, new: Parsed, stub: bool = False) -> list[TypeChange]:
    """What changed in the type facts from ``old`` to ``new``."""
    if stub:
        if ast.dump(old.tree) == ast.dump(new.tree):
            return []
        line = _first_difference(old.tree, new.tree)
        return [TypeChange("stub", "contents", "…", "…", line)]
    before, after = facts(old), facts(new)
    owners_after = _owners(new.tree)
    found: list[TypeChange] = []
    for name, fact in before.items():
        now = after.get(name)
        if now is None:  # a removed parameter or function is keep: signatures' concern
            if fact.what == "field" and fact.symbol.rsplit(".", 1)[0] in owners_after:
                found.append(TypeChange(fact.symbol, "field", fact.text, None, fact.line))
            continue
        if key(now.text) != key(fact.text):
            found.append(TypeChange(fact.symbol, fact.what, fact.text, now.text, now.line))
    owners_before = _owners(old.tree)
    for name, fact in after.items():
        owner = fact.symbol.rsplit(".", 1)[0]
        added = name not in before and fact.what == "field" and owner in owners_before
        if added and _has_fields(before, owner):
            found.append(TypeChange(fact.symbol, "field", None, fact.text, fact.line))
    return sorted(found, key=lambda c: c.line)


Facts = dict[tuple[str, str, str], Fact]


def facts(source: Parsed) -> Facts:
    """Every type fact of the module, keyed by (symbol, what, owner)."""
    out: Facts = {}
    _walk(source, source.tree.body, "", out, in_class=False)
    return out


def _walk(source: Parsed, body: list[ast.stmt], prefix: str, out: Facts, in_class: bool) -> None:
    text = source.text
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            _function(source, node, prefix, out)
        elif isinstance(node, ast.ClassDef):
            name = prefix + node.name
            bases = ", ".join(text(b) for b in node.bases) or None
            _add(out, Fact(name, "bases", bases, node.lineno), name)
            _walk(source, node.body, name + ".", out, in_class=True)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = prefix + node.target.id
            what = "field" if in_class else "annotation"
            annotation = text(node.annotation)
            if annotation.endswith("TypeAlias") and node.value is not None:
                _add(out, Fact(name, "type alias", text(node.value), node.lineno), prefix)
            _add(out, Fact(name, what, annotation, node.lineno), prefix)
        elif isinstance(node, ast.Assign) and not in_class and _is_alias(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    fact = Fact(prefix + target.id, "type alias", text(node.value), node.lineno)
                    _add(out, fact, prefix)
        elif isinstance(node, ast.If | ast.Try):  # TYPE_CHECKING blocks, fallbacks
            for block in _blocks(node):
                _walk(source, block, prefix, out, in_class)


def _function(
    source: Parsed, node: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str, out: Facts
) -> None:
    name = prefix + node.name
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    for arg in every:
        text = source.text(arg.annotation) if arg.annotation is not None else None
        _add(out, Fact(f"{name}({arg.arg})", "parameter", text, arg.lineno), name)
    returns = source.text(node.returns) if node.returns is not None else None
    _add(out, Fact(name, "return annotation", returns, node.lineno), name)


def _add(out: Facts, fact: Fact, owner: str) -> None:
    out[(fact.symbol, fact.what, owner)] = fact


def _blocks(node: ast.If | ast.Try) -> list[list[ast.stmt]]:
    if isinstance(node, ast.If):
        return [node.body, node.orelse]
    return [node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]]


def _is_alias(value: ast.expr) -> bool:
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in TYPING_CALLS
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
        return _is_type_expr(value.left) and _is_type_expr(value.right)
    if isinstance(value, ast.Subscript):
        return _type_name(value.value) in TYPING_NAMES
    return False


def _is_type_expr(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return value.value is None or isinstance(value.value, str)
    if isinstance(value, ast.Name | ast.Attribute):
        return True
    if isinstance(value, ast.Subscript):
        return _is_type_expr(value.value)
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
        return _is_type_expr(value.left) and _is_type_expr(value.right)
    return False


def _type_name(value: ast.expr) -> str:
    if isinstance(value, ast.Name):
        return value.id
    return value.attr if isinstance(value, ast.Attribute) else ""


def _owners(module: ast.Module) -> set[str]:
    """The qualified names of the classes and functions of a module."""
    names: set[str] = set()

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(prefix + node.name)
                walk(node.body, prefix + node.name + ".")
            elif isinstance(node, ast.If | ast.Try):
                for block in _blocks(node):
                    walk(block, prefix)

    walk(module.body, "")
    return names


def _has_fields(found: Facts, owner: str) -> bool:
    return any(f.what == "field" and f.symbol.rsplit(".", 1)[0] == owner for f in found.values())


def _first_difference(old: ast.Module, new: ast.Module) -> int:
    for a, b in zip(old.body, new.body, strict=False):
        if ast.dump(a) != ast.dump(b):
            return getattr(b, "lineno", 1)
    shorter = min(len(old.body), len(new.body))
    return getattr(new.body[shorter], "lineno", 1) if len(new.body) > shorter else 1
