"""PLAN.md and PROGRESS.md: golden renders, round trips, errors with lines, fuzzing.

Regenerate the golden files after an intended format change with:
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_memory_files.py
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.errors import UsageError
from tether.gates.results import GateResult
from tether.memory.plan_md import PlanError, parse_plan, task_from_contract
from tether.memory.progress_md import (
    LedgerEntry,
    ModelUse,
    append_entry,
    handoff_notes,
    parse_progress,
)

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from its golden copy"


def test_canonical_plan_round_trips_byte_for_byte() -> None:
    text = (GOLDEN / "PLAN.md").read_text()
    plan = parse_plan(text)
    assert plan.render() == text
    t2 = plan.get("T2")
    assert t2 is not None
    assert t2.status == "failed" and t2.model == "smart-model" and t2.max_steps == 12
    assert t2.accept == ("pytest -q tests/test_cli.py", "ruff check src/app/cli.py")
    with pytest.raises(UsageError) as caught:
        parse_plan(text.replace("  - model: smart-model", "  - owner: sam"), "PLAN.md")
    assert "unknown task detail 'owner'" in caught.value.render() and "PLAN.md:18" in str(
        caught.value
    )
    assert [t.status for t in plan.tasks] == ["done", "failed", "open", "in_progress", "open"]


def test_plan_edits_render_canonically() -> None:
    plan = parse_plan((GOLDEN / "PLAN.md").read_text())
    t3 = plan.get("T3")
    assert t3 is not None
    t3.status = "done"
    plan.insert_after(
        "T2",
        task_from_contract(
            plan.follow_up_id("T2"),
            "Fix: again",
            scope=["src/app/cli.py"],
            protect=[],
            max_diff=40,
            accept=["pytest -q"],
        ),
    )
    plan.append_section(
        "Next goal",
        [
            task_from_contract(
                f"T{plan.next_number()}",
                "New work",
                scope=["a.py"],
                protect=["b.py"],
                max_diff=5,
                accept=["make test"],
                notes="keep it   short",
            )
        ],
    )
    golden("PLAN.edited.md", plan.render())


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("# PLAN\n- [?] T1: odd\n", 2, "unknown status box"),
        ("- [ ] T1 no colon\n", 1, "malformed task line"),
        ("- [ ]T1: squashed\n", 1, "malformed task line"),
        ("- [ ] T1: a\n  - max-diff: lots\n", 2, "positive whole number"),
        ("- [ ] T1: a\n  - max-steps: 0\n", 2, "positive whole number"),
        ("- [ ] T1: a\n  - scope:\n", 2, "scope is empty"),
        ("- [ ] T1: a\n- [ ] T1: b\n", 2, "used twice"),
        ("Some text\n  - scope: x\n", 2, "outside a task"),
    ],
)
def test_plan_errors_carry_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text)
    assert caught.value.where == f"PLAN.md:{line}" and words in caught.value.render()


PLAN_LINES = st.sampled_from(
    [
        "# PLAN",
        "## goal",
        "- [ ] T1: a",
        "- [x] T2: b",
        "- [!] T3: c",
        "- [~] T1.1: d",
        "  - scope: a.py, b/**",
        "  - max-diff: 10",
        "  - max-diff: x",
        "  - accept: make",
        "  - notes: n",
        "  - weird: kept",
        "- [ ] T9:",
        "- [",
        "  - ",
        "text",
        "",
        "- [X] T4: upper",
        "* [ ] T5: star",
        "  - scope:",
        "-  [ ] T6: spaced",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(PLAN_LINES, st.text(max_size=30)), max_size=25))
def test_no_plan_input_crashes_the_parser(lines: list[str]) -> None:
    text = "\n".join(lines)
    try:
        plan = parse_plan(text)
    except PlanError as exc:
        assert exc.where is not None and re.fullmatch(r"PLAN\.md:\d+", exc.where)
        assert 1 <= int(exc.where.split(":")[1]) <= max(1, text.count("\n") + 1)
        return
    again = parse_plan(plan.render())
    assert [(t.id, t.status, t.items) for t in again.tasks] == [
        (t.id, t.status, t.items) for t in plan.tasks
    ]


def entry(status: str, attempt: int = 1) -> LedgerEntry:
    return LedgerEntry(
        task_id="T2",
        attempt=attempt,
        status=status,
        time=datetime(2026, 11, 30, 9, 30, 12, tzinfo=UTC),
        session="20261130-093012-ab12",
        title="Add a --json flag to `list`",
        steps=7,
        models=[ModelUse("fast-model", "openai", 12_345, 11_000, 678)],
        gates=[
            GateResult("pytest -q -x {affected_tests}", "step", "command", "pass", 0.81, ""),
            GateResult(
                "pytest -q", "task", "command", (status == "done" and "pass") or "fail", 2.14, ""
            ),
        ],
        commit="0123456789abcdef" if status == "done" else "",
        files=["src/app/cli.py", "tests/test_cli.py"],
        done="added the flag" if status == "done" else "added the flag, test fails",
        remains="nothing" if status == "done" else "the JSON keys are unsorted",
        must_know="" if status == "done" else "sort keys in format_json()",
    )


def test_progress_ledger_golden_and_append_only(tmp_path: Path) -> None:
    path = tmp_path / "PROGRESS.md"
    append_entry(path, entry("failed"))
    path.write_text(path.read_text().replace("The ledger", "My own note.\n\nThe ledger"))
    append_entry(path, entry("done", attempt=2))
    text = path.read_text()
    golden("PROGRESS.md", text)
    assert "My own note." in text, "hand edits above the last entry are kept"
    parsed = parse_progress(text)
    assert [(e.task_id, e.attempt, e.status) for e in parsed] == [
        ("T2", 1, "failed"),
        ("T2", 2, "done"),
    ]
    notes = handoff_notes(parsed, "T2")
    assert "remains: the JSON keys are unsorted" in notes
    assert "must know: sort keys in format_json()" in notes
