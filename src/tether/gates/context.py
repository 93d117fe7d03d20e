"""What a gate run knows: the work tree, the change, the sandbox, where evidence goes."""

from __future__ import annotations

import re
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tether.memory.verify_md import GateSpec
from tether.sandbox import Sandbox


@dataclass(frozen=True)
class ReviewVerdict:
    verdict: str  # approve | request_changes
    comments: list[str]


class Reviewer(Protocol):
    """The review gate's seam: a model is handed in from outside the gates package."""

    async def review(self, contract: str, diff: str) -> ReviewVerdict: ...


@dataclass
class GateContext:
    root: Path
    tier: str
    changed: list[str]
    sandbox: Sandbox
    evidence_dir: Path
    affected: list[str] = field(default_factory=list)
    diff: str = ""
    contract: str = ""
    reviewer: Reviewer | None = None
    port: int | None = None
    timeout_s: float = 30.0
    ports: dict[int, int] = field(default_factory=dict)
    timeouts: dict[int, float] = field(default_factory=dict)  # by VERIFY.md line
    before: str = ""  # a step gate: the tree before the step (its findings are not new)

    def timeout_for(self, spec: GateSpec) -> float:
        return spec.timeout_s or self.timeouts.get(spec.line) or self.timeout_s

    def values(self) -> dict[str, list[str]]:
        present = [p for p in self.changed if (self.root / p).is_file()]
        return {
            "changed": present,
            "changed_py": [p for p in present if p.endswith(".py")],
            "affected_tests": self.affected,
        }

    def port_for(self, spec: GateSpec) -> int:
        """One port per gate (a fixed ``port`` when the caller chose one)."""
        if self.port is not None:
            return self.port
        if spec.line not in self.ports:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.ports[spec.line] = int(probe.getsockname()[1])
        return self.ports[spec.line]

    def expand(self, text: str, spec: GateSpec) -> tuple[str | None, str]:
        """``text`` with placeholders filled, or (None, why it is skipped)."""
        for key, items in self.values().items():
            token = "{" + key + "}"
            if token in text:
                if not items:
                    return None, f"{token} is empty for this change"
                text = text.replace(token, " ".join(shlex.quote(i) for i in items))
        if "{port}" in text:
            text = text.replace("{port}", str(self.port_for(spec)))
        return text, ""

    def log_file(self, spec: GateSpec, suffix: str = "log") -> Path:
        self.evidence_dir.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", spec.name)[:40].strip("-") or spec.kind
        existing = len(list(self.evidence_dir.glob("*")))
        return self.evidence_dir / f"{existing + 1:03d}-{self.tier}-{slug}.{suffix}"
