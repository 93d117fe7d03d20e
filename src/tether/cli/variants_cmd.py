"""``tether variants``, ``tether runs``, ``tether pick``, ``tether serve``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tether.cli.rules_cmd import flag_rules, keep_option, rule_option
from tether.ui.console import out

if TYPE_CHECKING:
    from tether.agent.task import Task
    from tether.variants.store import RunRecord
    from tether.workflow.tasks import TaskFlags
    from tether.workspace import Workspace


def cluster_option() -> Any:
    return typer.Option(
        None,
        "--cluster",
        help="Run them on Ray: ray://HOST:PORT, HOST:PORT, or auto ($RAY_ADDRESS); "
        "none runs here. Default: [variants] cluster.",
    )


def variants(
    target: str | None = typer.Argument(None, help="An instruction, or a PLAN.md task id."),
    count: int = typer.Option(4, "-n", min=1, max=64, help="How many variants."),
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, help="Variants at once (default: by endpoint)."
    ),
    styles: str = typer.Option("", "--styles", help='Briefs, one per variant: "minimal,bold".'),
    review: bool = typer.Option(False, "--review", help="Score each with the reviewer model."),
    rubric: Path | None = typer.Option(None, "--rubric", help="Weights (TOML/JSON)."),
    scope: list[str] = typer.Option([], "--scope", help="Glob the task may change."),
    protect: list[str] = typer.Option([], "--protect", help="Glob it must not change."),
    max_diff: int | None = typer.Option(None, "--max-diff", min=1),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1),
    keep: list[str] = keep_option(),
    rule: list[str] = rule_option(),
    list_only: bool = typer.Option(False, "--list", help="List runs instead."),
    detached: bool = typer.Option(
        False, "--detached", help="Run even though HEAD is detached (no branch)."
    ),
    cluster: str | None = cluster_option(),
) -> None:
    """Run N attempts at one task in parallel worktrees; gate, score and show them."""
    if list_only or target is None:
        runs(clean=False)
        return

    from tether.cli.running import run_cancellable
    from tether.ui.progress import ProgressPrinter
    from tether.variants.gallery import write_gallery
    from tether.variants.rubric import load_weights
    from tether.variants.run import VariantPlan, run_variants
    from tether.workflow.tasks import TaskFlags
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    flags = TaskFlags(
        scope=tuple(scope),
        protect=tuple(protect),
        max_diff=max_diff,
        max_steps=max_steps,
        rules=flag_rules(ws, keep, rule),
    )
    plan = VariantPlan(
        task=_task_of(ws, target, flags),
        count=count,
        styles=[s.strip() for s in styles.split(",") if s.strip()],
        concurrency=concurrency,
        review=review,
        weights=load_weights(rubric),
        cluster=chosen_cluster(cluster, ws.config.config.variants.cluster),
    )
    console = out()
    if plan.cluster:  # connecting (Ray Client takes seconds) should not look like a hang
        console.print(f"sending {count} variant(s) to the Ray cluster at {plan.cluster}")
    record = run_cancellable(
        lambda: run_variants(
            ws, plan, lambda k: ProgressPrinter(console, prefix=f"[{k}] ", brief=True), detached
        )
    )
    show(record, write_gallery(ws.root, record))


def _task_of(ws: Workspace, target: str, flags: TaskFlags) -> Task:
    """An instruction, or a PLAN.md task id, as the task the variants attempt."""
    from tether.workflow.planfile import load_plan
    from tether.workflow.tasks import TaskFactory

    return TaskFactory(ws.root, ws.config.config).from_target(target, flags, lambda: load_plan(ws))


def chosen_cluster(flag: str | None, configured: str | None) -> str | None:
    """``--cluster`` over ``[variants] cluster``; none (or local) means this machine."""
    chosen = flag if flag is not None else configured
    return None if chosen is None or chosen.strip().lower() in ("", "none", "local") else chosen


def runs(clean: bool = typer.Option(False, "--clean", help="Remove the runs' worktrees.")) -> None:
    """List variants runs; --clean removes their worktrees (the galleries stay)."""
    from rich.markup import escape

    from tether.variants.store import list_runs
    from tether.variants.worktrees import remove_worktrees
    from tether.vcs.git import Git
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    found = list_runs(ws.root)
    if not found:
        out().print('no variants runs yet (`tether variants "..." -n 4`)')
        return
    for run in found:
        best = max(run.variants, key=lambda v: v.score, default=None)
        out().print(
            f"{run.id}  {escape(run.title)} · {len(run.variants)} variants · best "
            f"{best.k if best else '-'} ({best.score if best else '-'})"
            + (f" · picked {run.picked}" if run.picked else "")
        )
        if clean:
            removed = remove_worktrees(Git(ws.root), run.id)
            if removed:
                out().print(f"  removed {removed} worktree(s)")


def pick(
    run: str = typer.Argument(..., help="The run id (a prefix will do)."),
    k: int = typer.Argument(..., help="The variant to take."),
    hunks: str | None = typer.Option(None, "--hunks", help="Only these hunks, e.g. 1,3."),
    keep: bool = typer.Option(False, "--keep", help="Keep the run's worktrees."),
    detached: bool = typer.Option(
        False, "--detached", help="Run even though HEAD is detached (no branch)."
    ),
) -> None:
    """Apply variant K to your tree, re-run the task gates, commit it as one commit."""
    from rich.markup import escape

    from tether.cli.running import run_cancellable
    from tether.variants.pick import parse_hunks
    from tether.variants.pick import pick as run_pick
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    result = run_cancellable(lambda: run_pick(ws, run, k, parse_hunks(hunks), keep, detached))
    for gate in result.gates:
        out().print(f"  gate {gate.status}: {escape(gate.gate)} {escape(gate.summary)}")
    if result.ok:
        out().print(
            f"[bold green]picked[/] variant {k} of {result.run}: commit "
            f"{str(result.committed)[:10]} ({', '.join(result.paths)})"
            + (f"; removed {result.removed} worktree(s)" if result.removed else "")
        )
        return
    out().print(
        "[bold red]not committed[/]: the task gates failed on the picked variant; "
        "its changes are applied to your tree (`tether undo --to` the pre-pick "
        "checkpoint to drop them)"
    )
    raise typer.Exit(1)


def serve(port: int = typer.Option(8766, "--port", help="Port on 127.0.0.1 (0: any).")) -> None:
    """Serve the galleries on 127.0.0.1 with Pick buttons."""
    from tether.cli.running import settle_heap
    from tether.variants.serve import GalleryServer
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    server = GalleryServer(ws, port)
    out().print(f"serving the galleries on {server.url}", soft_wrap=True)
    out().file.flush()
    settle_heap()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        out().print("stopped")
    finally:
        server.server_close()


def show(record: RunRecord, gallery: Path) -> None:
    """The variants, best first, and where to look and pick."""
    from rich.markup import escape

    console = out()
    for v in sorted(record.variants, key=lambda v: -v.score):
        mark = "[green]✓[/]" if v.metrics.get("gates") == 1 else "[red]✗[/]"
        console.print(
            f"  {mark} variant {v.k}{' · ' + escape(v.style) if v.style else ''}: "
            f"score {v.score} · {v.metrics.get('diff_lines', 0)} lines · "
            f"{escape(v.reason)}"
        )
    console.print(f"gallery: {gallery}")
    console.print(f"pick one: `tether pick {record.id} K` (or `tether serve` and click)")
