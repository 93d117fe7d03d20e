"""Run the demo: the sample project, `tether run --all` on the embedded model, a summary
of what the model did and how fast, and (with variants) a gallery."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.config import INSTALL_HINT, local_available
from tether.demo.project import create
from tether.errors import UsageError
from tether.layout import StateLayout
from tether.telemetry import read_events
from tether.workflow.run import RunReport, run_plan
from tether.workspace import Workspace


@dataclass(frozen=True)
class DemoOptions:
    keep: bool = False
    model_path: str | None = None
    variants: int = 0
    directory: Path | None = None


@dataclass
class DemoSummary:
    root: Path
    report: RunReport
    calls: int = 0
    output_tps: float = 0.0
    cold_ttft_s: float = 0.0
    warm_ttft_s: float = 0.0
    cached_share: float = 0.0
    gates: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def prepare(options: DemoOptions) -> Path:
    if options.model_path is None and not local_available():
        raise UsageError(
            "the demo needs the embedded local model, which is not installed", hint=INSTALL_HINT
        )
    if options.model_path is not None and not Path(options.model_path).is_file():
        raise UsageError(f"no GGUF file at {options.model_path}", hint="check --model-path")
    root = options.directory or Path(tempfile.mkdtemp(prefix="tether-demo-")) / "project"
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"{root} is not empty", hint="choose a new directory with --dir")
    create(root, options.model_path)
    return root


async def run_demo(
    root: Path,
    listener: Callable[[dict[str, Any]], None],
    variants: int = 0,
    variant_listener: Callable[[int], Callable[[dict[str, Any]], None]] | None = None,
) -> DemoSummary:
    ws = Workspace.open(root)
    ws.log.subscribe(listener)
    try:
        report = await run_plan(ws, run_all=True, keep_going=True)
        failed = [task_id for task_id, status, _ in report.results if status.failed]
        extra: dict[str, Any] = {}
        if variants and failed:
            extra = await _variants_of(
                ws, failed[-1], variants, variant_listener or (lambda k: listener)
            )
    finally:
        ws.close()
    summary = summarize(root, report)
    summary.extra = extra
    return summary


async def _variants_of(
    ws: Workspace,
    task_id: str,
    count: int,
    listener: Callable[[int], Callable[[dict[str, Any]], None]],
) -> dict[str, Any]:
    """Variants of a task the single attempt failed: best-of-N by gates, then the demo
    picks the best-scoring variant that passed (you would pick in the gallery)."""
    from tether.variants.gallery import write_gallery
    from tether.variants.pick import pick
    from tether.variants.run import VariantPlan, run_variants
    from tether.workflow.planfile import load_plan
    from tether.workflow.tasks import TaskFactory, TaskFlags

    factory = TaskFactory(ws.root, ws.config.config)
    task = factory.from_target(task_id, TaskFlags(), lambda: load_plan(ws))
    record = await run_variants(ws, VariantPlan(task=task, count=count, temperature=0.9), listener)
    gallery = write_gallery(ws.root, record)
    passing = sorted(
        (v for v in record.variants if v.metrics.get("gates") == 1), key=lambda v: -v.score
    )
    picked = None
    if passing:
        result = await pick(ws, record.id, passing[0].k)
        picked = passing[0].k if result.ok else None
    return {
        "task": task_id,
        "run": record.id,
        "gallery": str(gallery),
        "passed": [v.k for v in passing],
        "count": count,
        "picked": picked,
    }


def summarize(root: Path, report: RunReport) -> DemoSummary:
    summary = DemoSummary(root=root, report=report)
    events = [
        e
        for path in sorted(StateLayout(root).sessions.glob("*/events.jsonl"))
        for e in read_events(path)
    ]
    calls = [e for e in events if e.get("type") == "model_call"]
    if calls:
        summary.calls = len(calls)
        summary.output_tps = sum(float(e["output_tps"]) for e in calls) / len(calls)
        summary.cold_ttft_s = float(calls[0]["ttft_s"])
        warm = [float(e["ttft_s"]) for e in calls[1:]] or [summary.cold_ttft_s]
        summary.warm_ttft_s = sum(warm) / len(warm)
        prompt = sum(int(e["input_tokens"]) for e in calls)
        summary.cached_share = sum(int(e["cached_tokens"]) for e in calls) / max(prompt, 1)
    for gate in (e for e in events if e.get("type") == "gate"):
        key = str(gate.get("status"))
        summary.gates[key] = summary.gates.get(key, 0) + 1
    return summary


def cleanup(root: Path) -> None:
    shutil.rmtree(root.parent if root.name == "project" else root, ignore_errors=True)
