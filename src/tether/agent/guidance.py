"""Constrained-decoding guidance for tiny local models.

The embedded model decodes under a grammar, so tether can narrow what it may say
without changing the prompt (the KV cache stays warm). Each rule names the quirk it
handles, all seen with SmolLM2-135M:

- before its first change it lists files, searches, runs the acceptance command or calls
  ``done`` over and over: until the task changed something (or for a few steps), it may
  only read, edit or create;
- after a read it reads again: the turn after a successful read may not read;
- it cannot copy a line exactly into ``search``: an edit names one of the file's lines
  that occur exactly once (for small scopes);
- it invents paths: ``read_file`` may name any file of the repository, ``edit_file`` only
  files the contract lets it change, ``create_file`` only new paths the scope names
  literally (none: no create), and ``delete_file`` only when deletion is allowed.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from tether.agent.prompt import WORKED_EXAMPLE
from tether.guard.policy import ActionPolicy
from tether.models.types import ModelRequest
from tether.rules.globs import is_glob
from tether.vcs.files import repo_files

EARLY_STEPS = 6
MAX_CHOICES = 300


class SmallModelGuide:
    """The loop's request shaper for tiny local models (see the module docstring)."""

    def __init__(self, policy: ActionPolicy, root: Path):
        self.policy = policy
        self.root = root

    def shape(
        self, request: ModelRequest, *, changed: bool, step: int, last_tool: str
    ) -> ModelRequest:
        return guide(
            request, self.policy, self.root, changed=changed, step=step, last_tool=last_tool
        )


def guide(
    request: ModelRequest,
    policy: ActionPolicy,
    root: Path,
    *,
    changed: bool,
    step: int,
    last_tool: str,
) -> ModelRequest:
    files = repo_files(root)
    writable = [f for f in files if policy.path_rule(f) is None]
    scope = policy.contract.scope
    creatable = [
        s
        for s in scope
        if not is_glob(s) and not (root / s).exists() and policy.path_rule(s) is None
    ]
    early = not changed and step <= EARLY_STEPS
    barred = {"done", "run", "list_files", "search"} if early else set()
    if early and last_tool == "read_file":
        barred.add("read_file")
    if not policy.contract.allow_delete:
        barred.add("delete_file")
    if scope and not creatable and all(not is_glob(s) for s in scope):
        barred.add("create_file")
    paths = {
        "read_file": files,
        "edit_file": writable,
        "delete_file": writable,
        "create_file": creatable if creatable else [],
    }
    choices: dict[str, tuple[dict[str, tuple[str, ...]], ...]] = {
        name: ({"path": tuple(values)},)
        for name, values in paths.items()
        if values and len(values) <= MAX_CHOICES
    }
    lines = unique_lines(root, writable)
    if any(lines.values()):
        choices["edit_file"] = tuple(
            {"path": (path,), "search": once} for path, once in lines.items() if once
        )
    allowed = tuple(t.name for t in request.tools if t.name not in barred)
    return msgspec.structs.replace(
        request, allowed_tools=allowed, choices=choices, example=WORKED_EXAMPLE
    )


def unique_lines(root: Path, paths: list[str], budget: int = 400) -> dict[str, tuple[str, ...]]:
    """Per file, its non-blank lines that occur exactly once (an edit of one always
    matches once) -- the model quirk: a tiny model cannot copy a line exactly."""
    found: dict[str, tuple[str, ...]] = {}
    total = 0
    for rel in paths:
        try:
            lines = (root / rel).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        once = tuple(
            line
            for line in dict.fromkeys(lines)
            if line.strip() and lines.count(line) == 1 and len(line) <= 200
        )
        total += len(once)
        if total > budget:
            return {}
        found[rel] = once
    return found
