"""One task's part of the report: how it ended, its contract, its steps, the gate
evidence, the review load with each hunk's explanation, the diff and the ledger entry."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer

from tether.memory.progress_md import ParsedEntry
from tether.report.review import Hunk, ReviewLoad
from tether.report.session import Step, TaskRun

e = html.escape


def task_section(task: TaskRun, index: int, load: ReviewLoad, entry: ParsedEntry | None) -> str:
    status = task.status
    kind = "done" if status.startswith("done") else "failed" if status != "handoff" else ""
    tokens_in, cached, tokens_out = task.tokens()
    share = f"{cached / tokens_in:.0%}" if tokens_in else "-"
    handoff = f'<p class="handoff">handed off: {e(task.handoff)}</p>' if task.handoff else ""
    return (
        f'<section class="task {kind}" id="task-{index}" data-steps="{len(task.steps)}">'
        f'<h2>{e(task.key)} · {e(task.title)} · <span class="{e(status)}">{e(status)}</span>'
        f"</h2><p>{e(str(task.end.get('reason') or 'no task end on record'))} · "
        f"{len(task.steps)} step(s) · {task.seconds:.2f}s · {tokens_in:,} tokens in "
        f"({share} cached), {tokens_out:,} out · model {e(str(task.start.get('model')))}</p>"
        f"{handoff}{_summary(task)}{_contract(task.start.get('contract') or {})}"
        f"{_steps(task)}{_gates(task.gates)}{_review(load)}{_ledger(entry)}</section>"
    )


def _summary(task: TaskRun) -> str:
    summary = str(task.end.get("summary") or "")
    return f"<h3>Done summary</h3><pre>{e(summary)}</pre>" if summary else ""


def _contract(contract: dict[str, Any]) -> str:
    rows = [
        ("scope", ", ".join(contract.get("scope") or []) or "the whole repository"),
        ("protect", ", ".join(contract.get("protect") or []) or "-"),
        ("max diff", f"{contract.get('max_diff')} lines"),
        ("deletes", "allowed" if contract.get("allow_delete") else "not allowed"),
        ("rules", " · ".join(contract.get("rules") or []) or "-"),
        ("accept", " · ".join(contract.get("accept") or []) or "-"),
    ]
    cells = "".join(f"<tr><th>{k}</th><td>{e(str(v))}</td></tr>" for k, v in rows)
    return f'<h3>Contract</h3><table class="contract">{cells}</table>'


def _steps(task: TaskRun) -> str:
    if not task.steps:
        return '<p class="note">no step on record</p>'
    head = (
        "<tr><th>step</th><th>tools</th><th class=num>model</th><th class=num>TTFT</th>"
        "<th class=num>tok/s</th><th class=num>in</th><th class=num>cached</th>"
        "<th class=num>out</th><th class=num>tools</th><th class=num>guard</th>"
        "<th class=num>gates</th><th class=num>tether</th><th>guard verdict</th></tr>"
    )
    return (
        '<h3>Steps</h3><table class="steps">'
        + head
        + "".join(_step_row(step) for step in task.steps)
        + "</table>"
    )


def _step_row(step: Step) -> str:
    ev = step.event
    tools = (
        ", ".join(
            f"{t.get('name')}{'' if t.get('ok') else ' ✗'} {t.get('summary') or ''}".strip()
            for t in step.tools
        )
        or "(no tool call)"
    )
    verdict = "; ".join(f"{v.get('rule')}: {v.get('detail')}" for v in step.violations)
    if step.rolled_back:
        verdict = (verdict + " · rolled back").lstrip(" ·")
    nums = [
        f"{step.seconds('model_s'):.3f}s",
        f"{step.seconds('ttft_s'):.3f}s",
        f"{float(ev.get('output_tps') or 0):,.0f}",
        f"{int(ev.get('input_tokens') or 0):,}",
        f"{int(ev.get('cached_tokens') or 0):,}",
        f"{int(ev.get('output_tokens') or 0):,}",
        f"{step.seconds('tools_s'):.3f}s",
        f"{step.seconds('guard_s'):.3f}s",
        f"{step.gates_s:.3f}s",
        f"{step.seconds('harness_s'):.4f}s",
    ]
    cells = "".join(f'<td class="num">{n}</td>' for n in nums)
    mark = ' class="violation"' if step.violations else ""
    return (
        f"<tr{mark}><td>{step.number}</td><td>{e(tools[:300])}</td>{cells}"
        f"<td>{e(verdict or 'kept')}</td></tr>"
    )


def _gates(gates: list[dict[str, Any]]) -> str:
    if not gates:
        return '<h3>Gate evidence</h3><p class="note">no gate ran</p>'
    return f"<h3>Gate evidence</h3>{gates_table(gates)}"


def gates_table(gates: list[dict[str, Any]]) -> str:
    """Each gate: tier, command, who asked, status, seconds, condensed output, screenshot."""
    rows = []
    for gate in in_order(gates):
        status = str(gate.get("status"))
        asked = gate.get("asked_by") or []
        asked_note = f" (asked by {' and '.join(asked)}, run once)" if len(asked) > 1 else ""
        detail = str(gate.get("details") or "")
        rows.append(
            f"<tr><td>{e(str(gate.get('tier')))}</td><td><code>{e(str(gate.get('gate')))}"
            f'</code>{e(asked_note)}</td><td class="{e(status)}">{e(status)}</td>'
            f'<td class="num">{float(gate.get("seconds") or 0):.2f}s</td>'
            f"<td>{e(str(gate.get('summary') or ''))}"
            + (f"<pre>{e(detail[:1500])}</pre>" if detail else "")
            + _image(str(gate.get("evidence") or ""))
            + "</td></tr>"
        )
    head = (
        "<tr><th>tier</th><th>gate</th><th>status</th><th class=num>time</th><th>output</th></tr>"
    )
    return f'<table class="gates">{head}{"".join(rows)}</table>'


def in_order(gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gates as they ran, tier run by tier run; inside one (run in parallel, ended in
    any order) by name."""
    runs: list[list[dict[str, Any]]] = []
    for gate in gates:
        if runs and runs[-1][0].get("tier") == gate.get("tier"):
            runs[-1].append(gate)
        else:
            runs.append([gate])
    return [g for run in runs for g in sorted(run, key=lambda g: str(g.get("gate")))]


def _review(load: ReviewLoad) -> str:
    if not load.hunks:
        return '<h3>Review load</h3><p class="note">nothing to review: no change on record</p>'
    parts = [
        f'<h3>Review load</h3><p class="load">{load.lines} line(s) to read in '
        f"{len(load.files)} file(s) ({e(', '.join(load.files))}); {load.explained} of "
        f'{len(load.hunks)} hunk(s) accounted for by the done summary</p><div class="diff">'
    ]
    formatter = HtmlFormatter(noclasses=True)
    for hunk in load.hunks:
        parts.append(
            f'<div class="hunk">{_why(hunk)}{highlight(hunk.text, DiffLexer(), formatter)}</div>'
        )
    return "".join(parts) + "</div>"


def _why(hunk: Hunk) -> str:
    where = f"{e(hunk.path)}:{hunk.start} · +{hunk.added} −{hunk.removed}"
    if hunk.explained_by:
        said = ", ".join(hunk.explained_by[:4])
        return (
            f'<div class="why yes">hunk {hunk.number} · {where} · the summary names {e(said)}</div>'
        )
    return f'<div class="why no">hunk {hunk.number} · {where} · not in the done summary</div>'


def _ledger(entry: ParsedEntry | None) -> str:
    if entry is None:
        return ""
    lines = [f"## {entry.task_id} · attempt {entry.attempt} · {entry.status} · {entry.time}"]
    lines += [f"- {k}: {v}" for k, v in entry.fields.items()]
    return f'<h3>Ledger entry (PROGRESS.md)</h3><pre class="ledger">{e(chr(10).join(lines))}</pre>'


def _image(path: str) -> str:
    """A screenshot as a data URI (the page must not depend on files beside it)."""
    file = Path(path)
    if not path or not file.is_file() or file.suffix.lower() != ".png":
        return ""
    data = base64.b64encode(file.read_bytes()).decode()
    return f'<img alt="screenshot {e(file.name)}" src="data:image/png;base64,{data}">'
