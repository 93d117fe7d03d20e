"""``tether demo``: the whole workflow on a sample project, offline, on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tether.ui.console import out, status_color

if TYPE_CHECKING:
    from rich.console import Console

    from tether.demo.run import DemoSummary


def demo(
    keep: bool = typer.Option(False, "--keep", help="Keep the sample project afterwards."),
    model_path: str | None = typer.Option(None, "--model-path", help="Use another GGUF model."),
    variants: int = typer.Option(
        3, "--variants", min=0, max=16, help="Variants of a failed task (best-of-N by gates)."
    ),
    directory: Path | None = typer.Option(None, "--dir", help="Where to create the project."),
) -> None:
    """Run tether's workflow on a sample project with the embedded model (no key, no network)."""
    from rich.markup import escape

    from tether.cli.running import run_cancellable
    from tether.demo.run import DemoOptions, cleanup, prepare, run_demo
    from tether.ui.progress import ProgressPrinter

    options = DemoOptions(keep=keep, model_path=model_path, variants=variants, directory=directory)
    root = prepare(options)
    console = out()
    console.print(f"[bold]tether demo[/] — a sample project in {escape(str(root))}")
    console.print(
        "  three settings with a failing test each, a VERIFY.md (gates) and a "
        'prepared PLAN.md.\n  Planning needs a capable model (`tether plan "GOAL"` '
        "with a planner in tether.toml),\n  so the demo brings its own plan; the "
        "embedded SmolLM2-135M executes it on the CPU.\n"
    )
    summary = run_cancellable(
        lambda: run_demo(
            root,
            ProgressPrinter(console),
            variants,
            lambda k: ProgressPrinter(console, prefix=f"[variant {k}] ", brief=True),
        )
    )
    report(console, summary)
    if keep:
        console.print(
            f"kept the project: {escape(str(root))} (PLAN.md, PROGRESS.md, "
            "`git log`, `tether status`)"
        )
    else:
        cleanup(root)
        console.print("removed the sample project (use --keep to look around)")
    if summary.report.interrupted:
        raise typer.Exit(130)


def report(console: Console, summary: DemoSummary) -> None:
    """What the demo did: each task, the variants, the gates, the model's speed."""
    from rich.markup import escape

    console.print("\n[bold]results[/]")
    for task_id, status, reason in summary.report.results:
        color = status_color(status)
        console.print(f"  [{color}]{task_id} {status}[/] {escape(reason)}")
    extra = summary.extra
    if extra:
        picked = (
            f"picked variant {extra['picked']} (committed)"
            if extra["picked"]
            else "none passed: the gates kept every wrong answer out"
        )
        console.print(
            f"  {extra['task']} again as {extra['count']} variants (temperature "
            f"0.9): {len(extra['passed'])} passed the gates; {picked}"
        )
        console.print(f"  gallery: {escape(extra['gallery'])}")
    gates = ", ".join(f"{n} {status}" for status, n in sorted(summary.gates.items()))
    console.print(
        f"  gates: {gates or 'none ran'} — a task only counts as done with passing "
        "gate evidence (PROGRESS.md)"
    )
    console.print(
        f"[bold]model[/]: {summary.calls} calls · {summary.output_tps:,.0f} output "
        f"tokens/s · TTFT {summary.cold_ttft_s:.2f}s cold, {summary.warm_ttft_s:.3f}s "
        f"with the prefix reused · {summary.cached_share:.0%} of prompt tokens "
        "served from the KV cache"
    )
