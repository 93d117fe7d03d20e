"""The session's live lines: the progress printer of every command, plus what pairing
needs: a step's diff stat, a rollback with the rule that caused it, the files the
developer changed meanwhile."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from tether.ui.progress import ProgressPrinter


class SessionPrinter(ProgressPrinter):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.last_base = ""  # the running (or last) task's base checkpoint
        self._violations: dict[int, list[tuple[str, str]]] = {}

    def _on_task_start(self, event: dict[str, Any]) -> None:
        self.last_base = str(event.get("base") or "")
        self._violations = {}
        super()._on_task_start(event)

    def _on_step(self, event: dict[str, Any]) -> None:
        super()._on_step(event)
        changed = event.get("changed") or []
        tokens = (
            f"{int(event.get('input_tokens') or 0):,} in · "
            f"{int(event.get('output_tokens') or 0):,} out tokens"
        )
        if changed:
            shown = ", ".join(changed[:4]) + (f" +{len(changed) - 4}" if len(changed) > 4 else "")
            tokens += f" · changed {escape(shown)} · task diff {event.get('diff_lines', 0)} lines"
        self.console.print(f"      [dim]{tokens}[/]")

    def _on_violation(self, event: dict[str, Any]) -> None:
        step = int(event.get("step") or 0)
        self._violations.setdefault(step, []).append(
            (str(event.get("rule")), str(event.get("detail")))
        )
        super()._on_violation(event)

    def _on_rollback(self, event: dict[str, Any]) -> None:
        step = int(event.get("step") or 0)
        paths = ", ".join(event.get("paths") or []) or "nothing to restore"
        if event.get("by") == "review":
            self.console.print(
                f"      [yellow]↺ step {step} rolled back on review[/] ({escape(paths)})"
            )
            return
        found = self._violations.get(step) or [("the contract", "")]
        rule, detail = found[-1]
        self.console.print(
            f"      [yellow]↺ step rolled back: {escape(rule)} — {escape(detail)}[/] "
            f"[dim]({escape(paths)})[/]"
        )

    def _on_user_edit(self, event: dict[str, Any]) -> None:
        paths = ", ".join(event.get("paths") or [])
        self.console.print(
            f"      [magenta]✎ you changed {escape(paths)}[/] [dim](yours: kept, never rolled "
            "back, not in the task's commit)[/]"
        )
