"""The skills a task sees: the store from the configuration, and the catalog that goes
into every executor prompt (the index) and behind ``use_skill``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tether.config import TetherConfig
from tether.skills.prompting import index, loaded
from tether.skills.store import Skill, SkillStore


def skill_store(root: Path, config: TetherConfig) -> SkillStore:
    personal = Path(config.skills.personal).expanduser() if config.skills.personal else None
    return SkillStore(root, config.skills.dir, personal)


@dataclass(frozen=True)
class Catalog:
    """``text``: the prefix's index ("" when there is none); ``load``: use_skill."""

    text: str = ""
    load: Callable[[str], str] | None = None


def catalog(root: Path, config: TetherConfig) -> Catalog:
    """Read once per task (cheap when there are no skills: one directory listing)."""
    if not config.skills.index:
        return Catalog()
    store = skill_store(root, config)
    if not store.names():
        return Catalog()
    skills = [s for s in store.all() if not s.problems]
    text = index(skills)
    if not text:
        return Catalog()
    by_name = {s.name: s for s in skills}
    return Catalog(text, lambda name: _load(by_name, name))


def _load(skills: dict[str, Skill], name: str) -> str:
    skill = skills.get(name.strip())
    if skill is None:
        raise LookupError(
            f"there is no skill {name!r}; the skills are: {', '.join(sorted(skills))}"
        )
    return loaded(skill)
