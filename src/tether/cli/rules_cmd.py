"""``tether rules``: what a constraint compiles to, without running anything; and the
``--keep`` / ``--rule`` options that ``do``, ``run`` and ``variants`` share."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from tether.ui.console import out

if TYPE_CHECKING:
    from tether.rules.rule import Rule
    from tether.workspace import Workspace


def keep_option() -> Any:
    return typer.Option(
        [],
        "--keep",
        help="Keep types, signatures, deps or tests unchanged (repeatable; checked on the diff).",
    )


def rule_option() -> Any:
    return typer.Option(
        [],
        "--rule",
        help='A constraint in plain words, e.g. "only src/cli.py, no new deps" (repeatable).',
    )


def flag_rules(ws: Workspace, keep: list[str], rule: list[str]) -> tuple[Rule, ...]:
    """``--keep`` and ``--rule``, compiled; each rule is echoed in its exact form."""
    if not keep and not rule:
        return ()
    from rich.markup import escape

    from tether.workflow.constraints import command_line_rules

    rules = command_line_rules(ws.root, keep, rule, note=lambda text: ws.log.note_once(text, text))
    for item in rules:
        if item.enforced:
            out().print(f"[cyan]→ {escape(item.exact())}[/]")
    return rules


def rules(
    text: str = typer.Argument(..., help="A constraint in plain words."),
    as_json: bool = typer.Option(False, "--json", help="Print the rules as JSON."),
    ask: bool = typer.Option(
        False, "--ask", help="Ask the planner model about what the compiler cannot read."
    ),
) -> None:
    """Show what a constraint compiles to (the rules and what each path matches).

    Example: tether rules "only src/cli.py and its tests, and don't touch the types"
    """
    from rich.markup import escape

    from tether.rules.compiler import compile_rules
    from tether.workflow.constraints import files_of
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=False)
    files = files_of(ws.root)
    compiled = compile_rules(text, files)
    proposed: list[Rule] = []
    if ask and compiled.unparsed:
        from tether.cli.running import run_cancellable
        from tether.workflow.ruleask import ask_planner

        proposed = run_cancellable(lambda: ask_planner(ws, " ".join(compiled.unparsed)))
    if as_json:
        data = {
            "rules": [r.to_json() for r in compiled.rules],
            "unparsed": list(compiled.unparsed),
            "proposed": [r.to_json() for r in proposed],
        }
        print(json.dumps(data, indent=2))
        return
    for line in compiled.echo(files):
        out().print(escape(line))
    for rule in proposed:
        out().print(f"→ {escape(rule.exact())} [dim](the planner's reading; check it)[/]")
    if compiled.unparsed and not ask:
        out().print(
            "[dim]what is not a rule goes to the model as advice; --ask asks the planner "
            "model for a rule[/]"
        )
