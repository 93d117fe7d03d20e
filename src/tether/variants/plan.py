"""What `tether variants` runs: a PLAN.md task (``T3``) or an instruction."""

from __future__ import annotations

import re

from tether.agent.loop import Task
from tether.errors import UsageError
from tether.oneshot import DoOptions, contract_for, title_of
from tether.plan_run import load_plan, task_from_plan
from tether.workspace import Workspace

TASK_ID = re.compile(r"^T\d+(?:\.\d+)*$")


def task_for(ws: Workspace, target: str, options: DoOptions) -> Task:
    """``T3`` is that PLAN.md task; anything else is an instruction."""
    if TASK_ID.match(target.strip()):
        planned = load_plan(ws).get(target.strip())
        if planned is None:
            raise UsageError(
                f"there is no task {target.strip()} in PLAN.md",
                hint="`tether status` lists the tasks; or give an instruction",
            )
        return task_from_plan(ws, planned, options.max_steps)
    guard = ws.config.config.guard
    return Task(
        title=title_of(target),
        instruction=target,
        contract=contract_for(ws, options),
        max_steps=options.max_steps or guard.max_steps,
    )
