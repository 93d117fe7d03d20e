"""The review gate: a reviewer model judges the task's diff against its contract."""

from __future__ import annotations

import time

from tether.errors import TetherError
from tether.gates.context import GateContext
from tether.gates.results import GateResult
from tether.memory.verify_md import GateSpec


async def run_review_gate(spec: GateSpec, ctx: GateContext) -> GateResult:
    if ctx.reviewer is None:
        return GateResult(
            spec.name,
            ctx.tier,
            "review",
            "error",
            0.0,
            "no reviewer model: configure [reviewer] in tether.toml",
        )
    if not ctx.diff.strip():
        return GateResult(spec.name, ctx.tier, "review", "skip", 0.0, "no diff to review")
    started = time.perf_counter()
    try:
        verdict = await ctx.reviewer.review(ctx.contract, ctx.diff)
    except TetherError as exc:
        return GateResult(
            spec.name,
            ctx.tier,
            "review",
            "error",
            time.perf_counter() - started,
            exc.render()[:200],
        )
    seconds = time.perf_counter() - started
    log = ctx.log_file(spec)
    log.write_text(
        f"verdict: {verdict.verdict}\n" + "\n".join(f"- {c}" for c in verdict.comments),
        encoding="utf-8",
    )
    approved = verdict.verdict == "approve"
    summary = "approved" if approved else f"changes requested ({len(verdict.comments)} comments)"
    details = "\n".join(f"- {c}" for c in verdict.comments)
    return GateResult(
        spec.name,
        ctx.tier,
        "review",
        "pass" if approved else "fail",
        seconds,
        summary,
        details,
        log_path=str(log),
    )
