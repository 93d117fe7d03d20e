"""Live, compact progress from session events: one line a step, not the model's output."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from tether.ui.console import status_color
from tether.ui.waiting import GatesWaiting

# uncovered: the gate ran but no test is known to reach the change (not a failure)
STATUS_COLORS = {"pass": "green", "skip": "dim", "uncovered": "yellow", "preexisting": "yellow"}


class ProgressPrinter:
    """Subscribe to an EventLog; prints what a supervisor needs to see."""

    def __init__(
        self,
        console: Console,
        verbose: bool = False,
        prefix: str = "",
        brief: bool = False,
        live: bool | None = None,
    ):
        """``live``: the "gates running" line as a Rich live display (default: on a
        terminal, and not for ``brief`` variant lines, which share one console)."""
        self.console = console
        self.verbose = verbose
        self.prefix = escape(prefix)
        self.brief = brief
        self._sandbox_noted = False
        live = console.is_terminal and not brief if live is None else live
        self.waiting = GatesWaiting(console, live, self.prefix)
        self._held: list[dict[str, Any]] = []  # fix-tier gates: shown after their step
        self._context_band = -1  # the tenth of the context last shown

    def __call__(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type"))
        if self.brief and kind in ("context", "task_start"):
            return
        if self.brief and kind == "gate" and event.get("status") in ("pass", "skip"):
            return  # a variant's passing gates are in its gallery card; failing ones show
        if kind == "gate":
            self.waiting.one_ended()
            if event.get("tier") == "fix":
                self._held.append(event)  # the fix tier runs before its step's event
                return
        elif kind in ("step_gates", "task_gates", "task_end"):
            self.waiting.stop()
        handler = getattr(self, "_on_" + kind, None)
        if handler is not None:
            handler(event)
        if kind == "step":
            held, self._held = self._held, []
            for gate in held:
                self._on_gate(gate)

    def _on_gates_start(self, event: dict[str, Any]) -> None:
        if self.brief:
            return  # variants share the console; their cards show the gates
        self.waiting.start(str(event.get("tier")), [str(g) for g in event.get("gates") or []])

    def _on_note(self, event: dict[str, Any]) -> None:
        self.console.print(f"[yellow]note:[/] {escape(str(event.get('text')))}")

    def _on_sandbox(self, event: dict[str, Any]) -> None:
        if event.get("kind") == "none" and not self._sandbox_noted:
            self._sandbox_noted = True
            self.console.print(f"[yellow]note:[/] {escape(str(event.get('note')))}")

    def _on_task_start(self, event: dict[str, Any]) -> None:
        contract = event.get("contract") or {}
        scope = ", ".join(contract.get("scope") or []) or "whole repo"
        self.console.print(
            f"[bold]task[/] {escape(str(event.get('title')))}  "
            f"[dim](scope: {escape(scope)} · max diff {contract.get('max_diff')} · "
            f"≤{event.get('max_steps')} steps · {escape(str(event.get('model')))})[/]"
        )
        rules = [r for r in contract.get("rules") or [] if not str(r).startswith("advice:")]
        if rules:
            self.console.print(f"      [dim]rules: {escape(' · '.join(rules))}[/]")

    def _on_step(self, event: dict[str, Any]) -> None:
        tools = event.get("tools") or []
        parts = []
        for tool in tools:
            mark = "[green]✓[/]" if tool.get("ok") else "[red]✗[/]"
            parts.append(f"{tool.get('name')} {escape(str(tool.get('summary') or ''))} {mark}")
        if not parts:
            parts.append("[dim](no tool call)[/]")
        inp = event.get("input_tokens") or 0
        cached = event.get("cached_tokens") or 0
        share = f"{cached / inp:.0%}" if inp else "-"
        self.console.print(
            f"{self.prefix}  [cyan]{event.get('step'):>3}[/] │ "
            + " · ".join(parts)
            + f" [dim]│ {event.get('model_s', 0):.2f}s · {event.get('output_tps', 0):,.0f} tok/s"
            f" · {share} cached[/]"
        )

    def _on_task_end(self, event: dict[str, Any]) -> None:
        if self.brief:
            color = status_color(str(event.get("status")))
            self.console.print(
                f"{self.prefix}[{color}]{event.get('status')}[/]: "
                f"{escape(str(event.get('reason')))}"
            )

    def _on_violation(self, event: dict[str, Any]) -> None:
        rule = str(event.get("rule"))
        if ":" in rule or " " in rule:  # a compiled rule, named in its exact form
            self.console.print(
                f"      [red]guard[/] {event.get('layer')} [bold]{escape(rule)}[/] — "
                f"{escape(str(event.get('detail')))}"
            )
            return
        self.console.print(
            f"      [red]guard[/] {event.get('layer')}:{rule} {escape(str(event.get('detail')))}"
        )

    def _on_rollback(self, event: dict[str, Any]) -> None:
        paths = ", ".join(event.get("paths") or []) or "nothing to restore"
        self.console.print(f"      [yellow]↺ rolled back[/] {escape(paths)}")

    def _on_gate(self, event: dict[str, Any]) -> None:
        status = str(event.get("status"))
        color = STATUS_COLORS.get(status, "red")
        asked = event.get("asked_by") or []
        once = f" · asked by {' and '.join(asked)}, run once" if len(asked) > 1 else ""
        self.console.print(
            f"      [{color}]gate {event.get('tier')} {status}[/] {escape(str(event.get('gate')))} "
            f"[dim]{event.get('seconds', 0):.2f}s {escape(str(event.get('summary') or ''))}"
            f"{escape(once)}[/]"
        )
        if status not in STATUS_COLORS:
            # a failing gate's own output, not only what the model is told
            lines = [ln for ln in str(event.get("details") or "").splitlines() if ln.strip()]
            for line in lines[:8]:
                self.console.print(f"{self.prefix}        [dim]{escape(line[:160])}[/]")
            if event.get("log"):
                self.console.print(f"{self.prefix}        [dim]full output: {event['log']}[/]")

    def _on_context(self, event: dict[str, Any]) -> None:
        """Shown when the context enters a new tenth of what it may hold before the
        handoff (the first reading included), not after every step: twenty meter lines
        between twenty step lines were noise, and each cost a render between calls."""
        used, limit = int(event.get("used") or 0), int(event.get("limit") or 1)
        band = min(10, used * 10 // limit)
        if band <= self._context_band:
            return
        self._context_band = band
        eta = event.get("eta_s")
        left = f" · handoff in ~{eta:.0f}s" if isinstance(eta, (int, float)) else ""
        self.console.print(
            f"      [dim]context {used:,} of {limit:,} tokens before handoff "
            f"({used / limit:.0%}) · +{float(event.get('rate_tps') or 0):,.0f} tok/s{left}[/]"
        )

    def _on_handoff(self, event: dict[str, Any]) -> None:
        self.console.print(f"  [magenta]handoff[/] {escape(str(event.get('reason')))}")
