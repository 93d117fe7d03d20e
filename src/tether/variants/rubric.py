"""Scoring variants on a rubric, so that 15 variants are not 15 reviews.

Metrics: ``gates`` (1 when the variant finished and its task gates passed -- required:
a variant without it can never outrank one with it), ``diff_lines``, ``files``,
``new_deps`` (dependency manifests touched), ``lint`` (ruff findings in changed Python
files, when ruff is installed), ``review`` (0-10 from the reviewer model, with
``--review``). The score is the weighted sum; ``--rubric FILE`` (TOML or JSON, metric =
weight) replaces any of the default weights.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

from tether.agent.outcomes import TaskStatus
from tether.errors import UsageError
from tether.gates.context import ReviewVerdict

DEFAULT_WEIGHTS = {
    "gates": 100.0,
    "diff_lines": -0.2,
    "files": -1.0,
    "new_deps": -10.0,
    "lint": -2.0,
    "review": 2.0,
}
DEPENDENCY_FILES = re.compile(
    r"(^|/)(pyproject\.toml|setup\.py|setup\.cfg|requirements[^/]*"
    r"\.txt|Pipfile(\.lock)?|poetry\.lock|uv\.lock|package\.json|"
    r"package-lock\.json|pnpm-lock\.yaml|yarn\.lock|Cargo\.toml|"
    r"go\.mod)$"
)
FINDING = re.compile(r"^\S+:\d+:\d+: ", re.MULTILINE)


def load_weights(path: Path | None) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    if path is None:
        return weights
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except FileNotFoundError:
        raise UsageError("no such rubric file", where=str(path)) from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the rubric: {exc}", where=str(path)) from None
    for key, value in (data or {}).items():
        if key not in DEFAULT_WEIGHTS:
            raise UsageError(
                f"unknown rubric metric {key!r}",
                where=str(path),
                hint=f"metrics: {', '.join(DEFAULT_WEIGHTS)}",
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"the weight of {key} must be a number", where=str(path))
        weights[key] = float(value)
    return weights


def metrics(
    status: str, changed: list[str], diff: str, lint: int | None, review: ReviewVerdict | None
) -> dict[str, Any]:
    """A variant's metrics. ``gates`` is 1 exactly when the task ended done: the loop only
    declares done once the task gates have passed."""
    lines = sum(
        1 for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    return {
        "gates": 1 if status == TaskStatus.DONE else 0,
        "diff_lines": lines,
        "files": len(changed),
        "new_deps": sum(1 for path in changed if DEPENDENCY_FILES.search(path)),
        "lint": lint,
        "review": None if review is None else review_score(review),
    }


def review_score(review: ReviewVerdict) -> float:
    if review.verdict == "approve":
        return 10.0
    return max(0.0, 6.0 - 2.0 * len(review.comments))


def score(values: dict[str, Any], weights: dict[str, float]) -> float:
    """The weighted sum; a variant that changed nothing scores 0, whatever else."""
    if not values.get("diff_lines") and not values.get("files"):
        return 0.0
    return round(sum(weights.get(k, 0.0) * float(v) for k, v in values.items() if v is not None), 2)


def lint_command(changed_py: list[str]) -> str | None:
    if not changed_py or shutil.which("ruff") is None:
        return None
    import shlex

    return "ruff check --no-cache --output-format concise " + " ".join(
        shlex.quote(p) for p in changed_py
    )


def count_findings(output: str) -> int:
    return len(FINDING.findall(output))
