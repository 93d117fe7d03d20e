"""What `tether variants` runs: a PLAN.md task (``T3``) or an instruction."""

from __future__ import annotations

import re
from dataclasses import replace

from tether.agent.loop import Task
from tether.oneshot import DoOptions, contract_for, title_of
from tether.plan_run import load_plan
from tether.verification import memory_paths
from tether.workspace import Workspace

TASK_ID = re.compile(r"^T\d+(?:\.\d+)*$")


def task_for(ws: Workspace, target: str, options: DoOptions) -> Task:
    guard = ws.config.config.guard
    if TASK_ID.match(target.strip()):
        planned = load_plan(ws).get(target.strip())
        if planned is not None:
            contract = replace(
                contract_for(ws, options),
                scope=planned.scope,
                protect=planned.protect,
                max_diff=planned.max_diff or guard.max_diff,
                accept=planned.accept,
                ledger_files=memory_paths(ws.root, ws.config.config, ("PLAN.md", "PROGRESS.md")),
            )
            notes = f"\n\nNotes: {planned.notes}" if planned.notes else ""
            return Task(
                title=planned.title,
                instruction=planned.title + notes,
                contract=contract,
                task_id=planned.id,
                model=planned.model,
                max_steps=options.max_steps or planned.max_steps or guard.max_steps,
            )
    return Task(
        title=title_of(target),
        instruction=target,
        contract=contract_for(ws, options),
        max_steps=options.max_steps or guard.max_steps,
    )
