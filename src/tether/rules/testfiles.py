"""``keep: tests``: the model may not weaken the tests to make them pass. A test file may
not change or go (a new one weakens nothing), and neither may what decides which tests
run and how: a ``conftest.py`` (new ones too: a hook can deselect every test), pytest's,
tox's, jest's, vitest's or mocha's configuration files, and the test sections inside
pyproject.toml (``[tool.pytest...]``), setup.cfg (``[tool:pytest]``) and package.json
(``jest``, ``scripts.test``). A task whose scope names tests may change them."""

from __future__ import annotations

import configparser
import json
import posixpath
import tomllib
from collections.abc import Sequence
from typing import Any

from tether.rules.globs import is_glob, matches_any
from tether.rules.paths import TEST_FOLDERS, is_test_path

CONFIG_FILES = {"conftest.py", "pytest.ini", "tox.ini", ".mocharc", "karma.conf.js"}
CONFIG_PREFIXES = ("jest.config.", "vitest.config.", ".mocharc.", "karma.conf.")
SECTIONED = ("pyproject.toml", "setup.cfg", "package.json")


def is_test_config(path: str) -> bool:
    name = posixpath.basename(path)
    return name in CONFIG_FILES or name.startswith(CONFIG_PREFIXES)


def watched(path: str) -> bool:
    """Whether ``keep: tests`` looks at ``path``."""
    return is_test_path(path) or is_test_config(path) or posixpath.basename(path) in SECTIONED


def needs_bytes(path: str) -> bool:
    return posixpath.basename(path) in SECTIONED and not is_test_path(path)


def test_changes(
    path: str, status: str, old: bytes | None, new: bytes | None, scope: Sequence[str]
) -> list[str]:
    """What a step did to the tests through ``path`` (empty: nothing)."""
    if _named(path, scope):
        return []
    if posixpath.basename(path) in SECTIONED and not is_test_path(path):
        return _section_change(path, old, new)
    if is_test_config(path):
        verb = {"A": "added", "D": "deleted"}.get(status, "changed")
        return [f"the test configuration {path} was {verb}; tests are read-only in this task"]
    if status == "A":
        return []  # a new test weakens nothing
    verb = "deleted" if status == "D" else "changed"
    return [f"the test file {path} was {verb}; tests are read-only in this task"]


def _named(path: str, scope: Sequence[str]) -> bool:
    """A scope glob that names tests (``tests/**``, ``tests/test_x.py``; not ``src/**``
    or ``**``) and matches ``path``."""
    named = [g for g in scope if _names_tests(g) or _literally(g, path)]
    return bool(named) and matches_any(list(named), path)


def _names_tests(glob: str) -> bool:
    return is_test_path(glob) or any(part in TEST_FOLDERS for part in glob.split("/"))


def _literally(glob: str, path: str) -> bool:
    return not is_glob(glob) and posixpath.normpath(glob) == path


def _section_change(path: str, old: bytes | None, new: bytes | None) -> list[str]:
    name = posixpath.basename(path)
    before, after = _section(name, old), _section(name, new)
    if before == after:
        return []
    where = {"pyproject.toml": "[tool.pytest]", "setup.cfg": "[tool:pytest]"}.get(
        name, "its jest/test settings"
    )
    return [f"{path}: {where} changed; tests are read-only in this task"]


def _section(name: str, data: bytes | None) -> Any:
    if data is None:
        return None
    text = data.decode("utf-8", "replace")
    try:
        if name == "pyproject.toml":
            return (tomllib.loads(text).get("tool") or {}).get("pytest")
        if name == "setup.cfg":
            parser = configparser.ConfigParser()
            parser.read_string(text)
            return dict(parser.items("tool:pytest")) if parser.has_section("tool:pytest") else None
        doc = json.loads(text)
        if not isinstance(doc, dict):
            return None
        return [doc.get("jest"), (doc.get("scripts") or {}).get("test")]
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, configparser.Error):
        return "unreadable"
