"""Skills on disk, in the Agent Skills format: a folder per skill with ``SKILL.md``
(YAML frontmatter, then the procedure) and tether's ``references/``. The repository's
folder (``.agents/skills/`` by default) comes first, then the personal one
(``~/.config/tether/skills/``). Parsing and validation are the reference library's
(``skills-ref``, imported when a skill is read); frontmatter edits keep the file's own
formatting (strictyaml round trip)."""

from __future__ import annotations

import difflib
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tether.errors import UsageError
from tether.skills.contract import SkillContract
from tether.skills.trajectory import Trajectory

SKILL_MD = "SKILL.md"
TRAJECTORY = "references/trajectory.jsonl"
CONTRACT = "references/contract.toml"
PARAMS_KEY = "tether-params"
CERTIFIED_KEY = "tether-certified"


def personal_folder() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tether" / "skills"


@dataclass(frozen=True)
class Certification:
    """``local/SmolLM2-135M-Instruct 8/10 2026-12-01``: a model's pass rate, when."""

    model: str
    passed: int
    total: int
    date: str

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def render(self) -> str:
        return f"{self.model} {self.passed}/{self.total} {self.date}"

    @classmethod
    def parse_all(cls, text: str) -> list[Certification]:
        found = []
        for part in text.split(";"):
            words = part.split()
            if len(words) < 3 or "/" not in words[-2]:
                continue
            passed, _, total = words[-2].partition("/")
            if passed.isdigit() and total.isdigit():
                found.append(cls(" ".join(words[:-2]), int(passed), int(total), words[-1]))
        return found


@dataclass
class Skill:
    folder: Path
    name: str
    description: str
    body: str
    metadata: dict[str, str] = field(default_factory=dict)
    personal: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def params(self) -> tuple[str, ...]:
        raw = self.metadata.get(PARAMS_KEY, "")
        return tuple(p.strip() for p in raw.replace(",", " ").split() if p.strip())

    @property
    def certifications(self) -> list[Certification]:
        return Certification.parse_all(self.metadata.get(CERTIFIED_KEY, ""))

    def below(self, threshold: float) -> Certification | None:
        """The last certification recorded (the last in the list), when it fell below
        ``threshold``."""
        certs = self.certifications
        return certs[-1] if certs and certs[-1].rate < threshold else None

    def trajectory(self) -> Trajectory:
        return Trajectory.read(self.folder / TRAJECTORY)

    def contract(self) -> SkillContract:
        return SkillContract.read(self.folder / CONTRACT)


class SkillStore:
    """The skills one repository sees."""

    def __init__(self, root: Path, folder: str = ".agents/skills", personal: Path | None = None):
        self.root = root
        self.folder = (root / folder).resolve() if not Path(folder).is_absolute() else Path(folder)
        self.personal = personal if personal is not None else personal_folder()

    def _dirs(self) -> list[tuple[Path, bool]]:
        return [(self.folder, False), (self.personal, True)]

    def names(self) -> list[str]:
        """Skill folder names, cheaply (no YAML read): repository first, no repeats."""
        seen: list[str] = []
        for base, _ in self._dirs():
            if base.is_dir():
                for child in sorted(base.iterdir()):
                    if (child / SKILL_MD).is_file() and child.name not in seen:
                        seen.append(child.name)
        return seen

    def all(self) -> list[Skill]:
        return [self.get(name) for name in self.names()]

    def find(self, name: str) -> Path | None:
        for base, _ in self._dirs():
            if (base / name / SKILL_MD).is_file():
                return base / name
        return None

    def get(self, name: str) -> Skill:
        folder = self.find(name)
        if folder is None:
            near = difflib.get_close_matches(name, self.names(), n=1)
            hint = f"did you mean {near[0]}?" if near else "`tether skills list` shows them"
            raise UsageError(f"there is no skill {name!r}", hint=hint)
        return read_skill(folder, personal=folder.parent == self.personal)

    def target(self, name: str, personal: bool = False) -> Path:
        return (self.personal if personal else self.folder) / name

    def remove(self, name: str) -> Path:
        skill = self.get(name)
        shutil.rmtree(skill.folder)
        return skill.folder


def read_skill(folder: Path, personal: bool = False) -> Skill:
    """A skill folder as the reference library reads it; what it finds wrong is kept
    in ``problems`` (listed, never a crash)."""
    from skills_ref.errors import SkillError
    from skills_ref.parser import parse_frontmatter
    from skills_ref.validator import validate_metadata

    try:
        data, body = parse_frontmatter((folder / SKILL_MD).read_text(encoding="utf-8"))
    except (SkillError, UnicodeDecodeError, OSError) as exc:
        return Skill(folder, folder.name, "", "", personal=personal, problems=[str(exc)])
    problems = [str(p) for p in validate_metadata(data, folder)]  # the file parsed once
    meta = data.get("metadata")
    return Skill(
        folder=folder,
        name=str(data.get("name") or folder.name),
        description=" ".join(str(data.get("description") or "").split()),
        body=body,
        metadata={str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {},
        personal=personal,
        problems=problems,
    )


def write_skill_md(folder: Path, front: dict[str, Any], body: str) -> list[str]:
    """Write ``SKILL.md``; returns what ``skills-ref`` finds wrong with the folder."""
    import strictyaml
    from skills_ref import validate

    folder.mkdir(parents=True, exist_ok=True)
    yaml = strictyaml.as_document(front).as_yaml()
    (folder / SKILL_MD).write_text(f"---\n{yaml}---\n\n{body.strip()}\n", encoding="utf-8")
    return [str(p) for p in validate(folder)]


def set_metadata(folder: Path, key: str, value: str) -> None:
    """Set one ``metadata`` value in SKILL.md, keeping the rest of the file as it is."""
    import strictyaml

    path = folder / SKILL_MD
    text = path.read_text(encoding="utf-8")
    _, front, rest = text.split("---", 2)
    doc = strictyaml.dirty_load(front, allow_flow_style=True)
    data = doc.data
    meta = dict(data.get("metadata") or {}) if isinstance(data, dict) else {}
    meta[key] = value
    doc["metadata"] = {str(k): str(v) for k, v in meta.items()}
    path.write_text(f"---\n{doc.as_yaml()}---{rest}", encoding="utf-8")


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")
