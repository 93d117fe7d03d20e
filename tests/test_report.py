"""`tether report`: a self-contained page per session, checked in real headless Chromium
from file:// (no request leaves it; tasks, steps and totals match events.jsonl; one drawn
element per chart series; a screenshot), and a golden copy of its text.

Regenerate the golden text after an intended change with:
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_report.py
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_tether
from tests.helpers import model_env, tool
from tests.test_plan_run import FUNCS, make_calc
from tests.test_status import plan_of_three
from tether.telemetry import read_events, sessions
from tether.testing.server import ScriptedServer

GOLDEN = Path(__file__).parent / "golden" / "report.txt"


def edit(name: str) -> dict[str, Any]:
    body = FUNCS[name]
    return tool(
        "edit_file",
        path="calc.py",
        search="# more\n",
        replace=f"def {name}(a, b):\n    return {body}\n\n\n# more\n",
    )


def script() -> dict[str, Any]:
    """T1 first writes outside its scope (a violation, rolled back), then does it; T2 and
    T3 edit at once. The done summaries name what they changed, or do not (T3)."""
    said = {
        "sub": "added sub(a, b) to calc.py",
        "mul": "mul returns the product",
        "div": "done as asked",
    }
    first = [{"when": "Task: Add sub()", **tool("create_file", path="notes.txt", content="x\n")}]
    first += [{"when": f"Task: Add {n}()", **edit(n)} for n in ("mul", "div")]
    second = [{"when": "Task: Add sub()", **edit("sub")}]
    second += [
        {"when": f"Task: Add {n}()", **tool("done", summary=said[n])} for n in ("mul", "div")
    ]
    third = [{"when": "Task: Add sub()", **tool("done", summary=said["sub"])}]
    return {"models": {"exec": [{"cases": first}, {"cases": second}, {"cases": third}]}}


@pytest.fixture
def reported(repo: Path, scripted: Callable[..., ScriptedServer]) -> tuple[Path, Path]:
    make_calc(repo)
    plan_of_three(repo)
    server = scripted(script(), tps=5000)
    ran = run_tether("run", "--all", cwd=repo, env=model_env(server))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    folder = sessions(repo)[-1]
    run_tether("verify", cwd=repo)  # a newer session that ran no task
    made = run_tether("report", cwd=repo)
    assert made.returncode == 0, made.stdout + made.stderr
    page = folder / "report.html"
    assert f"report: {page}" in made.stdout
    return folder, page


def test_the_report_in_chromium_matches_the_events(
    reported: tuple[Path, Path], tmp_path: Path
) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("TETHER_STRICT_DEPS"):
            pytest.fail("chromium is missing; `make test` installs it (scripts/system-deps.sh)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    from tether.gates.browser import CHROMIUM_ARGS, find_chromium

    folder, page_path = reported
    logged = list(read_events(folder / "events.jsonl"))
    requests: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        page.wait_for_selector("#chart-timeline .trace")
        assert all(u.startswith(("file:", "data:")) for u in requests), requests
        tasks = page.locator("section.task")
        starts = [e for e in logged if e["type"] == "task_start"]
        assert tasks.count() == len(starts) == 3
        steps = sum(int(s) for s in tasks.evaluate_all("ts => ts.map(t => t.dataset.steps)"))
        assert steps == sum(1 for e in logged if e["type"] == "step") == 7
        calls = [e for e in logged if e["type"] == "model_call"]
        counts = page.locator("#counts").inner_text()
        assert f"{steps} step(s) · {len(calls)} model call(s)" in counts
        tokens = page.locator("#tokens").inner_text()
        assert f"{sum(c['input_tokens'] for c in calls):,} in" in tokens
        assert f"{sum(c['output_tokens'] for c in calls):,} out" in tokens
        charts = page.locator("div.chart")
        assert charts.count() == 5
        for chart in charts.all():
            series = (chart.get_attribute("data-series") or "").split("|")
            assert chart.locator(".trace").count() == len(series), chart.get_attribute("id")
        assert "violation" in (page.locator("#timeline-chart").get_attribute("data-series") or "")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        page.evaluate("document.querySelectorAll('.chart').forEach(c => c.remove())")
        text = page.locator("body").inner_text()
        browser.close()
    golden(normalise(text))


def normalise(text: str) -> str:
    """Times, ids, dates, hashes, speeds and token counts vary from run to run."""
    rules = [
        (r"\d{8}-\d{6}-[0-9a-f]{4}", "<session>"),
        (r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?(\.\d+)?( ?UTC|\+00:00)?", "<date>"),
        (r"\b[0-9a-f]{10,40}\b", "<sha>"),
        (r"/tmp/\S+", "<path>"),
        (r"\d+(\.\d+)?s\b", "<t>"),
        (r"\d+(\.\d+)?%", "<pct>"),
        (r"\d[\d,]*(\.\d+)? (tokens|in|out|cached)\b", r"<n> \2"),
        (r"\d[\d,]* (input|output) tokens", r"<n> \1 tokens"),
    ]
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text)
    text = re.sub(r"(?m)^(\d+)\t.*$", lambda m: _step_row(m.group(0)), text)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip() + "\n"


def _step_row(row: str) -> str:
    """A step row: its number, tools and verdict stay; its figures do not."""
    cells = row.split("\t")
    return "\t".join([cells[0], cells[1], *["<n>"] * (len(cells) - 3), cells[-1]])


def golden(text: str) -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "the report's text differs from tests/golden/report.txt"


def test_report_picks_sessions_and_says_what_is_wrong(reported: tuple[Path, Path]) -> None:
    folder, _ = reported
    repo = folder.parents[2]
    newest = run_tether("report", "--last", cwd=repo)
    assert newest.returncode == 0 and sessions(repo)[-1].name in newest.stdout
    by_part = run_tether("report", folder.name[-4:], cwd=repo)
    assert by_part.returncode == 0 and folder.name in by_part.stdout
    missing = run_tether("report", "no-such-session", cwd=repo)
    assert missing.returncode == 2 and "no session matches 'no-such-session'" in missing.stderr
    assert "Traceback" not in missing.stderr
    listed = run_tether("sessions", cwd=repo)
    lines = listed.stdout.strip().splitlines()
    assert folder.name in lines[1] and "tether run --all" in lines[1]
    assert "3 task(s): 3 done, 0 failed" in lines[1] and lines[1].rstrip().endswith("ok")
    assert "tether verify" in lines[0]
    pruned = run_tether("sessions", "--prune", "--keep", "1", cwd=repo)
    assert pruned.returncode == 0 and "removed 1 session(s)" in pruned.stdout
    assert [p.name for p in sessions(repo)] == [lines[0].split()[2]]


def test_without_plotly_a_verify_session_gets_tables(repo: Path, tmp_path: Path) -> None:
    (repo / "VERIFY.md").write_text("# VERIFY\n\n## task\n- `python -c 'print(42)'`\n")
    hidden = tmp_path / "no-plotly"
    (hidden / "plotly").mkdir(parents=True)
    (hidden / "plotly" / "__init__.py").write_text("raise ImportError('not installed')\n")
    assert run_tether("verify", cwd=repo).returncode == 0
    made = run_tether("report", cwd=repo, env={"PYTHONPATH": str(hidden)})
    assert made.returncode == 0, made.stderr
    assert "tables only: the charts need plotly (`pip install 'tether[report]'`)" in made.stdout
    page = (sessions(repo)[-1] / "report.html").read_text()
    assert "<script" not in page and "Charts need plotly" in page
    assert "tether report · tether verify" in page
    assert "Gates outside a task" in page and "print(42)" in page and ">pass<" in page
