"""``tether verify``: run the gates now and print a readiness report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tether.ui.console import note, out

if TYPE_CHECKING:
    from rich.table import Table

    from tether.gates.results import GateResult


def verify(
    tier: str = typer.Option(
        "all",
        "--tier",
        help="step, task, all (step and task), or fix (run the ## fix commands on the "
        "changed files: they edit them).",
    ),
    changed_since: str = typer.Option(
        "HEAD", "--changed-since", metavar="REV", help="Check the changes since this commit."
    ),
) -> None:
    """Run VERIFY.md's gates on the current changes; exit 0 only if every gate passed."""
    import asyncio

    from tether.cli.running import settle_heap
    from tether.errors import UsageError
    from tether.gates.suite import GateSuite
    from tether.workflow.readiness import verify_now
    from tether.workspace import Workspace

    if tier not in ("fix", "step", "task", "all"):
        raise UsageError(f"unknown tier {tier!r}", hint="use step, task, all or fix")
    workspace = Workspace.open(need_repo=True)
    config = workspace.config.config
    if GateSuite.load(workspace.root, config).needs_review:
        note("review gates are skipped by `tether verify` (they need a task and a model)")
    tiers = ["step", "task"] if tier == "all" else [tier]
    evidence = workspace.evidence_dir
    settle_heap()
    results = asyncio.run(
        verify_now(workspace.root, config, workspace.log, evidence, tiers, since=changed_since)
    )
    out().print(_table(results, workspace.root))
    _verdict(results)


def _table(results: list[GateResult], root: Path) -> Table:
    import os

    from rich.markup import escape
    from rich.table import Table

    from tether.ui.progress import STATUS_COLORS

    table = Table(title="readiness", title_justify="left")
    for column in ("tier", "gate", "status", "seconds", "summary", "full output"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for r in results:
        color = STATUS_COLORS.get(r.status, "red")
        where = r.evidence or r.log_path
        shown = os.path.relpath(where, root) if where else "-"
        table.add_row(
            r.tier,
            escape(r.gate),
            f"[{color}]{r.status}[/]",
            f"{r.seconds:.2f}",
            escape(r.summary),
            escape(shown),
        )
    return table


def _verdict(results: list[GateResult]) -> None:
    """Ready, ready with gaps (nothing failed, something no test covers), or not (exit 1)."""
    from rich.markup import escape

    failing = [r for r in results if not r.ok]
    if failing:
        out().print(f"[bold red]not ready[/]: {len(failing)} of {len(results)} gate(s) failed")
        raise typer.Exit(1)
    gaps = sorted({u for r in results for u in r.uncovered})
    if gaps:
        shown = ", ".join(gaps[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else "")
        out().print(f"[bold yellow]ready, with gaps[/]: no test covers {escape(shown)}")
        return
    out().print(f"[bold green]ready[/]: {len(results)} gate(s) passed or had nothing to check")
