"""``tether plan``, ``tether run``."""

from __future__ import annotations

import typer

from tether.cli.rules_cmd import flag_rules, keep_option, rule_option
from tether.ui.console import out, status_color


def plan(
    goal: str = typer.Argument(..., help="What you want done, in words."),
    run_now: bool = typer.Option(False, "--run", help="Run the tasks at once."),
) -> None:
    """Ask the planner model for small tasks with contracts; append them to PLAN.md."""
    from rich.markup import escape

    from tether.cli.running import run_cancellable
    from tether.workflow.plan import plan_goal
    from tether.workflow.planfile import plan_path
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    tasks = run_cancellable(lambda: plan_goal(ws, goal))
    for task in tasks:
        out().print(f"[bold]{task.id}[/] {escape(task.title)}")
        out().print(
            f"   [dim]scope: {escape(', '.join(task.scope) or 'whole repo')} · "
            f"max diff {task.max_diff} · accept: {escape('; '.join(task.accept))}[/]"
        )
    out().print(f"appended {len(tasks)} task(s) to {plan_path(ws).name}")
    if not run_now:
        out().print("review them, then `tether run --all` (or `tether run T1`)")
        return
    run(task_id=None, run_all=True, keep_going=False, max_steps=None, detached=False)


def run(
    task_id: str | None = typer.Argument(None, help="The task to run (default: the next one)."),
    run_all: bool = typer.Option(False, "--all", help="Run all open tasks in order."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Go on after a failed task."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Steps per context."),
    keep: list[str] = keep_option(),
    rule: list[str] = rule_option(),
    detached: bool = typer.Option(
        False, "--detached", help="Run even though HEAD is detached (no branch)."
    ),
) -> None:
    """Run PLAN.md tasks: the next open one (an interrupted one first), one by id, or --all."""
    from rich.markup import escape

    from tether.cli.running import run_cancellable
    from tether.ui.progress import ProgressPrinter
    from tether.workflow.run import run_plan
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    ws.log.subscribe(ProgressPrinter(out()))
    rules = flag_rules(ws, keep, rule)
    report = run_cancellable(
        lambda: run_plan(ws, task_id, run_all, keep_going, max_steps, detached, rules)
    )
    if not report.results:
        out().print(
            "nothing to run: every task in PLAN.md is done or failed "
            "(`tether status`; `tether plan` adds tasks)"
        )
        return
    for tid, status, reason in report.results:
        color = status_color(status)
        out().print(f"[bold {color}]{tid} {status}[/]: {escape(reason)}")
    if report.interrupted:
        raise typer.Exit(130)
    if report.failed:
        raise typer.Exit(1)
