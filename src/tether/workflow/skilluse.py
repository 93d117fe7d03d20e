"""One use of a skill: the skill, this use's parameter values, and what follows from
them (the filled-in trajectory and contract, the exact edits and whether they still
apply here, the worked example of a guided replay)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tether.errors import UsageError
from tether.models.types import Message
from tether.skills.contract import SkillContract
from tether.skills.edits import Plan, plan
from tether.skills.params import resolve, substitute
from tether.skills.prompting import guided_prefix
from tether.skills.replay import ExactReplay
from tether.skills.store import SKILL_MD, Skill, SkillStore
from tether.skills.trajectory import Trajectory
from tether.tools import files


@dataclass
class SkillUse:
    skill: Skill
    values: dict[str, str] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        return substitute(text, self.skill.params, self.values)

    @cached_property
    def trajectory(self) -> Trajectory:
        return self.skill.trajectory().mapped(self.fill)

    @cached_property
    def contract(self) -> SkillContract:
        return self.skill.contract().mapped(self.fill)

    @property
    def title(self) -> str:
        return str(self.trajectory.task.get("title") or self.fill(self.skill.description))

    @property
    def scope(self) -> tuple[str, ...]:
        """The skill's scope; where the captured task had none, the files it changed:
        a replay is bounded to what the skill is about."""
        return self.contract.scope or tuple(f.path for f in self.trajectory.files)

    def exact_plan(self, root: Path) -> Plan:
        """Whether the recorded edits, filled in, apply to the tree at ``root`` now."""

        def read(rel: str) -> str | None:
            path = root / rel
            try:
                return path.read_text(encoding="utf-8") if path.is_file() else None
            except (OSError, UnicodeDecodeError):
                return None

        if not self.trajectory.files:
            return Plan(problem="the skill records no edits")
        return plan(self.trajectory.files, read)

    def exact_model(self) -> ExactReplay:
        summary = str(self.trajectory.task.get("summary") or "")
        return ExactReplay(
            self.trajectory.files, summary or f"replayed skill {self.skill.name} exactly"
        )

    def example(self, root: Path) -> tuple[Message, ...]:
        """The guided worked example, its file reads showing the tree at ``root``."""

        def read(args: dict[str, object]) -> str | None:
            path = str(args.get("path") or "")
            inside = (root / path).resolve().is_relative_to(root.resolve())
            if not path or Path(path).is_absolute() or not inside:  # a skill is repo input
                return None
            try:
                return files.read_file(root, path, None, None)
            except files.ToolFailure:
                return None

        return guided_prefix(self.skill, self.trajectory, self.fill, read)


def use_of(store: SkillStore, name: str, given: dict[str, str]) -> SkillUse:
    """The skill ``name`` with the given values over the captured ones."""
    skill = store.get(name)
    if skill.problems:
        raise UsageError(
            f"skill {name} is not valid: {skill.problems[0]}",
            where=str(skill.folder / SKILL_MD),
            hint="fix SKILL.md (`skills-ref validate` says the same), or capture it again",
        )
    values = resolve(skill.params, given, skill.contract().params, name)
    return SkillUse(skill, values)
