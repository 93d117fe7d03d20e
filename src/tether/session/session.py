"""The live session: what is typed becomes a task (when none runs), a rule (while one
runs), an answer (to a review or a question) or a command (``/…``, in ``commands.py``).

Tasks run as ``tether do`` runs them (``workflow.do.do_task``: the same task factory,
loop, guard and gates) with two additions: the session's rules, followed live by the
running task's action policy and diff contract (``guard.live.LiveRules``), and the
developer's steering (``steering.py``). The prompt stays usable while a task runs."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

from tether.agent.outcomes import TaskResult, TaskStatus
from tether.agent.seams import Review
from tether.errors import TetherError
from tether.guard.live import LiveRules
from tether.rules.compiler import compile_rules
from tether.rules.paths import RepoFiles
from tether.rules.rule import Rule, active
from tether.session.printer import SessionPrinter
from tether.session.state import SessionState
from tether.session.steering import SessionSteering
from tether.ui.console import status_color
from tether.workflow.constraints import files_of
from tether.workflow.do import do_task
from tether.workflow.tasks import TaskFlags
from tether.workflow.undoing import diff_since
from tether.workspace import Workspace

LEAVE_WINDOW_S = 3.0  # a second Ctrl-C within this leaves the session
RULE_START = re.compile(
    r"^(?:only|just|nothing|don'?t|do not|never|no|keep|leave|protect|max|at most|stay|"
    r"tests are|types|scope:|protect:|keep:|allow:|may delete:|max diff:|no running:)\b"
)


class Session:
    def __init__(self, ws: Workspace, console: Console):
        self.ws = ws
        self.console = console
        self.state = SessionState.load(ws.root)
        self.live = LiveRules(self.state.rules)
        self.steering = SessionSteering(self._show_step, review=self.state.review)
        self.printer = SessionPrinter(console, live=False)  # the prompt owns the screen
        ws.log.subscribe(self.printer)
        self.current: asyncio.Task[Any] | None = None
        self.current_label = ""
        self.last_instruction = ""
        self.last_result: TaskResult | None = None
        self.confirm: tuple[list[Rule], str] | None = None  # the planner's rules, to confirm
        self.quitting = False
        self._last_interrupt = 0.0
        self._files: RepoFiles | None = None
        self._stop_process: Callable[[], None] | None = None

    # --- what the prompt shows ---------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.current is not None and not self.current.done()

    def prompt_text(self) -> str:
        if self.steering.waiting:
            return f"review step {self.steering.waiting_step} [y/n/rule] ▸ "
        if self.confirm is not None:
            return "apply these rules? [y/n] ▸ "
        if self.running:
            return "tether (running · /stop) ▸ "
        return "tether ▸ "

    def greet(self) -> None:
        self.say("[bold]tether[/] — type a task; while it runs, type a constraint; /help")
        if self.state.problem:
            self.say(f"[yellow]note:[/] {escape(self.state.problem)}")
        if self.state.rules:
            self.say(f"resumed with {len(self.state.rules)} rule(s) from the last session:")
            self.show_rules()
        if self.state.review:
            self.say("review mode is on (/review off)")
        if self.state.task:
            said = escape(str(self.state.task.get("instruction", "")))
            self.say(
                f"[yellow]the last session's task was cut off:[/] {said}; its edits are "
                "kept; /undo restores the tree before it, or type it again"
            )
            self.state.ended()

    def say(self, text: str) -> None:
        self.console.print(text)

    # --- one line typed -------------------------------------------------------------------

    def interrupt(self) -> bool:
        """Ctrl-C: stop the task at its next step boundary; a second one leaves after
        that clean stop. Idle, a second one within a few seconds leaves. False: leave."""
        now = time.monotonic()
        again = now - self._last_interrupt < LEAVE_WINDOW_S
        self._last_interrupt = now
        if self.running:
            if self.steering.stopping or again:
                self.say("leaving once the task has stopped at a step boundary …")
                self.quitting = True
                self.stop()
                return False
            self.stop()
            return True
        if again:
            return False
        self.say("[dim](Ctrl-C again, Ctrl-D or /quit to leave)[/]")
        return True

    def stop(self) -> None:
        if not self.running:
            self.say("no task is running")
            return
        if not self.steering.stopping:
            self.say("[yellow]stopping at the next step boundary[/] (no edit is cut in half)")
        self.steering.stop()
        if self._stop_process is not None:
            self._stop_process()

    async def close(self) -> None:
        """Wait for a running task to end (after a stop, at a step boundary)."""
        if self.current is not None:
            with contextlib.suppress(asyncio.CancelledError, TetherError):
                await self.current

    # --- tasks ----------------------------------------------------------------------------

    def looks_like_rule(self, text: str) -> bool:
        """Typed while no task runs, "only src/a.py" or "don't touch types" is a rule for
        the session, not a task: it starts like a constraint and compiles entirely."""
        if not RULE_START.match(text.strip().lower()):
            return False
        compiled = compile_rules(text, self.files, "session")
        return bool(compiled.rules) and not compiled.unparsed and not compiled.problems

    def start_task(self, instruction: str) -> None:
        self.last_instruction = instruction
        self.launch(instruction[:40], lambda: self._task(instruction))

    def launch(self, label: str, make: Callable[[], Awaitable[Any]]) -> None:
        """Run ``make()`` in the background; the prompt stays usable."""
        self.steering.reset()
        self.current_label = label

        async def guarded() -> None:
            try:
                await make()
            except TetherError as exc:
                self.say(f"[bold red]error:[/] {escape(exc.render())}")
            except Exception as exc:  # a bug of tether's: said, kept, the session goes on
                where = self.state.path.parent / "error.log"
                where.parent.mkdir(parents=True, exist_ok=True)
                with where.open("a", encoding="utf-8") as log:
                    log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {label}\n")
                    log.write("".join(traceback.format_exception(exc)))
                self.say(
                    f"[bold red]internal error[/] ({type(exc).__name__}: {escape(str(exc))}); "
                    f"the details are in {where}; please report it"
                )
            finally:
                self._stop_process = None

        self.current = asyncio.ensure_future(guarded())

    async def _task(self, instruction: str) -> None:
        self.state.started(instruction)
        try:
            result = await do_task(
                self.ws, instruction, TaskFlags(), live=self.live, steering=self.steering
            )
        finally:
            self.state.ended()
        self.last_result = result
        self.report(result)

    def report(self, result: TaskResult) -> None:
        color = status_color(str(result.status))
        commit = f" · commit {result.commit[:10]}" if result.commit else ""
        self.say(
            f"[bold {color}]{result.status.label}[/]: {escape(result.reason)} "
            f"[dim]({result.steps} steps · {result.seconds:.1f}s · "
            f"{len(result.changed)} file(s){commit})[/]"
        )
        if result.status is TaskStatus.INTERRUPTED:
            self.say("[dim]the tree is as the last step left it; /undo restores it[/]")

    # --- rules ----------------------------------------------------------------------------

    @property
    def files(self) -> RepoFiles:
        if self._files is None:
            self._files = files_of(self.ws.root)
        return self._files

    async def constrain(self, text: str) -> None:
        """A constraint in plain words: compiled, echoed, applied from the next step."""
        self._files = None  # new files may have appeared
        compiled = compile_rules(text, self.files, "session")
        for line in compiled.echo(self.files):
            if line.startswith("→ refused"):
                self.say(f"[red]{escape(line)}[/] (rules name paths inside the repository)")
            elif not line.startswith("→ not a rule"):
                self.say(f"[cyan]{escape(line)}[/]")
        if compiled.rules:
            self.add_rules(list(compiled.rules))
        if compiled.unparsed:
            await self._not_understood(" ".join(compiled.unparsed))

    def add_rules(self, rules: list[Rule]) -> None:
        """Apply ``rules`` now: a new scope rule replaces the session's earlier one."""
        if any(r.kind == "scope" for r in rules):
            self.state.rules = [r for r in self.state.rules if r.kind != "scope"]
        self.state.rules = list(active([*self.state.rules, *rules]))
        self.apply("added", rules)

    def apply(self, verb: str, rules: list[Rule]) -> None:
        """The running task's contract follows the session's rules; the model is told."""
        self.state.save()
        contracts = self.live.set(self.state.rules)
        if not contracts:
            if verb == "added":
                self.say("[dim]the rules apply to every task of this session (/rules)[/]")
            return
        said = "\n".join(f"- {r.exact()}" for r in rules)
        self.steering.say(
            f"The developer {verb} rules; they apply from now on and are checked on every "
            f"step's real diff:\n{said}\n\nYour contract now:\n{contracts[0].describe()}"
        )
        self.say("[dim]the running task follows them from its next step[/]")

    async def _not_understood(self, text: str) -> None:
        from tether.workflow.ruleask import ask_planner

        role = self.ws.config.role("planner")
        usable = role.config is not None and role.config.provider != "local"
        if not usable or role.fallback or not role.key_is_set:
            self._advice(text)
            return
        self.say(f"[dim]asking the planner model what {escape(text)!r} means as rules …[/]")
        try:
            proposed = await ask_planner(self.ws, text)
        except TetherError as exc:
            self.say(f"[yellow]the planner could not help ({escape(exc.render())})[/]")
            self._advice(text)
            return
        for rule in proposed:
            self.say(f"[cyan]→ {escape(rule.exact())}[/] [dim](the planner's reading)[/]")
        self.confirm = (proposed, text)

    def answer_confirm(self, text: str) -> None:
        assert self.confirm is not None
        proposed, said = self.confirm
        self.confirm = None
        if text.lower() in ("y", "yes"):
            self.add_rules([r.said("session") for r in proposed])
        else:
            self._advice(said)

    def _advice(self, text: str) -> None:
        self.say(
            f"[yellow]→ not a rule, only advice:[/] {escape(text)} [dim](said to the model)[/]"
        )
        self.add_rules([Rule("advice", what=text, source="session")])

    def show_rules(self) -> None:
        """The session's rules, numbered for /drop, and AGENTS.md's, with their lines."""
        from tether.workflow.constraints import house_rules

        for number, rule in enumerate(self.state.rules, start=1):
            self.say(f"  {number}. {escape(rule.exact())}")
        house = house_rules(self.ws.root)
        for rule in house:
            self.say(f"  ·  {escape(rule.exact())} [dim]({escape(rule.source)}: edit AGENTS.md)[/]")
        if not self.state.rules and not house:
            self.say('no rules yet: type one while a task runs, or /rule "only src/cli.py"')

    # --- review ---------------------------------------------------------------------------

    def _show_step(self, step: int, changed: list[str], before: str, after: str) -> None:
        from tether.workflow.undoing import checkpoints_of

        git = checkpoints_of(self.ws).git
        color = "always" if self.console.is_terminal and not self.console.no_color else "never"
        diff = git.run(
            "-c", f"color.ui={color}", "diff", "--stat", "-p", before, after, check=False
        )
        self.say(f"[bold]step {step} changed {escape(', '.join(changed))}:[/]")
        self.console.print(diff.rstrip(), markup=False, highlight=False)
        self.say(
            "keep it? [bold]y[/] keep · [bold]n[/] roll back (n WHY tells the model why) · "
            "or type a rule"
        )

    def answer_review(self, text: str) -> None:
        word, _, rest = text.partition(" ")
        if word.lower() in ("y", "yes", "keep"):
            self.steering.answer(Review(keep=True))
            self.say("[green]kept[/]")
        elif word.lower() in ("n", "no"):
            self.steering.answer(Review(keep=False, note=rest.strip()))
        elif text.startswith("/"):
            self.say("answer the review first: y, n WHY, or a rule")
        else:
            compiled = compile_rules(text, self.files, "session")
            if not compiled.rules:
                self.say("that is no rule tether can check; answer y, n WHY, or a rule")
                return
            for line in compiled.echo(self.files):
                self.say(f"[cyan]{escape(line)}[/]")
            self.add_rules(list(compiled.rules))
            self.steering.answer(Review(rejudge=True))

    # --- what the commands need -------------------------------------------------------------

    def diff(self) -> str:
        base = ""
        if self.printer.last_base:
            from tether.workflow.undoing import checkpoints_of

            base = checkpoints_of(self.ws).get(self.printer.last_base).tree
        color = self.console.is_terminal and not self.console.no_color
        return diff_since(self.ws, base or None, color=color)

    def track_process(self, stop: Callable[[], None] | None) -> None:
        self._stop_process = stop
