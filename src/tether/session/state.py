"""What a live session keeps in ``.tether/pair/``, so that a session that is killed
resumes with its rules: the rules said in it, review mode, the task that was running."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.fsutil import atomic_write
from tether.layout import StateLayout
from tether.rules.rule import Rule


@dataclass
class SessionState:
    path: Path
    rules: list[Rule] = field(default_factory=list)
    review: bool = False
    task: dict[str, Any] | None = None  # {"instruction", "started"}; None when idle
    problem: str = ""  # why the saved state could not be read ('' when it could)

    @classmethod
    def load(cls, root: Path) -> SessionState:
        folder = StateLayout(root).pair
        path = folder / "state.json"
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            rules = [Rule.from_json(item) for item in data.get("rules") or []]
            task = data.get("task")
            return cls(
                path, rules, bool(data.get("review")), task if isinstance(task, dict) else None
            )
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            return cls(path, problem=f"{path}: {exc}; starting with no session rules")

    @property
    def history_file(self) -> Path:
        return self.path.parent / "history"

    def save(self) -> None:
        StateLayout(self.path.parent.parent.parent).ensure()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "rules": [r.to_json() for r in self.rules],
            "review": self.review,
            "task": self.task,
            "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        atomic_write(self.path, (json.dumps(data, indent=2) + "\n").encode())

    def started(self, instruction: str) -> None:
        self.task = {"instruction": instruction, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.save()

    def ended(self) -> None:
        self.task = None
        self.save()
