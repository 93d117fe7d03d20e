"""Asking the planner model for the rules the compiler could not read (the session and
``tether rules --ask``): its proposal, for the developer to confirm."""

from __future__ import annotations

from tether.errors import UsageError
from tether.planner.rules_ask import RulesAnswerError, ask_rules
from tether.rules.rule import Rule
from tether.workflow.constraints import files_of
from tether.workflow.roles import Roles
from tether.workspace import Workspace


async def ask_planner(ws: Workspace, text: str, roles: Roles | None = None) -> list[Rule]:
    """The planner's reading of ``text`` as rules (``roles``: opened already, or None)."""
    own = roles is None
    roles = roles or Roles(ws)
    roles.require("planner")
    files = list(files_of(ws.root).files)
    try:
        if own:
            async with roles:
                return await ask_rules(roles.planner, text, files)
        return await ask_rules(roles.planner, text, files)
    except RulesAnswerError as exc:
        raise UsageError(
            f"the planner's answer was not a rule set ({exc})",
            hint="say it as a rule's exact form, e.g. 'scope: src/cli.py' or 'keep: types'",
        ) from exc
