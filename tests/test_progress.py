"""The live progress lines: what a supervisor sees between a fast model's steps."""

from __future__ import annotations

import io

from rich.console import Console

from tether.ui.progress import ProgressPrinter


def _printer() -> tuple[ProgressPrinter, io.StringIO]:
    out = io.StringIO()
    return ProgressPrinter(Console(file=out, width=200, color_system=None), live=False), out


def test_the_context_meter_is_shown_when_it_enters_a_new_tenth_not_every_step() -> None:
    printer, out = _printer()
    for step, used in enumerate([1_000, 3_000, 12_000, 15_000, 19_999, 31_000, 95_000], 1):
        printer({"type": "context", "step": step, "used": used, "limit": 100_000})
    lines = [line for line in out.getvalue().splitlines() if "context" in line]
    assert [line.split("context ")[1].split(" of")[0] for line in lines] == [
        "1,000",
        "12,000",
        "31,000",
        "95,000",
    ]
    assert "(12%)" in lines[1]


def test_every_step_has_its_line() -> None:
    printer, out = _printer()
    for step in (1, 2, 3):
        tools = [{"name": "read_file", "ok": True, "summary": f"f{step}.py"}]
        printer({"type": "step", "step": step, "tools": tools, "model_s": 0.05})
    assert [line.split("│")[1].strip() for line in out.getvalue().splitlines()] == [
        "read_file f1.py ✓",
        "read_file f2.py ✓",
        "read_file f3.py ✓",
    ]
