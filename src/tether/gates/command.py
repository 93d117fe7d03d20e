"""Command gates: a shell command from VERIFY.md, run in the sandbox."""

from __future__ import annotations

from pathlib import Path

from tether.gates.context import GateContext
from tether.gates.results import GateResult, condense
from tether.memory.verify_md import GateSpec

NOT_RUNNABLE = (126, 127)
PYTEST_ERRORS = (2, 3, 4, 5)


async def run_command_gate(
    spec: GateSpec,
    ctx: GateContext,
    *,
    env: dict[str, str] | None = None,
    writable: tuple[Path, ...] = (),
) -> GateResult:
    command, why = ctx.expand(spec.command, spec)
    if command is None:
        return GateResult(spec.name, ctx.tier, "command", "skip", 0.0, why)
    timeout = ctx.timeout_for(spec)
    result = await ctx.sandbox.run(command, ctx.root, timeout, env=env, writable=writable)
    log = ctx.log_file(spec)
    log.write_text(f"$ {command}\n{result.tail(10_000, 1_000_000)}\n", encoding="utf-8")
    summary, details = condense(command, result)
    if result.timed_out:
        status, summary = "timeout", timeout_advice(spec, ctx.tier, timeout, summary)
    elif result.exit_code == 0:
        status = "pass"
    elif result.exit_code in NOT_RUNNABLE:
        status = "error"
        summary = f"could not run ({summary}); is the tool installed?"
    elif "pytest" in command and result.exit_code in PYTEST_ERRORS:
        status = "error"
    else:
        status = "fail"
    return GateResult(
        spec.name, ctx.tier, "command", status, result.seconds, summary, details, log_path=str(log)
    )


def timeout_advice(spec: GateSpec, tier: str, seconds: float, seen: str) -> str:
    """What a timed-out gate says: how long, what it got to, how to give it more time."""
    where = f"VERIFY.md:{spec.line}" if spec.line else "the task's accept: line"
    setting = "step_timeout_s" if tier == "step" else "task_timeout_s"
    return (
        f"timed out after {seconds:.0f}s ({seen}); if the suite needs longer, add "
        f"'timeout: N' under the gate ({where}) or set [gates] {setting} in tether.toml"
    )
