"""``references/contract.toml``: the contract a skill's task kept and the gates that
proved it, with the skill's placeholders.

    [params]            # the values at capture (a replay's defaults)
    module = "src/app/users.py"
    [contract]
    scope = ["{module}", "tests/test_{module.stem}.py"]
    protect = []
    max_diff = 200
    allow_delete = false
    rules = ["keep: types"]          # exact forms, compiled again at replay
    [gates]
    accept = ["pytest -q tests/test_{module.stem}.py"]   # the task's own; run at replay
    proved = ["task `pytest -q` pass 1.2s"]               # what passed at capture
    [source]
    session = "20261202-112024-a1b2"
    task = "T3"
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.errors import UsageError


@dataclass(frozen=True)
class SkillContract:
    params: dict[str, str] = field(default_factory=dict)
    scope: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    max_diff: int | None = None
    allow_delete: bool = False
    rules: tuple[str, ...] = ()
    accept: tuple[str, ...] = ()
    proved: tuple[str, ...] = ()
    source: dict[str, str] = field(default_factory=dict)

    def mapped(self, fill: Callable[[str], str]) -> SkillContract:
        return SkillContract(
            self.params,
            tuple(fill(s) for s in self.scope),
            tuple(fill(p) for p in self.protect),
            self.max_diff,
            self.allow_delete,
            tuple(fill(r) for r in self.rules),
            tuple(fill(a) for a in self.accept),
            self.proved,
            self.source,
        )

    def render(self) -> str:
        lines = ["[params]", *(f"{k} = {_s(v)}" for k, v in self.params.items()), ""]
        lines += [
            "[contract]",
            f"scope = {_list(self.scope)}",
            f"protect = {_list(self.protect)}",
            *([f"max_diff = {self.max_diff}"] if self.max_diff else []),
            f"allow_delete = {'true' if self.allow_delete else 'false'}",
            f"rules = {_list(self.rules)}",
            "",
            "[gates]",
            f"accept = {_list(self.accept)}",
            f"proved = {_list(self.proved)}",
            "",
            "[source]",
            *(f"{k} = {_s(v)}" for k, v in self.source.items()),
        ]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> SkillContract:
        if not path.is_file():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            contract, gates = data.get("contract", {}), data.get("gates", {})
            return cls(
                params={str(k): str(v) for k, v in data.get("params", {}).items()},
                scope=_strings(contract.get("scope")),
                protect=_strings(contract.get("protect")),
                max_diff=int(contract["max_diff"]) if contract.get("max_diff") else None,
                allow_delete=bool(contract.get("allow_delete", False)),
                rules=_strings(contract.get("rules")),
                accept=_strings(gates.get("accept")),
                proved=_strings(gates.get("proved")),
                source={str(k): str(v) for k, v in data.get("source", {}).items()},
            )
        except (tomllib.TOMLDecodeError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(
                f"{path}: not a skill contract ({exc})",
                hint="fix the TOML by hand, or capture the skill again",
            ) from exc


def _s(value: str) -> str:
    # a JSON string is a TOML basic string, but for DEL, which TOML wants escaped
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_s(v) for v in values) + "]"


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {value!r}")
    return tuple(str(v) for v in value)
