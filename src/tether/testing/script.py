"""Script files for the scripted model server.

``{"default": [TURN, ...], "models": {"<model name>": [TURN, ...]}}`` where a TURN is
``{"content": "text"}``, ``{"tool_calls": [{"name": ..., "arguments": {...}}],
"content": "optional"}`` or ``{"cases": [{"when": "substring", ...TURN}, ..., TURN]}``.
``arguments`` may also be a string, sent as is (to script malformed JSON).

The turn served is the one whose index equals the number of assistant messages in the
request, so parallel conversations follow the script independently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.errors import UsageError

DEFAULT_TEXT = (
    "This is the scripted model server of tether, answering without a script. "
    "It streams this text at the configured speed so that clients can be timed. "
) * 24


@dataclass(frozen=True)
class ScriptedCall:
    name: str
    arguments: str


@dataclass(frozen=True)
class Turn:
    content: str = ""
    tool_calls: tuple[ScriptedCall, ...] = ()


@dataclass(frozen=True)
class Case:
    when: str | None
    turn: Turn


TurnSpec = Turn | tuple[Case, ...]


class ScriptError(UsageError):
    """A script file that cannot be played."""


@dataclass(frozen=True)
class Script:
    default: tuple[TurnSpec, ...]
    models: dict[str, tuple[TurnSpec, ...]]
    endless: bool = False

    @classmethod
    def unscripted(cls) -> Script:
        """Every request gets the same long text (used by ``models --bench``)."""
        return cls(default=(Turn(content=DEFAULT_TEXT),), models={}, endless=True)

    @classmethod
    def from_data(cls, data: Any, where: str = "script") -> Script:
        if not isinstance(data, dict):
            raise ScriptError(
                "a script must be a JSON object",
                where=where,
                hint='use {"default": [...], "models": {...}}',
            )
        unknown = set(data) - {"default", "models"}
        if unknown:
            raise ScriptError(
                f"unknown key(s) {sorted(unknown)}",
                where=where,
                hint="a script has only 'default' and 'models'",
            )
        default = _turns(data.get("default", []), f"{where}: default")
        models_raw = data.get("models", {})
        if not isinstance(models_raw, dict):
            raise ScriptError("'models' must map model names to lists of turns", where=where)
        models = {name: _turns(t, f"{where}: models.{name}") for name, t in models_raw.items()}
        return cls(default=default, models=models)

    def reply(self, model: str, index: int, text: str) -> Turn:
        """The turn for a request with ``index`` assistant messages and this prompt text."""
        turns = self.models.get(model, self.default)
        if self.endless and turns:
            index = min(index, len(turns) - 1)
        if index >= len(turns):
            return Turn(
                content=f"[scripted server] the script has no turn {index} for model "
                f"{model!r} (it has {len(turns)} turn(s))."
            )
        spec = turns[index]
        if isinstance(spec, Turn):
            return spec
        for case in spec:
            if case.when is None or case.when in text:
                return case.turn
        return Turn(
            content=f"[scripted server] no case of turn {index} matched for model {model!r}."
        )


def load_script(path: Path) -> Script:
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScriptError("no such script file", where=where) from None
    except json.JSONDecodeError as exc:
        raise ScriptError(f"invalid JSON: {exc.msg}", where=f"{where}:{exc.lineno}") from None
    return Script.from_data(data, where)


def _turns(raw: Any, where: str) -> tuple[TurnSpec, ...]:
    if not isinstance(raw, list):
        raise ScriptError("expected a list of turns", where=where)
    return tuple(_turn_spec(item, f"{where}[{i}]") for i, item in enumerate(raw))


def _turn_spec(raw: Any, where: str) -> TurnSpec:
    if isinstance(raw, dict) and "cases" in raw:
        cases = raw["cases"]
        if not isinstance(cases, list) or not cases:
            raise ScriptError("'cases' must be a non-empty list", where=where)
        out = []
        for i, case in enumerate(cases):
            if not isinstance(case, dict):
                raise ScriptError("each case must be an object", where=f"{where}.cases[{i}]")
            when = case.get("when")
            if when is not None and not isinstance(when, str):
                raise ScriptError("'when' must be a string", where=f"{where}.cases[{i}]")
            body = {k: v for k, v in case.items() if k != "when"}
            out.append(Case(when=when, turn=_turn(body, f"{where}.cases[{i}]")))
        return tuple(out)
    return _turn(raw, where)


def _turn(raw: Any, where: str) -> Turn:
    if not isinstance(raw, dict):
        raise ScriptError("a turn must be an object", where=where)
    unknown = set(raw) - {"content", "tool_calls"}
    if unknown:
        raise ScriptError(
            f"unknown key(s) {sorted(unknown)} in a turn",
            where=where,
            hint="a turn has 'content' and/or 'tool_calls' (or 'cases')",
        )
    content = raw.get("content", "")
    if not isinstance(content, str):
        raise ScriptError("'content' must be a string", where=where)
    calls = raw.get("tool_calls", [])
    if not isinstance(calls, list):
        raise ScriptError("'tool_calls' must be a list", where=where)
    return Turn(
        content=content,
        tool_calls=tuple(_call(c, f"{where}.tool_calls[{i}]") for i, c in enumerate(calls)),
    )


def _call(raw: Any, where: str) -> ScriptedCall:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ScriptError("a tool call needs a 'name' string", where=where)
    args = raw.get("arguments", {})
    text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return ScriptedCall(name=raw["name"], arguments=text)
