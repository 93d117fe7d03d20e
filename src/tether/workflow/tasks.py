"""The task factory: one ``Task`` and its ``Contract``, built the same way from every
source (an instruction with flags for ``do``, a PLAN.md task for ``run``, either for a
variant). The configuration's guard defaults are merged here and nowhere else."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tether.agent.task import Task
from tether.config import TetherConfig
from tether.errors import UsageError
from tether.guard.contract import Contract
from tether.memory.locations import ledger_files, rule_files
from tether.memory.plan_md import Plan, PlanTask, outside_repo
from tether.rules.rule import Rule
from tether.workflow.constraints import Note, compile_texts, files_of, house_rules, plan_rules

if TYPE_CHECKING:
    from tether.workflow.skilluse import SkillUse

TASK_ID = re.compile(r"^T\d+(?:\.\d+)*$")


@dataclass(frozen=True)
class TaskFlags:
    """What a command line may say about a task's contract (None: the default)."""

    scope: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    max_diff: int | None = None
    allow_delete: bool | None = None
    allow_network: bool | None = None
    max_steps: int | None = None
    rules: tuple[Rule, ...] = ()  # --keep, --rule, the session's (compiled already)


def title_of(instruction: str) -> str:
    first = " ".join(instruction.strip().splitlines()[0].split()) if instruction.strip() else ""
    return first if len(first) <= 72 else first[:71] + "…"


class TaskFactory:
    """Builds tasks for one repository under its configuration."""

    def __init__(self, root: Path, config: TetherConfig, note: Note | None = None):
        self.root = root
        self.config = config
        self.note = note
        self._house: tuple[Rule, ...] | None = None

    @property
    def house_rules(self) -> tuple[Rule, ...]:
        """AGENTS.md's rules section, read once per factory."""
        if self._house is None:
            self._house = house_rules(self.root, self.note)
        return self._house

    def contract(
        self,
        flags: TaskFlags,
        *,
        max_diff: int | None = None,
        accept: tuple[str, ...] = (),
        rules: tuple[Rule, ...] = (),
    ) -> Contract:
        """``flags`` over the configuration's guard defaults (``max_diff``: the task's
        own, used when the flags give none), narrowed by AGENTS.md's rules, then the
        task's own ``rules``, then the flags' (a later word wins: ``allow: tests``)."""
        guard = self.config.guard
        for glob in (*flags.scope, *flags.protect):
            problem = outside_repo(glob)
            if problem:
                raise UsageError(
                    f"--scope/--protect: {problem}", hint="use paths inside the repository"
                )
        return Contract(
            scope=flags.scope,
            protect=(*flags.protect, *self._skills_guarded(flags.scope)),
            max_diff=flags.max_diff or max_diff or guard.max_diff,
            allow_delete=_either(flags.allow_delete, guard.allow_delete),
            allow_network=_either(flags.allow_network, guard.allow_network),
            deny_commands=tuple(guard.deny_commands),
            max_diff_bytes=guard.max_diff_bytes,
            max_file_bytes=int(guard.max_file_mb * 1024 * 1024),
            accept=accept,
            ledger_files=ledger_files(self.root, self.config),
            rule_files=rule_files(self.root, self.config),
        ).with_rules((*self.house_rules, *rules, *flags.rules))

    def _skills_guarded(self, scope: tuple[str, ...]) -> tuple[str, ...]:
        """The repository's skills folder, protected from tasks (a skill's contract and
        gates decide what later replays may do) unless the scope names it."""
        folder = self.config.skills.dir.strip("/")
        if Path(folder).is_absolute() or not (self.root / folder).is_dir():
            return ()
        if any(glob == folder or glob.startswith(folder + "/") for glob in scope):
            return ()
        return (f"{folder}/**",)

    def from_instruction(self, instruction: str, flags: TaskFlags = TaskFlags()) -> Task:
        """``tether do``: an instruction in words under the flags' contract."""
        return Task(
            title=title_of(instruction),
            instruction=instruction,
            contract=self.contract(flags),
            max_steps=flags.max_steps or self.config.guard.max_steps,
        )

    def from_plan(
        self,
        planned: PlanTask,
        max_steps: int | None = None,
        base: str | None = None,
        extra: tuple[Rule, ...] = (),
    ) -> Task:
        """``tether run``: a PLAN.md task and its contract (``base``: the checkpoint an
        interrupted attempt started from)."""
        flags = TaskFlags(scope=planned.scope, protect=planned.protect, rules=extra)
        notes = f"\n\nNotes: {planned.notes}" if planned.notes else ""
        own = plan_rules(self.root, planned)
        contract = self.contract(flags, max_diff=planned.max_diff, accept=planned.accept, rules=own)
        return Task(
            title=planned.title,
            instruction=planned.title + notes,
            contract=contract,
            max_steps=max_steps or planned.max_steps or self.config.guard.max_steps,
            task_id=planned.id,
            model=planned.model,
            base_checkpoint=base,
        )

    def from_skill(self, use: SkillUse, flags: TaskFlags = TaskFlags()) -> Task:
        """``tether skills replay``: the skill's task under its contract, filled in
        (its scope, keep rules and ``accept:`` gates), narrowed by the flags' rules."""
        c = use.contract
        skill_flags = TaskFlags(
            scope=use.scope,
            protect=c.protect,
            max_diff=flags.max_diff,
            allow_delete=c.allow_delete or None,
            max_steps=flags.max_steps,
            rules=flags.rules,
        )
        rules = self._skill_rules(use)
        contract = self.contract(skill_flags, max_diff=c.max_diff, accept=c.accept, rules=rules)
        instruction = str(use.trajectory.task.get("instruction") or use.title)
        about = f"(Skill {use.skill.name}: {use.fill(use.skill.description)})"
        return Task(
            title=use.title,
            instruction=f"{instruction}\n\n{about}",
            contract=contract,
            max_steps=flags.max_steps or _steps(use) or self.config.guard.max_steps,
        )

    def with_skill(self, task: Task, use: SkillUse) -> Task:
        """A PLAN.md task that names ``skill:``: the skill's gates and rules join the
        task's contract; its scope applies where the task gives none."""
        contract = task.contract
        if not contract.scopes:
            contract = replace(contract, scope=use.scope)
        contract = replace(
            contract, accept=tuple(dict.fromkeys((*contract.accept, *use.contract.accept)))
        ).with_rules(self._skill_rules(use))
        return replace(task, contract=contract)

    def _skill_rules(self, use: SkillUse) -> tuple[Rule, ...]:
        texts = use.contract.rules
        where = f"skill {use.skill.name}"
        return compile_texts(texts, files_of(self.root), where) if texts else ()

    def from_target(self, target: str, flags: TaskFlags, plan: Callable[[], Plan]) -> Task:
        """``tether variants``: ``T3`` is that PLAN.md task (``plan`` reads PLAN.md);
        anything else an instruction."""
        if not TASK_ID.match(target.strip()):
            return self.from_instruction(target, flags)
        planned = plan().get(target.strip())
        if planned is None:
            raise UsageError(
                f"there is no task {target.strip()} in PLAN.md",
                hint="`tether status` lists the tasks; or give an instruction",
            )
        return self.from_plan(planned, flags.max_steps, extra=flags.rules)


def _steps(use: SkillUse) -> int:
    """The step budget of the task the skill was captured from."""
    value = use.trajectory.task.get("max_steps")
    return value if isinstance(value, int) and value > 0 else 0


def _either(value: bool | None, default: bool) -> bool:
    return default if value is None else value
