"""What ``tether status`` and ``tether sessions`` print."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from tether.report.session import Session, Split, load_session
from tether.telemetry import sessions

if TYPE_CHECKING:
    from rich.console import Console

    from tether.report.sessions import Pruned
    from tether.workflow.status import Status

MARKS = {"done": "[green]x[/]", "open": " ", "in_progress": "[yellow]~[/]", "failed": "[red]![/]"}


def print_status(console: Console, info: Status) -> None:
    counts = info.counts()
    console.print(
        f"[bold]plan[/]: {counts['done']} done · {counts['in_progress']} in progress · "
        f"{counts['open']} open · {counts['failed']} failed"
    )
    for task in info.plan.tasks:
        console.print(f"  [{MARKS[task.status]}] {task.id}: {escape(task.title)}")
    if info.session is None:
        console.print("[dim]no session has run a task yet[/]")
    else:
        print_session(console, info.session)
    for role, event in sorted(info.speeds.items()):
        console.print(speed_line(role, event))


def print_session(console: Console, session: Session) -> None:
    split = session.split()
    console.print(
        f"[bold]last run[/] {session.id}: {escape(session.command)} · "
        f"{split.wall:.1f}s · {escape(session.outcome())}"
    )
    console.print(f"  time: {split_line(split)}")
    tokens_in, cached, tokens_out = session.tokens()
    share = f"{cached / tokens_in:.0%}" if tokens_in else "-"
    console.print(
        f"  tokens: {tokens_in:,} in ({share} cached) · {tokens_out:,} out · "
        f"{len(session.calls)} model call(s)"
    )
    c = session.counts()
    other = f" · {c['other']} cut off or interrupted" if c["other"] else ""
    console.print(
        f"  tasks: {c['done']} done · {c['failed']} failed · {c['handoff']} handed off{other} "
        f"· {len(session.steps())} step(s)   [dim](`tether report` draws it)[/]"
    )


def split_line(split: Split) -> str:
    shares = split.shares()
    parts = [
        f"{name} {getattr(split, attr):.1f}s ({shares[name]:.0%})"
        for name, attr in (
            ("model", "model"),
            ("tools", "tools"),
            ("gates", "gates"),
            ("tether", "tether"),
            ("start-up", "startup"),
        )
    ]
    of_tether = f"exit {split.exit:.2f}s, guard {split.guard:.2f}s"
    return " · ".join(parts) + f" [dim](of tether: {of_tether})[/]"


def speed_line(role: str, event: dict[str, Any]) -> str:
    inp = int(event.get("input_tokens") or 0)
    share = f"{int(event.get('cached_tokens') or 0) / inp:.0%}" if inp else "-"
    return (
        f"[bold]{escape(role)}[/] {escape(str(event.get('model')))}: TTFT "
        f"{float(event.get('ttft_s') or 0):.2f}s · "
        f"{float(event.get('output_tps') or 0):,.0f} tok/s · {share} cached "
        f"[dim](newest call, {escape(str(event.get('ts')))})[/]"
    )


def print_sessions(console: Console, root: Path, limit: int) -> None:
    found = sessions(root)
    if not found:
        console.print("no sessions yet (`tether do`, `tether run` start one)")
        return
    for folder in reversed(found[-limit:]):
        console.print(session_line(load_session(folder)), soft_wrap=True)
    if len(found) > limit:
        console.print(f"[dim]… and {len(found) - limit} older (`--limit`, `--prune`)[/]")


def session_line(session: Session) -> str:
    started = datetime.fromtimestamp(session.started).strftime("%Y-%m-%d %H:%M")
    tasks = len(session.tasks)
    c = session.counts()
    how = f"{tasks} task(s): {c['done']} done, {c['failed']} failed" if tasks else "no task"
    if c["handoff"]:
        how += f", {c['handoff']} handoff(s)"
    outcome = session.outcome()
    color = "green" if outcome == "ok" else "yellow" if outcome == "interrupted" else "red"
    return (
        f"{started}  [bold]{session.id}[/]  {escape(session.command[:60]):<40}  {how} · "
        f"{session.split().wall:.1f}s · [{color}]{escape(outcome)}[/]"
    )


def print_pruned(console: Console, pruned: Pruned) -> None:
    console.print(
        f"removed {len(pruned.removed)} session(s), {pruned.freed_bytes / 1e6:.1f} MB; "
        f"kept {pruned.kept}"
    )
    for name in pruned.running:
        console.print(f"[yellow]kept {name}: its process still runs[/]")
