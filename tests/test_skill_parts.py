"""The parts of skills on literal inputs: parameters, net edits and whether they apply,
the trajectory and contract files, the frontmatter's certification."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skills_ref import read_properties, validate

from tether.errors import UsageError
from tether.skills.contract import SkillContract
from tether.skills.edits import FileEdit, file_edit, hunks, plan
from tether.skills.params import clashes, generalise, parse_params, resolve, substitute
from tether.skills.store import Certification, SkillStore, set_metadata, write_skill_md
from tether.skills.trajectory import Call, Trajectory

VALUES = {"module": "src/app/users.py"}
NAMES = ("module",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("edit src/app/users.py now", "edit {module} now"),
        ("tests/test_users.py", "tests/test_{module.stem}.py"),
        ("users_count = len(users)", "{module.stem}_count = len({module.stem})"),
        ("superusers and users2", "superusers and users2"),
        ("src/app/users.pyc", "src/app/{module.stem}.pyc"),  # not the path: its stem
        ("see src/app/users.py.", "see {module}."),
        ("from app.users import x", "from app.{module.stem} import x"),
    ],
)
def test_values_become_placeholders_where_they_stand_whole(text: str, expected: str) -> None:
    assert generalise(text, VALUES) == expected


def test_placeholders_are_filled_and_only_declared_ones() -> None:
    text = 'open("{module}") # {other} f"{module.stem}"'
    filled = substitute(text, NAMES, {"module": "lib/orders.py"})
    assert filled == 'open("lib/orders.py") # {other} f"orders"'
    assert clashes('print(f"{module}")', NAMES) == ["{module}"]
    assert clashes('print(f"{modules}")', NAMES) == []


def test_parameter_values_are_checked() -> None:
    assert parse_params(["module=a.py", "name = x "]) == {"module": "a.py", "name": "x"}
    for bad in ("module", "module=", "Module=a.py", "2x=a"):
        with pytest.raises(UsageError):
            parse_params([bad])
    assert resolve(NAMES, {}, {"module": "a.py"}, "s") == {"module": "a.py"}
    with pytest.raises(UsageError, match="has no parameter endpoint"):
        resolve(NAMES, {"endpoint": "x"}, {"module": "a.py"}, "s")
    with pytest.raises(UsageError, match=r"needs --param module=\.\.\."):
        resolve(NAMES, {}, {}, "s")


def test_a_repeated_line_gets_context_until_its_search_is_unique() -> None:
    before = "a = 1\nx = 0\nb = 2\nx = 0\nc = 3\n"
    after = "a = 1\nx = 0\nb = 2\nx = 9\nc = 3\n"
    [(search, replace)] = hunks(before, after)
    assert before.count(search) == 1 and "x = 0" in search
    assert before.replace(search, replace) == after


LINES = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "x = 1\n", "\n"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(LINES, LINES)
def test_net_edits_take_before_to_after(old: list[str], new: list[str]) -> None:
    before, after = "".join(old), "".join(new)
    edit = file_edit("f.py", before.encode(), after.encode())
    result = plan([edit], lambda path: before)
    if before == "" and after:  # an empty file has no text to search: refused, not wrong
        assert not result.applies
        return
    assert result.applies, result.problem
    assert result.files["f.py"] == after


def test_edits_that_no_longer_apply_say_where() -> None:
    edit = FileEdit("a.py", "edit", hunks=(("old\n", "new\n"),))
    assert plan([edit], lambda p: "other\n").problem == "a.py: the text of change 1 is not there"
    twice = plan([edit], lambda p: "old\nold\n").problem
    assert twice == "a.py: the text of change 1 is there 2 times"
    assert plan([edit], lambda p: None).problem == "a.py: there is no such file"
    create = FileEdit("b.py", "create", content="x\n")
    assert plan([create], lambda p: "y\n").problem.endswith("exists already (the skill creates it)")
    assert plan([create], lambda p: "x\n").applies  # already there: nothing to do
    gone = FileEdit("c.py", "delete")
    assert plan([gone], lambda p: None).problem == "c.py: it is gone already"
    assert plan([gone], lambda p: "x").files == {"c.py": None}


def test_contract_and_trajectory_files_round_trip(tmp_path: Path) -> None:
    odd = 'say "hi"\\n\n\ttab ünï \x7f end'
    contract = SkillContract(
        params={"module": odd},
        scope=("{module}", "tests/**"),
        max_diff=40,
        rules=("keep: types",),
        accept=(f"pytest -q -k '{odd}'",),
        proved=("task `pytest -q` pass 1.0s",),
        source={"session": "s", "task": "T1"},
    )
    contract.write(tmp_path / "c.toml")
    assert SkillContract.read(tmp_path / "c.toml") == contract
    trajectory = Trajectory(
        {"title": "Fix {module}"},
        [Call(1, "edit_file", {"path": "{module}", "search": odd, "replace": "b"}, True, "ok")],
        [file_edit("{module}", odd.encode(), b"new\n")],
    )
    trajectory.write(tmp_path / "t.jsonl")
    assert Trajectory.read(tmp_path / "t.jsonl") == trajectory
    (tmp_path / "t.jsonl").write_text('{"kind": "call"}\n')
    with pytest.raises(UsageError, match=r"t\.jsonl:1: not a trajectory line"):
        Trajectory.read(tmp_path / "t.jsonl")


def test_certification_is_set_in_the_frontmatter_and_the_rest_kept(tmp_path: Path) -> None:
    folder = tmp_path / "fix-typo"
    front = {
        "name": "fix-typo",
        "description": "Fix: a typo",
        "metadata": {"tether-params": "module"},
    }
    assert write_skill_md(folder, front, "1. Read {module}.\n") == []
    set_metadata(folder, "tether-certified", "openai/fast 9/10 2026-12-02")
    assert validate(folder) == []
    props = read_properties(folder)
    assert props.description == "Fix: a typo"
    assert props.metadata == {
        "tether-params": "module",
        "tether-certified": "openai/fast 9/10 2026-12-02",
    }
    assert (folder / "SKILL.md").read_text().endswith("\n\n1. Read {module}.\n")
    skill = SkillStore(tmp_path, str(tmp_path), tmp_path / "none").get("fix-typo")
    assert skill.params == ("module",) and skill.below(0.8) is None
    assert skill.below(0.95) == Certification("openai/fast", 9, 10, "2026-12-02")
    parsed = Certification.parse_all("local/SmolLM2 135M 0/10 2026-12-01; junk; a 1/2 d")
    assert [c.render() for c in parsed] == ["local/SmolLM2 135M 0/10 2026-12-01", "a 1/2 d"]
    with pytest.raises(UsageError, match="did you mean fix-typo"):
        SkillStore(tmp_path, str(tmp_path), tmp_path / "none").get("fix-tpyo")
