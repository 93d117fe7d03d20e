"""Run the demo: the sample project, `tether run --all` on the embedded model, a summary
of what the model did and how fast, and (with variants) a gallery."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.demo.project import create
from tether.errors import UsageError
from tether.models.local import INSTALL_HINT, local_available
from tether.plan_run import RunReport, run_plan
from tether.telemetry import read_events
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


async def run_demo(root: Path, listener: Callable[[dict[str, Any]], None]) -> DemoSummary:
    ws = Workspace.open(root)
    ws.log.subscribe(listener)
    try:
        report = await run_plan(ws, run_all=True, keep_going=True)
    finally:
        ws.close()
    return summarize(root, report)


def summarize(root: Path, report: RunReport) -> DemoSummary:
    summary = DemoSummary(root=root, report=report)
    events = [
        e
        for path in sorted((root / ".tether" / "sessions").glob("*/events.jsonl"))
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
