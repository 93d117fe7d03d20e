"""``keep: deps``: no dependency added, removed or changed.

Read from the manifests themselves: pyproject.toml (PEP 621 dependencies and extras,
dependency groups, build requirements, Poetry's tables), requirements*.txt and *.in,
setup.cfg (install_requires, extras_require), Pipfile, package.json (every
dependencies table), Cargo.toml (every dependencies table, targets and workspace
included) and go.mod (require). A lock file that changes at all is a dependency
change. Formatting and comments are not: the manifests are compared as parsed data."""

from __future__ import annotations

import configparser
import json
import posixpath
import re
import tomllib
from typing import Any

LOCK_FILES = {
    "poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock", "package-lock.json", "yarn.lock",
    "pnpm-lock.yaml", "bun.lockb", "Cargo.lock", "go.sum", "composer.lock", "Gemfile.lock",
}  # fmt: skip
JS_TABLES = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
CARGO_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class Unreadable(ValueError):
    """A manifest that no longer parses."""


def is_manifest(path: str) -> bool:
    name = posixpath.basename(path)
    return (
        name in LOCK_FILES
        or name in ("pyproject.toml", "setup.cfg", "Pipfile", "package.json", "Cargo.toml")
        or name == "go.mod"
        or (name.startswith("requirements") and name.endswith((".txt", ".in")))
    )


def dependency_changes(path: str, old: bytes | None, new: bytes | None) -> list[str]:
    """What changed in the dependencies ``path`` declares (empty: none)."""
    name = posixpath.basename(path)
    if name in LOCK_FILES:
        return [] if old == new else [f"lock file {path} changed"]
    try:
        before = declared(name, old) if old is not None else {}
    except Unreadable:
        before = {}
    try:
        after = declared(name, new) if new is not None else {}
    except Unreadable as exc:
        return [f"{path} no longer parses ({exc}), so its dependencies cannot be checked"]
    changes = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if was is None:
            changes.append(f"`{key}` added ({now}) in {path}")
        elif now is None:
            changes.append(f"`{key}` removed (was {was}) in {path}")
        else:
            changes.append(f"`{key}` changed: {was} → {now} in {path}")
    return changes


def declared(name: str, data: bytes) -> dict[str, str]:
    """``group:name`` → its requirement as written, for one manifest."""
    text = data.decode("utf-8", "replace")
    try:
        if name == "pyproject.toml":
            return _pyproject(tomllib.loads(text))
        if name in ("Cargo.toml", "Pipfile"):
            return _cargo_or_pipfile(tomllib.loads(text))
        if name == "package.json":
            doc = json.loads(text)
            return _tables(doc, JS_TABLES) if isinstance(doc, dict) else {}
        if name == "setup.cfg":
            return _setup_cfg(text)
        if name == "go.mod":
            return _go_mod(text)
        return _requirements("requirements", text.splitlines())
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, configparser.Error) as exc:
        raise Unreadable(str(exc).splitlines()[0]) from exc


def _pyproject(doc: dict[str, Any]) -> dict[str, str]:
    project = doc.get("project") or {}
    out = _requirements("project", project.get("dependencies") or [])
    for extra, reqs in (project.get("optional-dependencies") or {}).items():
        out |= _requirements(f"extra {extra}", reqs)
    for group, reqs in (doc.get("dependency-groups") or {}).items():
        out |= _requirements(f"group {group}", [r for r in reqs if isinstance(r, str)])
    out |= _requirements("build-system", (doc.get("build-system") or {}).get("requires") or [])
    poetry = (doc.get("tool") or {}).get("poetry") or {}
    out |= _tables(poetry, ("dependencies", "dev-dependencies"))
    for group, table in (poetry.get("group") or {}).items():
        out |= _tables(table, ("dependencies",), prefix=f"poetry group {group} ")
    return out


def _cargo_or_pipfile(doc: dict[str, Any]) -> dict[str, str]:
    out = _tables(doc, (*CARGO_TABLES, "packages", "dev-packages"))
    for target, table in (doc.get("target") or {}).items():
        out |= _tables(table, CARGO_TABLES, prefix=f"target {target} ")
    out |= _tables(doc.get("workspace") or {}, ("dependencies",), prefix="workspace ")
    return out


def _tables(doc: dict[str, Any], names: tuple[str, ...], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for table in names:
        for key, value in (doc.get(table) or {}).items():
            out[f"{prefix}{table}:{key}"] = json.dumps(value, sort_keys=True)
    return out


def _requirements(group: str, lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in lines:
        line = str(raw).split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        match = NAME.match(line)
        key = match.group(1).lower().replace("_", "-") if match else line
        out[f"{group}:{key}"] = " ".join(line.split())
    return out


def _setup_cfg(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    out: dict[str, str] = {}
    if parser.has_option("options", "install_requires"):
        out |= _requirements("install", parser.get("options", "install_requires").splitlines())
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            out |= _requirements(f"extra {extra}", value.splitlines())
    return out


def _go_mod(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    block = False
    for raw in text.splitlines():
        line = raw.split("//")[0].strip()
        if line.startswith("require ("):
            block = True
            continue
        if block and line == ")":
            block = False
            continue
        if line.startswith("require "):
            line = line[len("require ") :]
        elif not block:
            continue
        parts = line.split()
        if len(parts) >= 2:
            out[f"require:{parts[0]}"] = parts[1]
    return out
