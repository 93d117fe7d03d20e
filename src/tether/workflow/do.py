"""``tether do``: one bounded task from an instruction, no plan needed."""

from __future__ import annotations

from tether.agent.outcomes import TaskResult
from tether.agent.seams import Steering
from tether.gates.suite import GateSuite
from tether.guard.live import LiveRules
from tether.workflow.planfile import read_agents_md
from tether.workflow.preflight import check_work_tree
from tether.workflow.roles import Roles
from tether.workflow.taskrun import RunOptions, TaskSetting, run_task
from tether.workflow.tasks import TaskFactory, TaskFlags
from tether.workspace import Workspace, work_tree_lock


async def do_task(
    ws: Workspace,
    instruction: str,
    flags: TaskFlags = TaskFlags(),
    role: str = "executor",
    commit: bool | None = None,
    allow_detached: bool = False,
    live: LiveRules | None = None,
    steering: Steering | None = None,
) -> TaskResult:
    """Run one task in the workspace's repository (which must be a git repository);
    ``live`` and ``steering``: the session's rules and the developer, while it runs."""
    check_work_tree(ws, allow_detached)
    factory = TaskFactory(ws.root, ws.config.config, lambda t: ws.log.note_once(t, t))
    task = factory.from_instruction(instruction, flags)
    suite = GateSuite.load(ws.root, ws.config.config)
    roles = Roles(ws)
    roles.require(role, *(["reviewer"] if suite.needs_review else []))
    setting = TaskSetting(
        root=ws.root,
        config=ws.config.config,
        log=ws.log,
        session=ws.session_id,
        suite=suite,
        agents_md=read_agents_md(ws),
        live=live,
        steering=steering,
    )
    with work_tree_lock(ws.root):
        async with roles:
            model = roles.model(role)
            reviewer = roles.reviewer() if suite.needs_review else None
            options = RunOptions.from_role(roles.config(role), commit=commit)
            return await run_task(setting, task, model, options, reviewer=reviewer)
