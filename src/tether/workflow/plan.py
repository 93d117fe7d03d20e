"""``tether plan``: the planner model turns a goal into PLAN.md tasks with contracts."""

from __future__ import annotations

from tether.errors import UsageError
from tether.fsutil import read_input
from tether.memory.locations import memory_file
from tether.memory.plan_md import PlanTask, task_from_contract
from tether.planner.planner import make_plan, planner_prompt
from tether.planner.repomap import repo_map
from tether.vcs.files import repo_files
from tether.workflow.planfile import load_plan, read_agents_md, save_plan
from tether.workflow.roles import Roles
from tether.workflow.skillset import skill_store
from tether.workspace import Workspace


async def plan_goal(ws: Workspace, goal: str) -> list[PlanTask]:
    """Ask the planner, validate, append the tasks to PLAN.md; returns them."""
    if not goal.strip():
        raise UsageError("the goal is empty", hint='tether plan "what you want done"')
    load_plan(ws)  # a malformed PLAN.md stops us before the model is called
    roles = Roles(ws)
    roles.require("planner")
    executor = ws.config.role("executor").config
    window = executor.context_window if executor else 32_768
    files = repo_files(ws.root)
    verify = memory_file(ws.root, ws.config.config, "VERIFY.md")
    skills = [s for s in skill_store(ws.root, ws.config.config).all() if not s.problems]
    skills_text = "\n".join(
        f"- {s.name}" + (f" ({', '.join(s.params)})" if s.params else "") + f": {s.description}"
        for s in skills
    )
    prompt = planner_prompt(
        goal,
        repo_map(ws.root, files, goal),
        read_agents_md(ws),
        read_input(verify, "VERIFY.md") if verify.is_file() else None,
        int(window * (executor.handoff_at if executor else 0.6)),
        skills_text,
    )
    async with roles:
        limit = roles.config("planner").max_output_tokens
        names = tuple(s.name for s in skills)
        planned = await make_plan(roles.planner, ws.root, files, prompt, limit, names)
    plan = load_plan(ws)
    first = plan.next_number()
    tasks = [
        task_from_contract(
            f"T{first + i}",
            t.title,
            scope=t.scope,
            protect=t.protect,
            max_diff=t.max_diff,
            accept=t.accept,
            notes=t.notes,
            skill=t.skill,
        )
        for i, t in enumerate(planned)
    ]
    plan.append_section(" ".join(goal.split())[:100], tasks)
    save_plan(ws, plan)
    ws.log.emit("plan", goal=goal, tasks=[t.id for t in tasks])
    return tasks
