"""``tether do``, ``tether undo``, ``tether checkpoints``."""

from __future__ import annotations

import typer

from tether.cli.rules_cmd import flag_rules, keep_option, rule_option
from tether.ui.console import Listener, out


def do(
    instruction: str = typer.Argument(..., help="What to do, in words."),
    scope: list[str] = typer.Option(
        [],
        "--scope",
        help="Glob of paths the task may change (repeatable; default: the whole repo).",
    ),
    protect: list[str] = typer.Option(
        [], "--protect", help="Glob of paths it must not change (repeatable)."
    ),
    max_diff: int | None = typer.Option(
        None, "--max-diff", min=1, help="Max added+removed lines (default from config)."
    ),
    allow_delete: bool = typer.Option(False, "--allow-delete", help="Let the task delete files."),
    keep: list[str] = keep_option(),
    rule: list[str] = rule_option(),
    max_steps: int | None = typer.Option(
        None, "--max-steps", min=1, help="Max model calls (default from config)."
    ),
    role: str = typer.Option("executor", "--role", help="Model role to use."),
    commit: bool = typer.Option(True, "--commit/--no-commit", help="Commit the task on success."),
    detached: bool = typer.Option(
        False, "--detached", help="Run even though HEAD is detached (no branch)."
    ),
) -> None:
    """Carry out one bounded task under a contract (exit 0 done, 1 not, 2 bad input, 130).

    Example: tether do "Add a --json flag to list" --scope 'src/app/**' --keep types
    """
    from tether.cli.running import run_cancellable
    from tether.ui.console import made_at_first_event
    from tether.workflow.do import do_task
    from tether.workflow.tasks import TaskFlags
    from tether.workspace import Workspace

    workspace = Workspace.open(need_repo=True)
    workspace.log.subscribe(made_at_first_event(_progress))
    flags = TaskFlags(
        scope=tuple(scope),
        protect=tuple(protect),
        max_diff=max_diff,
        allow_delete=allow_delete or None,
        max_steps=max_steps,
        rules=flag_rules(workspace, keep, rule),
    )
    result = run_cancellable(lambda: do_task(workspace, instruction, flags, role, commit, detached))
    report(result)
    raise typer.Exit(result.status.exit_code)


def _progress() -> Listener:
    from tether.ui.progress import ProgressPrinter

    return ProgressPrinter(out())


def report(result: object) -> None:
    from rich.markup import escape

    from tether.agent.outcomes import TaskResult, TaskStatus
    from tether.workflow.failure import rollback_note

    assert isinstance(result, TaskResult)
    tokens = result.tokens
    share = f"{tokens.cached / tokens.input:.0%}" if tokens.input else "-"
    out().print(
        f"[dim]{result.steps} steps · {result.seconds:.1f}s · {tokens.input:,} prompt "
        f"tokens ({share} cached) · {tokens.output:,} output tokens · "
        f"{len(result.changed)} file(s) changed[/]"
    )
    if result.summary:
        out().print(f"[dim]summary:[/] {escape(result.summary[:500])}")
    commit = f" (commit {result.commit[:10]})" if result.commit else ""
    if result.status is TaskStatus.DONE:
        out().print(f"[bold green]done[/]: {escape(result.reason)}{commit}")
    elif result.status is TaskStatus.UNVERIFIED:
        out().print(
            f"[bold yellow]done, unverified[/]: {escape(result.reason)}{commit}; add a "
            "`## task` gate to VERIFY.md (`tether init` writes one) so done needs evidence"
        )
    elif result.status is TaskStatus.NOTHING_CHANGED:
        out().print(f"[bold red]nothing changed[/]: {escape(result.reason)}")
    elif result.status is TaskStatus.INTERRUPTED:
        out().print(
            f"[bold yellow]interrupted[/]: {escape(result.reason)}; the tree is kept as "
            "it was; `tether undo` restores the state before the task"
        )
    elif result.rollback is not None:
        out().print(
            f"[bold red]not done[/]: {escape(result.reason)}. "
            + escape(rollback_note(result.rollback))
        )
    else:
        out().print(
            f"[bold red]not done[/]: {escape(result.reason)}; `tether undo` restores "
            "the state before the task"
        )


def undo(
    step: bool = typer.Option(False, "--step", help="Only undo the last step."),
    to: str | None = typer.Option(
        None, "--to", help="Restore this checkpoint (see `tether checkpoints`)."
    ),
) -> None:
    """Restore the tree to before the last task (or --step); the current state is saved first."""
    from tether.workflow.undoing import undo_last
    from tether.workspace import Workspace

    undone = undo_last(Workspace.open(need_repo=True), step=step, to=to)
    result = undone.result
    if undone.reopened:
        out().print(f"{undone.reopened} is open again in PLAN.md")
    what = f"{result.target.kind} checkpoint {result.target.sha[:10]}"
    out().print(f"restored {len(result.restored)} file(s) to the {what}")
    if result.uncommitted:
        out().print(f"moved the branch back over {result.uncommitted[:10]}")
    out().print(f"the state before this undo is saved: `tether undo --to {result.saved.sha[:10]}`")


def checkpoints(
    limit: int = typer.Option(20, "--limit", "-n", help="How many to show."),
    prune: bool = typer.Option(
        False, "--prune", help="Drop checkpoints and snapshots older than --older-than."
    ),
    older_than: float = typer.Option(
        14.0, "--older-than", min=0, metavar="DAYS", help="With --prune: age to drop."
    ),
) -> None:
    """List tether's checkpoints in this work tree, newest first (--prune frees old ones)."""
    from rich.markup import escape
    from rich.table import Table

    if prune:
        prune_checkpoints(older_than)
        return
    from tether.workflow.undoing import history
    from tether.workspace import Workspace

    found = history(Workspace.open(need_repo=True), limit)
    if not found:
        out().print("no checkpoints yet")
        return
    table = Table(title_justify="left")
    for column in ("checkpoint", "time", "kind", "step", "task", "session"):
        table.add_column(column)
    for cp in found:
        table.add_row(
            cp.sha[:10],
            cp.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            cp.kind,
            str(cp.step) if cp.step else "",
            escape(cp.task[:50]),
            cp.session,
        )
    out().print(table)


def prune_checkpoints(older_than: float) -> None:
    from tether.vcs.git import Git
    from tether.vcs.prune import prune
    from tether.workspace import Workspace, work_tree_lock

    workspace = Workspace.open(need_repo=True)
    with work_tree_lock(workspace.root):
        result = prune(Git(workspace.root), older_than)
    out().print(
        f"pruned {result.checkpoints_dropped} checkpoint(s) and {result.refs_deleted} "
        f"snapshot/run ref(s) older than {older_than:g} day(s); .git: "
        f"{result.kib_before / 1024:.1f} MB → {result.kib_after / 1024:.1f} MB"
    )
