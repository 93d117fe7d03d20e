"""A task as the executor runs it: what to do, and the contract it must keep."""

from __future__ import annotations

from dataclasses import dataclass, field

from tether.guard.contract import Contract


@dataclass(frozen=True)
class Task:
    """One bounded task. ``base_checkpoint`` is set when a further context continues an
    attempt (after a handoff or a resume): the attempt's base stays the same."""

    title: str
    instruction: str = ""
    contract: Contract = field(default_factory=Contract)
    max_steps: int = 30
    task_id: str = ""
    model: str | None = None
    base_checkpoint: str | None = None
    base_tree: str | None = None  # that attempt's base with the user's edits since
