"""The constraint compiler, table-driven: each phrasing and the exact rules it gives.

Paraphrase, negation, combinations, paths with spaces and globs; every rule's exact
form reads back as itself; what no reader understands is returned, never dropped."""

from __future__ import annotations

import pytest

from tether.rules.compiler import compile_rules
from tether.rules.paths import RepoFiles

FILES = RepoFiles(
    (
        "src/cli.py", "src/a.py", "src/b.py", "src/app/users.py", "src/app/types.py",
        "src/app/__init__.py", "tests/test_cli.py", "tests/test_users.py",
        "docs/my notes.md", "pyproject.toml", "README.md", "package.json", "Makefile",
    )
)  # fmt: skip

TYPES = "keep: types"
TABLE: list[tuple[str, list[str]]] = [
    # scope, said many ways
    ("only src/cli.py", ["scope: src/cli.py"]),
    ("don't touch anything but src/a.py", ["scope: src/a.py"]),
    ("only change src/a.py", ["scope: src/a.py"]),
    ("just src/a.py", ["scope: src/a.py"]),
    ("please only change cli.py", ["scope: src/cli.py"]),
    ("nothing but src/a.py and src/b.py", ["scope: src/a.py, src/b.py"]),
    ("only src/a.py, src/b.py and src/cli.py", ["scope: src/a.py, src/b.py, src/cli.py"]),
    ("you're only allowed to edit src/app/users.py", ["scope: src/app/users.py"]),
    (
        "don't change anything except src/cli.py and tests/test_cli.py",
        ["scope: src/cli.py, tests/test_cli.py"],
    ),
    ("leave everything except src/app alone", ["scope: src/app/**"]),
    ("leave the rest alone except src/cli.py", ["scope: src/cli.py"]),
    ("changes only in src/app", ["scope: src/app/**"]),
    ("keep your changes inside src/app/**", ["scope: src/app/**"]),
    ("work only in src/app", ["scope: src/app/**"]),
    ("stay inside src/app/", ["scope: src/app/**"]),
    ("limit yourself to src/cli.py", ["scope: src/cli.py"]),
    ("src/cli.py only", ["scope: src/cli.py"]),
    ("no edits outside src/app", ["scope: src/app/**"]),
    ("Don't touch anything outside src/app", ["scope: src/app/**"]),
    ("never change files other than src/b.py", ["scope: src/b.py"]),
    ("only src/app/**/*.py", ["scope: src/app/**/*.py"]),
    ("only 'docs/my notes.md'", ["scope: docs/my notes.md"]),
    ("only docs/my notes.md", ["scope: docs/my notes.md"]),
    ("Only work on users.py and its tests.", ["scope: src/app/users.py, tests/test_users.py"]),
    # protect
    ("leave src/app alone", ["protect: src/app/**"]),
    ('protect "docs/my notes.md"', ["protect: docs/my notes.md"]),
    ("do not modify src/b.py or src/cli.py", ["protect: src/b.py, src/cli.py"]),
    ("hands off pyproject.toml", ["protect: pyproject.toml"]),
    ("pyproject.toml is off limits", ["protect: pyproject.toml"]),
    ("don't touch README.md or Makefile", ["protect: README.md, Makefile"]),
    ("avoid touching pyproject.toml", ["protect: pyproject.toml"]),
    ("do not edit tests/", ["protect: tests/**"]),
    ("do not touch src/**/*.pyi", ["protect: src/**/*.pyi"]),
    ("don't touch src/a.py or its tests", ["protect: src/a.py, **/test_a.py"]),
    # deletes
    ("no deletes", ["no deletes"]),
    ("don't delete anything", ["no deletes"]),
    ("never delete files", ["no deletes"]),
    ("no deletions in src/app", ["no deletes: src/app/**"]),
    ("you may delete src/b.py", ["may delete: src/b.py"]),
    ("deleting src/b.py is fine", ["may delete: src/b.py"]),
    ("feel free to remove src/b.py", ["may delete: src/b.py"]),
    ("It's fine to delete src/b.py", ["may delete: src/b.py"]),
    # size
    ("max 40 lines", ["max diff: 40 lines"]),
    ("keep the diff under 30 lines", ["max diff: 30 lines"]),
    ("no more than 25 lines changed", ["max diff: 25 lines"]),
    ("keep the change below 100 lines", ["max diff: 100 lines"]),
    ("diff under 60 lines", ["max diff: 60 lines"]),
    ("at most 15 lines", ["max diff: 15 lines"]),
    ("don't let the diff grow past 80 lines", ["max diff: 80 lines"]),
    ("don't change more than 30 lines", ["max diff: 30 lines"]),
    ("keep the diff small", ["max diff: 50 lines"]),
    ("keep changes minimal", ["max diff: 20 lines"]),
    # types
    ("don't touch types", [TYPES]),
    ("don't touch the types yet", [TYPES]),
    ("types stay as they are", [TYPES]),
    ("leave the type hints alone", [TYPES]),
    ("don't touch types in src/app", ["keep: types in src/app/**"]),
    ("keep the types in src/app/** as they are", ["keep: types in src/app/**"]),
    ("don't change type hints in src/app/types.py", ["keep: types in src/app/types.py"]),
    (
        "don't touch types in src/app/types.py and src/app/users.py",
        ["keep: types in src/app/types.py, src/app/users.py"],
    ),
    # signatures
    ("keep signatures", ["keep: signatures"]),
    ("don't change the public API", ["keep: signatures"]),
    ("do not rename public functions", ["keep: signatures"]),
    # deps
    ("no new dependencies", ["keep: deps"]),
    ("don't add any deps", ["keep: deps"]),
    ("no new requirements in pyproject.toml", ["keep: deps in pyproject.toml"]),
    # tests
    ("don't change tests", ["keep: tests"]),
    ("tests are read-only", ["keep: tests"]),
    ("the tests are read-only", ["keep: tests"]),
    ("don't weaken the tests", ["keep: tests"]),
    ("tests must stay unchanged", ["keep: tests"]),
    # permissions (negations of a keep said before)
    ("you can change the tests", ["allow: tests"]),
    ("you may touch the tests now", ["allow: tests"]),
    ("changing the types is fine", ["allow: types"]),
    # network and commands
    ("no network", ["no network"]),
    ("stay offline", ["no network"]),
    ("don't access the internet", ["no network"]),
    ("don't run npm install", ["no running: npm install"]),
    ("no git commands", ["no running: git"]),
    ("never run `rm -rf`", ["no running: rm -rf"]),
    ("don't use pip", ["no running: pip"]),
    ("no sudo", ["no running: sudo"]),
    ("don't run make deploy", ["no running: make deploy"]),
    # combinations
    (
        "only src/cli.py and its tests, and don't touch the types",
        ["scope: src/cli.py, tests/test_cli.py", TYPES],
    ),
    ("edit src/a.py without touching the types", ["scope: src/a.py", TYPES]),
    ("Only touch src/a.py. Don't touch the types yet.", ["scope: src/a.py", TYPES]),
    ("keep function signatures and types stable", [TYPES, "keep: signatures"]),
    ("keep signatures and don't add dependencies", ["keep: signatures", "keep: deps"]),
    (
        "don't break the public API, no new deps and no network",
        ["keep: signatures", "keep: deps", "no network"],
    ),
    (
        "don't touch src/a.py; you may delete src/b.py; max 10 lines",
        ["protect: src/a.py", "may delete: src/b.py", "max diff: 10 lines"],
    ),
    (
        "don't touch src/app/types.py, and keep the diff under 50 lines",
        ["protect: src/app/types.py", "max diff: 50 lines"],
    ),
    ("keep the API stable but you may change the tests", ["keep: signatures", "allow: tests"]),
    (
        "Only work on users.py and its tests. No new packages, and leave the type hints alone.",
        ["scope: src/app/users.py, tests/test_users.py", "keep: deps", TYPES],
    ),
    # phrasings found by trying unseen ones
    ("Please restrict your changes to src/app/users.py.", ["scope: src/app/users.py"]),
    ("Do NOT modify any files under tests/", ["protect: tests/**"]),
    ("You are not allowed to delete files", ["no deletes"]),
    ("Limit the patch to 30 lines", ["max diff: 30 lines"]),
    ("Touch only src/cli.py and src/a.py, nothing else", ["scope: src/cli.py, src/a.py"]),
    ("You can delete src/b.py if needed", ["may delete: src/b.py"]),
    ("Avoid network access", ["no network"]),
    ("don't install anything", ["keep: deps"]),
    ("No edits to docs/", ["protect: docs/**"]),
    ("Don't alter src/app/types.py under any circumstances", ["protect: src/app/types.py"]),
    ("Work exclusively in the src/app folder", ["scope: src/app/**"]),
    ("edits to src/cli.py only", ["scope: src/cli.py"]),
    ("Under no circumstances change pyproject.toml", ["protect: pyproject.toml"]),
    ("Make no changes to the public interface", ["keep: signatures"]),
    ("Leave the function signatures as they are", ["keep: signatures"]),
    ("Don't mess with the type hints in users.py", ["keep: types in src/app/users.py"]),
    ("Edit src/cli.py but don't change its signatures", ["scope: src/cli.py", "keep: signatures"]),
    (
        "no changes outside src/app/users.py and tests/test_users.py",
        ["scope: src/app/users.py, tests/test_users.py"],
    ),
    ("hands off the tests", ["keep: tests"]),
    ("max diff 25", ["max diff: 25 lines"]),
    (
        "only touch files in src/app except src/app/types.py",
        ["scope: src/app/**", "protect: src/app/types.py"],
    ),
    (
        "don't change anything in src/app except users.py",
        ["protect: src/app/types.py, src/app/__init__.py"],
    ),
    ("no more deletions", ["no deletes"]),
    ("allow changes to tests", ["allow: tests"]),
    ("no new packages or network calls", ["no network", "keep: deps"]),
    (
        "Please do not touch `src/app/types.py` and don't run `make deploy`",
        ["protect: src/app/types.py", "no running: make deploy"],
    ),
    ("keep it under 50 lines", ["max diff: 50 lines"]),
    ("just edit the cli module", ["scope: src/cli.py"]),
    ("leave the app package alone", ["protect: src/app/**"]),
    ("don't touch the users module's types", ["keep: types in src/app/users.py"]),
    ("the README file is off limits", ["protect: README.md"]),
    ("Only change files matching src/**/*.py", ["scope: src/**/*.py"]),
    ("you may not delete anything", ["no deletes"]),
    ("stop touching src/b.py", ["protect: src/b.py"]),
    (
        "Don't touch the types, the signatures or the tests",
        ["keep: types", "keep: signatures", "keep: tests"],
    ),
    ("do not touch anything other than README.md and the docs", ["scope: README.md, docs/**"]),
    (
        "no network and no new deps; only src/cli.py",
        ["no network", "keep: deps", "scope: src/cli.py"],
    ),
    ("Keep the diff to 10 lines or fewer", ["max diff: 10 lines"]),
    # the exact forms read back as themselves
    ("scope: src/cli.py, tests/test_cli.py", ["scope: src/cli.py, tests/test_cli.py"]),
    ("keep: types in src/app/**", ["keep: types in src/app/**"]),
    ("max diff: 40 lines", ["max diff: 40 lines"]),
    ("no running: npm install", ["no running: npm install"]),
    ("allow: tests", ["allow: tests"]),
    ("may delete: src/b.py", ["may delete: src/b.py"]),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t for t, _ in TABLE])
def test_phrasing_compiles_to_exact_rules(text: str, expected: list[str]) -> None:
    compiled = compile_rules(text, FILES)
    assert [rule.exact() for rule in compiled.rules] == expected
    assert compiled.unparsed == ()


def test_the_table_is_large_enough() -> None:
    assert len(TABLE) >= 60


@pytest.mark.parametrize("text", [t for t, _ in TABLE])
def test_every_echo_reads_back_as_the_same_rules(text: str) -> None:
    rules = compile_rules(text, FILES).rules
    again = [compile_rules(rule.exact(), FILES).rules for rule in rules]
    assert [r.exact() for group in again for r in group] == [r.exact() for r in rules]


@pytest.mark.parametrize(
    ("text", "rules", "left"),
    [
        ("keep it simple", [], ["keep it simple"]),
        ("make it fast and don't touch types", [TYPES], ["make it fast"]),
        ("just the cli", [], ["just the cli"]),
        ("prefer small functions", [], ["prefer small functions"]),
        ("Change at most 2 files", [], ["change at most 2 files"]),  # files, not lines
        ("Don't refactor anything", [], ["do not refactor anything"]),
    ],
)
def test_what_is_no_rule_is_returned_not_dropped(
    text: str, rules: list[str], left: list[str]
) -> None:
    compiled = compile_rules(text, FILES)
    assert [r.exact() for r in compiled.rules] == rules
    assert list(compiled.unparsed) == left
    advice = [r for r in compiled.with_advice() if r.kind == "advice"]
    assert [r.what for r in advice] == left


def test_echo_shows_what_a_glob_matches() -> None:
    compiled = compile_rules("don't touch types in src/app, only src/app/**", FILES)
    assert compiled.echo(FILES) == [
        "→ keep: types in src/app/** (3 files)",
        "→ scope: src/app/** (3 files)",
    ]
    assert compile_rules("only src/new.py", FILES).echo(FILES) == [
        "→ scope: src/new.py (new: src/new.py)"
    ]


def test_a_rule_naming_a_path_outside_the_repository_is_refused() -> None:
    compiled = compile_rules("only ../etc/passwd, and protect /etc/hosts; keep types", FILES)
    assert [r.exact() for r in compiled.rules] == ["keep: types"]
    assert compiled.problems == (
        "scope: ../etc/passwd: '../etc/passwd' leaves the repository",
        "protect: /etc/hosts: '/etc/hosts' is absolute; give a path relative to the "
        "repository root",
    )
