"""The semantic rules on real Python files and manifests: for each, a change it must
catch and a nearby change it must allow."""

from __future__ import annotations

import json
import textwrap

import pytest

from tether.rules.rule import Rule
from tether.rules.semantic import Breach, FileStep, check

PLAN_MD = textwrap.dedent(
    '''\
    """Parse PLAN.md."""
    from dataclasses import dataclass
    from typing import Protocol, TypedDict

    Status = str | None


    @dataclass
    class Task:
        id: str
        title: str
        done: bool = False


    class Row(TypedDict):
        id: str
        line: int


    class Reader(Protocol):
        def read(self, path: str) -> str: ...


    def parse_plan(text: str, strict: bool = False) -> list[Task]:
        """The tasks of a plan."""
        tasks = []
        for line in text.splitlines():
            if line.startswith("- ["):
                tasks.append(Task(line[6:], line))
        return tasks


    def _helper(line):
        return line.strip()
    '''
)


def step(path: str, old: str | None, new: str | None, status: str = "M") -> FileStep:
    return FileStep(path, status, old.encode() if old else None, new.encode() if new else None)


def breaches(rule: str, old: str, new: str, path: str = "src/plan_md.py") -> list[Breach]:
    what, _, where = rule.partition(" in ")
    keep = Rule("keep", what=what, paths=(where,) if where else ())
    return check([keep], [step(path, old, new)], scope=())


# --- keep: types ----------------------------------------------------------------------

TYPE_CHANGES = [
    ("-> list[Task]:", "-> tuple[Task, ...]:", "`parse_plan` return annotation changed"),
    ("strict: bool = False", "strict: int = 0", "`parse_plan(strict)` parameter changed"),
    ("    done: bool = False", "    done: int = 0", "`Task.done` field changed"),
    ("    line: int\n", "    line: int\n    column: int\n", "`Row.column` field added"),
    ("Status = str | None", "Status = str | int | None", "`Status` type alias changed"),
    (
        "def read(self, path: str) -> str",
        "def read(self, path: bytes) -> str",
        "`Reader.read(path)`",
    ),
    ("class Reader(Protocol):", "class Reader:", "`Reader` bases"),
]


@pytest.mark.parametrize(("old", "new", "said"), TYPE_CHANGES)
def test_keep_types_catches_a_type_change(old: str, new: str, said: str) -> None:
    changed = PLAN_MD.replace(old, new)
    assert changed != PLAN_MD
    found = breaches("types", PLAN_MD, changed)
    assert found and found[0].rule == "keep: types"
    assert said in found[0].detail and "src/plan_md.py:" in found[0].detail


def test_keep_types_names_the_line() -> None:
    changed = PLAN_MD.replace("-> list[Task]:", "-> tuple[Task, ...]:")
    line = (
        changed.splitlines().index(
            "def parse_plan(text: str, strict: bool = False) -> tuple[Task, ...]:"
        )
        + 1
    )
    [found] = breaches("types", PLAN_MD, changed)
    assert found.detail == (
        f"`parse_plan` return annotation changed: list[Task] → tuple[Task, ...] in "
        f"src/plan_md.py:{line}"
    )


ALLOWED_TYPE_EDITS = [
    ('        if line.startswith("- ["):', '        if line.lstrip().startswith("- ["):'),
    ("def _helper(line):", 'def _helper(line):\n    """Strip."""'),
    (
        "    return line.strip()\n",
        "    return line.strip()\n\n\ndef count(text: str) -> int:\n    return 1\n",
    ),
    ("    tasks = []", "    tasks: list[Task] = []"),  # a local annotation: body
]


@pytest.mark.parametrize(("old", "new"), ALLOWED_TYPE_EDITS)
def test_keep_types_allows_body_edits_and_new_code(old: str, new: str) -> None:
    changed = PLAN_MD.replace(old, new)
    assert changed != PLAN_MD
    assert breaches("types", PLAN_MD, changed) == []


def test_keep_types_honours_its_paths() -> None:
    changed = PLAN_MD.replace("-> list[Task]:", "-> tuple[Task, ...]:")
    assert breaches("types in src/app/**", PLAN_MD, changed) == []
    assert breaches("types in src/**", PLAN_MD, changed)


def test_keep_types_on_a_stub_counts_any_change() -> None:
    stub = "def f(x: int) -> int: ...\n"
    assert breaches("types", stub, "def f(x: int) -> str: ...\n", path="src/m.pyi")
    assert breaches("types", stub, stub + "\n", path="src/m.pyi") == []


# --- keep: signatures -------------------------------------------------------------------

SIGNATURE_CHANGES = [
    ("strict: bool = False", "strict: bool = True", "parameter `strict`"),
    ("def parse_plan(text: str, strict", "def parse_plan(source: str, strict", "`parse_plan`"),
    (
        "strict: bool = False) -> list[Task]",
        "strict: bool = False, *, deep: bool = False) -> list[Task]",
        "parameter `deep` added",
    ),
    ("-> list[Task]:", "-> tuple[Task, ...]:", "return annotation changed"),
    ("def parse_plan(", "def read_plan("),
]


@pytest.mark.parametrize("change", SIGNATURE_CHANGES)
def test_keep_signatures_catches_an_api_change(change: tuple[str, ...]) -> None:
    old, new = change[0], change[1]
    changed = PLAN_MD.replace(old, new)
    assert changed != PLAN_MD
    found = breaches("signatures", PLAN_MD, changed)
    assert found and all(b.rule == "keep: signatures" for b in found)
    assert "`parse_plan`" in found[0].detail
    if len(change) > 2:
        assert any(change[2] in b.detail for b in found)


ALLOWED_SIGNATURE_EDITS = [
    ("    tasks = []", "    tasks = list()"),  # body only
    ("def _helper(line):", "def _helper(line, strip=True):"),  # a private helper
    ("    return line.strip()\n", "    return line.strip()\n\n\ndef _new(x):\n    return x\n"),
    ('    """The tasks of a plan."""', '    """The tasks of a plan, in order."""'),
]


@pytest.mark.parametrize(("old", "new"), ALLOWED_SIGNATURE_EDITS)
def test_keep_signatures_allows_bodies_and_private_helpers(old: str, new: str) -> None:
    changed = PLAN_MD.replace(old, new)
    assert changed != PLAN_MD
    assert breaches("signatures", PLAN_MD, changed) == []


def test_deleting_a_public_module_breaks_signatures_but_a_new_one_does_not() -> None:
    keep = [Rule("keep", what="signatures")]
    gone = check(keep, [step("src/plan_md.py", PLAN_MD, None, "D")], ())
    assert gone and "deleted with" in gone[0].detail
    assert check(keep, [step("src/new.py", None, PLAN_MD, "A")], ()) == []


# --- keep: deps -------------------------------------------------------------------------

PYPROJECT = textwrap.dedent(
    """\
    [project]
    name = "app"
    dependencies = ["httpx>=0.27", "rich"]

    [project.optional-dependencies]
    dev = ["pytest>=8"]
    """
)


def test_keep_deps_catches_added_and_changed_dependencies() -> None:
    added = PYPROJECT.replace('"rich"]', '"rich", "requests"]')
    [found] = breaches("deps", PYPROJECT, added, path="pyproject.toml")
    assert found.detail == "`project:requests` added (requests) in pyproject.toml"
    bumped = PYPROJECT.replace("pytest>=8", "pytest>=9")
    [found] = breaches("deps", PYPROJECT, bumped, path="pyproject.toml")
    assert "`extra dev:pytest` changed: pytest>=8 → pytest>=9" in found.detail


def test_keep_deps_allows_other_edits_of_a_manifest() -> None:
    renamed = PYPROJECT.replace('name = "app"', 'name = "app"\nversion = "0.2"  # bumped')
    assert breaches("deps", PYPROJECT, renamed, path="pyproject.toml") == []
    spaced = PYPROJECT.replace('["httpx>=0.27", "rich"]', '[\n  "httpx>=0.27",\n  "rich",\n]')
    assert breaches("deps", PYPROJECT, spaced, path="pyproject.toml") == []


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("requirements-dev.txt", "pytest==8.0\n", "pytest==8.0\nhypothesis\n"),
        (
            "package.json",
            json.dumps({"dependencies": {"react": "^18"}}),
            json.dumps({"dependencies": {"react": "^19"}}),
        ),
        (
            "Cargo.toml",
            '[dependencies]\nserde = "1"\n',
            '[dependencies]\nserde = "1"\ntokio = "1"\n',
        ),
        (
            "go.mod",
            "module x\nrequire (\n\tgolang.org/x/mod v0.1.0\n)\n",
            "module x\nrequire (\n\tgolang.org/x/mod v0.2.0\n)\n",
        ),
        (
            "setup.cfg",
            "[options]\ninstall_requires =\n    click\n",
            "[options]\ninstall_requires =\n    click\n    attrs\n",
        ),
        ("uv.lock", "version = 1\n", "version = 1\n[[package]]\n"),
    ],
)
def test_keep_deps_reads_every_manifest(path: str, old: str, new: str) -> None:
    assert breaches("deps", old, new, path=path)
    assert breaches("deps", old, old, path=path) == []


def test_keep_deps_ignores_comments_in_requirements() -> None:
    assert (
        breaches(
            "deps",
            "pytest==8.0\n",
            "# test tools\npytest==8.0  # pinned\n",
            path="requirements.txt",
        )
        == []
    )


# --- keep: tests ------------------------------------------------------------------------


def test_keep_tests_catches_a_changed_or_deleted_test_but_not_a_new_one() -> None:
    keep = [Rule("keep", what="tests")]
    test = "def test_x():\n    assert 1 == 1\n"
    weakened = "def test_x():\n    pass\n"
    [found] = check(keep, [step("tests/test_x.py", test, weakened)], ())
    assert found.rule == "keep: tests" and "tests/test_x.py was changed" in found.detail
    assert check(keep, [step("src/app_test.go", test, None, "D")], ())
    assert check(keep, [step("tests/test_new.py", None, test, "A")], ()) == []
    assert check(keep, [step("src/x.py", test, weakened)], ()) == []


def test_keep_tests_yields_to_a_scope_that_names_the_tests() -> None:
    keep = [Rule("keep", what="tests")]
    change = [step("tests/test_x.py", "a = 1\n", "a = 2\n")]
    assert check(keep, change, scope=("tests/test_x.py",)) == []
    assert check(keep, change, scope=("tests/**",)) == []
    assert check(keep, change, scope=("**",))  # the whole repo names no test


def test_keep_tests_guards_what_decides_which_tests_run() -> None:
    keep = [Rule("keep", what="tests")]
    hook = "def pytest_collection_modifyitems(items):\n    items.clear()\n"
    assert check(keep, [step("conftest.py", None, hook, "A")], ())  # a new conftest
    assert check(keep, [step("pytest.ini", "[pytest]\n", "[pytest]\naddopts = -k nothing\n")], ())
    pyproject = '[project]\nname = "x"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n'
    narrowed = pyproject.replace('"-q"', '"-q -k not slow"')
    [found] = check(keep, [step("pyproject.toml", pyproject, narrowed)], ())
    assert found.detail == "pyproject.toml: [tool.pytest] changed; tests are read-only in this task"
    renamed = pyproject.replace('name = "x"', 'name = "y"')
    assert check(keep, [step("pyproject.toml", pyproject, renamed)], ()) == []
    package = json.dumps({"scripts": {"test": "jest"}})
    skipped = json.dumps({"scripts": {"test": "jest --passWithNoTests -t nothing"}})
    assert check(keep, [step("package.json", package, skipped)], ())


def test_keep_signatures_counts_a_change_to_all() -> None:
    module = '__all__ = ["parse_plan", "Task"]\n\n\ndef parse_plan(text):\n    return []\n'
    fewer = module.replace(', "Task"', "")
    [found] = breaches("signatures", module, fewer)
    assert found.detail.startswith("`__all__` changed: __all__ = [")
    assert breaches("signatures", module, module.replace("return []", "return list()")) == []
