"""A variants run on disk: ``.tether/runs/<run-id>/run.json`` plus per-variant logs."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tether.errors import UsageError
from tether.gates.results import GateResult
from tether.layout import StateLayout


def runs_dir(root: Path) -> Path:
    return StateLayout(root).runs


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


@dataclass
class VariantRecord:
    k: int
    worktree: str
    style: str = ""
    status: str = "pending"
    reason: str = ""
    steps: int = 0
    seconds: float = 0.0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    changed: list[str] = field(default_factory=list)
    diff: str = ""
    final_tree: str = ""
    gates: list[GateResult] = field(default_factory=list)
    violations: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0
    screenshot: str = ""


@dataclass
class RunRecord:
    id: str
    created: str
    title: str
    instruction: str
    task_id: str
    base_commit: str
    base_tree: str
    contract: dict[str, Any]
    variants: list[VariantRecord] = field(default_factory=list)
    picked: int | None = None
    weights: dict[str, float] = field(default_factory=dict)

    def variant(self, k: int) -> VariantRecord:
        for variant in self.variants:
            if variant.k == k:
                return variant
        raise UsageError(
            f"run {self.id} has no variant {k}", hint=f"its variants are 1..{len(self.variants)}"
        )


def save_run(root: Path, run: RunRecord) -> Path:
    folder = runs_dir(root) / run.id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "run.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(run), indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_run(root: Path, run_id: str) -> RunRecord:
    matches = sorted(p for p in runs_dir(root).glob(f"{run_id}*") if (p / "run.json").exists())
    if not matches:
        raise UsageError(f"no variants run {run_id!r}", hint="`tether runs` lists them")
    if len(matches) > 1:
        raise UsageError(f"{run_id!r} matches {len(matches)} runs", hint="give more of the id")
    data = json.loads((matches[0] / "run.json").read_text(encoding="utf-8"))
    variants = [_variant(v) for v in data.pop("variants")]
    return RunRecord(**data, variants=variants)


def _variant(data: dict[str, Any]) -> VariantRecord:
    gates = [GateResult.from_record(g) for g in data.pop("gates", [])]
    return VariantRecord(**data, gates=gates)


def list_runs(root: Path) -> list[RunRecord]:
    out = []
    for folder in sorted(runs_dir(root).glob("*")):
        if (folder / "run.json").exists():
            out.append(load_run(root, folder.name))
    return out
