"""``tether report``: one self-contained HTML page per session
(``.tether/sessions/<id>/report.html``): inline CSS, plotly.js inline, screenshots as
data URIs, no request leaves the page; it works from file://."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tether.memory.locations import memory_file
from tether.memory.progress_md import ParsedEntry, parse_progress
from tether.report import charts
from tether.report.review import ReviewLoad, review_load
from tether.report.session import Session, TaskRun
from tether.report.tasks import gates_table, task_section
from tether.vcs.diff import unified_diff
from tether.vcs.git import Git, GitError
from tether.workspace import Workspace

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1d1d1f}
header{padding:16px 24px;background:#1d1d1f;color:#fff}h1{margin:0 0 4px;font-size:19px}
.meta{opacity:.75;font-size:12px}main{padding:8px 24px 32px;max-width:1200px}
section{background:#fff;border-radius:10px;padding:12px 16px;margin:14px 0;
box-shadow:0 1px 3px #0002}h2{font-size:16px;margin:4px 0 8px}h3{font-size:14px;margin:12px 0 4px}
table{border-collapse:collapse;font-size:12.5px;margin:4px 0}td,th{padding:2px 10px 2px 0;
text-align:left;border-bottom:1px solid #eee;vertical-align:top}th{color:#555;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#666;font-size:12px}
.pass,.done{color:#2e7d32}.fail,.error,.timeout,.failed{color:#c62828}
.uncovered,.preexisting,.handoff,.interrupted{color:#b26a00}pre{margin:2px 0;font-size:12px;
white-space:pre-wrap;background:#fafafa;padding:4px 6px;border-radius:4px}
.diff{overflow:auto;max-height:520px;border:1px solid #eee;border-radius:6px;font-size:12px}
.diff pre{background:none}.hunk{border-top:1px dashed #ddd;padding:2px 6px}
.why{font-size:12px}.why.no{color:#b26a00}img{max-width:480px;border:1px solid #ddd}
.task{border-left:5px solid #bbb}.task.done{border-left-color:#2e9d4a}
.task.failed{border-left-color:#c8372d}.chart{margin:6px 0 14px}
"""


@dataclass
class Written:
    path: Path
    charts: bool


def write_report(ws: Workspace, session: Session) -> Written:
    drawn = charts.draw(session)
    page = render(ws, session, drawn)
    path = session.folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return Written(path, drawn is not None)


def render(ws: Workspace, session: Session, drawn: list[charts.Chart] | None) -> str:
    git = Git(ws.root)
    ledger = _ledger(ws)
    loads = {id(task): _load(git, task) for task in session.tasks}
    body = [
        _totals(session, list(loads.values())),
        _charts(drawn),
        *(
            task_section(task, index, loads[id(task)], _entry(ledger, session, task))
            for index, task in enumerate(session.tasks, 1)
        ),
        _outside(session),
        _variants(ws, session),
    ]
    started = datetime.fromtimestamp(session.started).strftime("%Y-%m-%d %H:%M:%S")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>tether report · {html.escape(session.id)}</title><style>{CSS}</style>"
        f'</head><body data-session="{html.escape(session.id)}"><header>'
        f"<h1>tether report · {html.escape(session.command or 'session')}</h1>"
        f'<div class="meta">session <span class="id">{html.escape(session.id)}</span> · '
        f"started {started} · {session.split().wall:.1f}s · "
        f"{html.escape(session.outcome())}</div></header><main>"
        + "".join(body)
        + "</main></body></html>"
    )


def _totals(session: Session, loads: list[ReviewLoad]) -> str:
    split = session.split()
    shares = split.shares()
    rows = [
        ("model", split.model, "every model call (planner and reviewer too)"),
        ("tools", split.tools, "the commands and edits the model asked for"),
        ("gates", split.gates, "fix, step and task tier (each tier's own wall time)"),
        (
            "tether",
            split.tether,
            f"guard {split.guard:.2f}s, the loop, between tasks, exit {split.exit:.2f}s",
        ),
        ("start-up", split.startup, "from the process's spawn to its first work"),
    ]
    table = "".join(
        f'<tr><th>{name}</th><td class="num">{seconds:.2f}s</td>'
        f'<td class="num">{shares[name]:.0%}</td><td class="note">{html.escape(why)}</td></tr>'
        for name, seconds, why in rows
    )
    tokens_in, cached, tokens_out = session.tokens()
    share = f"{cached / tokens_in:.0%}" if tokens_in else "-"
    counts = session.counts()
    lines = sum(load.lines for load in loads)
    hunks = sum(len(load.hunks) for load in loads)
    explained = sum(load.explained for load in loads)
    files = len({f for load in loads for f in load.files})
    return (
        '<section id="totals"><h2>Totals</h2><table>'
        f'<tr><th>wall</th><td class="num">{split.wall:.2f}s</td><td class="num">100%</td>'
        f"<td></td></tr>{table}</table>"
        f'<p id="counts">{len(session.tasks)} task context(s): {counts["done"]} done, '
        f"{counts['failed']} failed, {counts['handoff']} handed off · "
        f"{len(session.steps())} step(s) · {len(session.calls)} model call(s)</p>"
        f'<p id="tokens">tokens: {tokens_in:,} in, {cached:,} cached ({share}), '
        f"{tokens_out:,} out</p>"
        f'<p id="review">review load: {lines} line(s) to read in {files} file(s), '
        f"{explained} of {hunks} hunk(s) accounted for by the done summary</p></section>"
    )


def _charts(drawn: list[charts.Chart] | None) -> str:
    if drawn is None:
        return (
            '<section id="charts"><p class="note">Charts need plotly: '
            "<code>pip install 'tether[report]'</code>; the tables below have every "
            "figure.</p></section>"
        )
    parts = [
        f'<div class="chart" id="{c.id}-chart" data-series="{html.escape("|".join(c.series))}">'
        f"{c.html}</div>"
        for c in drawn
    ]
    return '<section id="charts"><h2>Charts</h2>' + "".join(parts) + "</section>"


def _load(git: Git, task: TaskRun) -> ReviewLoad:
    base, final = task.end.get("base_tree"), task.end.get("final_tree")
    if not base or not final:
        return ReviewLoad()
    try:
        diff = unified_diff(git, str(base), str(final))
    except GitError:
        return ReviewLoad()  # the trees are gone (a gc after an undo)
    summary = str(task.end.get("summary") or "") if task.status.startswith("done") else ""
    return review_load(diff, summary)


def _ledger(ws: Workspace) -> list[ParsedEntry]:
    path = memory_file(ws.root, ws.config.config, "PROGRESS.md")
    try:
        return parse_progress(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def _entry(ledger: list[ParsedEntry], session: Session, task: TaskRun) -> ParsedEntry | None:
    for entry in reversed(ledger):
        if entry.fields.get("session") == session.id and entry.task_id == task.key:
            return entry
    return None


def _outside(session: Session) -> str:
    """Gates that ran outside any task (``tether verify``, a pick's gates)."""
    inside = {id(g) for task in session.tasks for g in task.gates}
    gates = [g for g in session.gates if id(g) not in inside]
    if not gates:
        return ""
    return (
        '<section id="gates-outside"><h2>Gates outside a task</h2>'
        + gates_table(gates)
        + ("</section>")
    )


def _variants(ws: Workspace, session: Session) -> str:
    runs = [e for e in session.events if e.get("type") == "variants_start"]
    if not runs:
        return ""
    items = []
    for event in runs:
        run = str(event.get("run"))
        gallery = ws.layout.run(run) / "index.html"
        link = (
            f'<a href="{html.escape(gallery.as_uri())}">the gallery</a>'
            if gallery.is_file()
            else "no gallery on disk"
        )
        items.append(
            f"<li>run {html.escape(run)}: {event.get('count')} variant(s) of base "
            f"{str(event.get('base'))[:10]} · {link}</li>"
        )
    return '<section id="variants"><h2>Variants</h2><ul>' + "".join(items) + "</ul></section>"
