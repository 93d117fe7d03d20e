"""Rules that change while a task runs (the live session): every attached action policy
follows them at once, so the next tool call and the step already in flight are judged
by the rules as they are now (the diff contract reads the same policy)."""

from __future__ import annotations

from tether.guard.contract import Contract
from tether.guard.policy import ActionPolicy
from tether.rules.rule import Rule


class LiveRules:
    """The developer's rules of the moment, applied over each task's own contract."""

    def __init__(self, rules: tuple[Rule, ...] | list[Rule] = ()):
        self._rules: tuple[Rule, ...] = tuple(rules)
        self._attached: list[tuple[ActionPolicy, Contract]] = []

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def attach(self, policy: ActionPolicy) -> None:
        """``policy``'s contract becomes its own narrowed by the live rules."""
        self._attached.append((policy, policy.contract))
        policy.contract = policy.contract.with_rules(self._rules)

    def detach(self, policy: ActionPolicy) -> None:
        self._attached = [(p, c) for p, c in self._attached if p is not policy]

    def set(self, rules: tuple[Rule, ...] | list[Rule]) -> list[Contract]:
        """Replace the live rules; returns the running tasks' contracts as they are now."""
        self._rules = tuple(rules)
        contracts = []
        for policy, own in self._attached:
            policy.contract = own.with_rules(self._rules)
            contracts.append(policy.contract)
        return contracts
