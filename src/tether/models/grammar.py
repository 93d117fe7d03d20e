"""GBNF grammars that make a local model's answer one well-formed tool call.

The answer is ``{"tool": "<name>", "arguments": {...}}`` where the arguments follow that
tool's JSON schema: properties in schema order (required ones first), strings without
raw control characters and of bounded length, positive integers where the schema asks.
Written here rather than taken from llama-cpp-python's JSON-schema converter, which let
raw newlines into strings in our trials (so the call did not parse).
"""

from __future__ import annotations

import json
from typing import Any

from tether.models.types import ToolSpec

SHORT = 200  # paths, globs, commands, titles
LONG = 2000  # file content, search/replace text, summaries
LONG_FIELDS = {"content", "search", "replace", "notes", "comments"}

BASE_RULES = {
    "ws": '" "?',
    "char": r'[^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )',
    "posint": "[1-9] [0-9]{0,6}",
    "number": '[0-9]{1,6} ( "." [0-9]{1,3} )?',
    "bool": '"true" | "false"',
}


def _literal(text: str) -> str:
    return json.dumps(json.dumps(text))


class _Builder:
    def __init__(self) -> None:
        self.rules: dict[str, str] = dict(BASE_RULES)

    def rule(self, name: str, body: str) -> str:
        self.rules[name] = body
        return name

    def value(self, schema: dict[str, Any], name: str, field: str) -> str:
        kind = schema.get("type")
        if "anyOf" in schema:
            options = [
                self.value(sub, f"{name}-{i}", field) for i, sub in enumerate(schema["anyOf"])
            ]
            return self.rule(f"{name}-any", " | ".join(options))
        if "enum" in schema:
            return "( " + " | ".join(_literal(str(v)) for v in schema["enum"]) + " )"
        if kind == "string":
            limit = LONG if field in LONG_FIELDS else SHORT
            return self.rule(f"{name}-str", f'"\\"" char{{0,{limit}}} "\\""')
        if kind == "integer":
            return "posint" if schema.get("minimum", 0) >= 1 else '"-"? [0-9]{1,7}'
        if kind == "number":
            return "number"
        if kind == "boolean":
            return "( bool )"
        if kind == "array":
            item = self.value(schema.get("items", {"type": "string"}), f"{name}-item", field)
            return self.rule(
                f"{name}-arr", f'"[" ws ( {item} ( ws "," ws {item} ){{0,30}} )? ws "]"'
            )
        if kind == "object":
            return self.obj(schema, name)
        return self.rule(f"{name}-str", f'"\\"" char{{0,{SHORT}}} "\\""')

    def obj(self, schema: dict[str, Any], name: str) -> str:
        props: dict[str, Any] = schema.get("properties", {})
        required = [p for p in props if p in schema.get("required", [])]
        optional = [p for p in props if p not in required]
        parts = [
            f'{_literal(p)} ws ":" ws {self.value(props[p], f"{name}-{p}", p)}'
            for p in required + optional
        ]
        if required:
            body = ' ws "," ws '.join(parts[: len(required)])
            body += "".join(f' ( ws "," ws {part} )?' for part in parts[len(required) :])
        elif parts:
            body = "( " + parts[0] + "".join(f' ( ws "," ws {p} )?' for p in parts[1:]) + " )?"
        else:
            body = ""
        return self.rule(f"{name}-obj", f'"{{" ws {body} ws "}}"')


Choices = tuple[dict[str, tuple[str, ...]], ...]


def tool_call_grammar(
    tools: tuple[ToolSpec, ...], choices: dict[str, Choices] | None = None
) -> str:
    """A GBNF grammar whose every sentence is one call to one of ``tools``.

    ``choices`` narrows a tool's string arguments: per tool, one or more alternatives,
    each mapping argument names to the values allowed; the call must match one
    alternative (an argument an alternative does not name stays free)."""
    builder = _Builder()
    calls = []
    for tool in tools:
        alternatives = [alt for alt in (choices or {}).get(tool.name, ()) if _usable(alt)]
        if alternatives:
            tool = _restricted(tool, alternatives)
        args = builder.value(tool.parameters, f"t-{tool.name.replace('_', '-')}", "args")
        calls.append(
            builder.rule(
                f"call-{tool.name.replace('_', '-')}",
                f'{_literal(tool.name)} ws "," ws "\\"arguments\\"" ws ":" ws {args}',
            )
        )
    builder.rule("root", '"{" ws "\\"tool\\"" ws ":" ws ( ' + " | ".join(calls) + ' ) ws "}"')
    return "\n".join(f"{name} ::= {body}" for name, body in builder.rules.items())


def _usable(alternative: dict[str, tuple[str, ...]]) -> bool:
    return bool(alternative) and all(values for values in alternative.values())


def _restricted(tool: ToolSpec, alternatives: list[dict[str, tuple[str, ...]]]) -> ToolSpec:
    """``tool`` with its arguments limited to the listed values (anyOf for several)."""
    props: dict[str, Any] = tool.parameters.get("properties", {})
    options = []
    for alternative in alternatives:
        narrowed = {
            name: (
                {"type": "string", "enum": list(alternative[name])}
                if name in alternative
                else schema
            )
            for name, schema in props.items()
        }
        options.append({**tool.parameters, "properties": narrowed})
    schema = options[0] if len(options) == 1 else {"anyOf": options}
    return ToolSpec(tool.name, tool.description, schema)


def parse_tool_answer(text: str) -> tuple[str, str] | None:
    """(tool name, arguments JSON) from a constrained answer, or None if it is cut off."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
        return None
    return data["tool"], json.dumps(data.get("arguments", {}), ensure_ascii=False)
