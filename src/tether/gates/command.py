"""Command gates: a shell command from VERIFY.md, run in the sandbox."""

from __future__ import annotations

from tether.gates.context import GateContext
from tether.gates.results import GateResult, condense
from tether.memory.verify_md import GateSpec

NOT_RUNNABLE = (126, 127)
PYTEST_ERRORS = (2, 3, 4, 5)


async def run_command_gate(spec: GateSpec, ctx: GateContext) -> GateResult:
    command, why = ctx.expand(spec.command, spec)
    if command is None:
        return GateResult(spec.name, ctx.tier, "command", "skip", 0.0, why)
    result = await ctx.sandbox.run(command, ctx.root, ctx.timeout_for(spec))
    log = ctx.log_file(spec)
    log.write_text(f"$ {command}\n{result.tail(10_000, 1_000_000)}\n", encoding="utf-8")
    summary, details = condense(command, result)
    if result.timed_out:
        status, summary = "timeout", f"killed after {ctx.timeout_for(spec):.0f}s"
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
