"""The session's ``/`` commands. Each one parses its words and calls one function of the
workflow (or runs the matching ``tether`` command, whose output it shows)."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable

from rich.markup import escape

from tether.errors import TetherError
from tether.session.session import Session

HELP = """\
type a task to run it; while it runs, type a constraint ("only src/a.py", "don't touch
types", "no new deps", "keep the diff under 40 lines"): it becomes an enforced rule.
  /stop (Esc, Ctrl-C)    stop at the next step boundary; Ctrl-C twice leaves after it
  /rules                 the rules in force; /drop N removes session rule N
  /rule TEXT             add a rule while no task runs
  /save agents | plan ID write the session's rules into AGENTS.md or a PLAN.md task
  /review on|off         after each step that changed files: y keep, n [why] roll back
  /diff                  the task's diff so far (or the tree's against HEAD)
  /undo                  restore the tree to before the last task
  /checkpoints           tether's checkpoints, newest first
  /plan GOAL             the planner writes PLAN.md tasks for GOAL
  /run [ID]              run the next PLAN.md task (or ID) under the session's rules
  /variants N [STYLES]   N variants of the last task (STYLES: "minimal,bold")
  /pick RUN K            apply variant K of RUN
  /skills [ARGS]         tether skills: list, capture --last --name N, replay N, ...
  /verify                run the gates now
  /status                the plan, the last session, this session
  /quit                  leave (Ctrl-D too)
Alt-Enter (or a line ending in \\) continues on a new line."""

IDLE_ONLY = {"undo", "plan", "run", "variants", "pick", "verify"}
Handler = Callable[[Session, str], Awaitable[None]]


async def handle(session: Session, line: str) -> bool:
    """Act on one typed line; False when the session should end. A review or a question
    waiting is answered first; then ``/`` commands; then a rule while a task runs, or
    else a new task."""
    text = line.strip()
    if not text:
        return True
    if session.steering.waiting:
        session.answer_review(text)
        return True
    if session.confirm is not None and not text.startswith("/"):
        session.answer_confirm(text)
        return True
    if text.startswith("/"):
        return await run_command(session, text)
    if session.running:
        await session.constrain(text)
    elif session.looks_like_rule(text):
        await session.constrain(text)
        session.say("[dim]type a task to start; the rule applies to it[/]")
    else:
        session.start_task(text)
    return True


async def run_command(session: Session, text: str) -> bool:
    """Run one ``/`` command; False when the session should end."""
    name, _, rest = text[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    if name in ("quit", "exit", "q"):
        if session.running:
            session.quitting = True
            session.stop()
        return False
    handler = COMMANDS.get(name)
    if handler is None:
        close = [c for c in COMMANDS if c.startswith(name[:2])] if name else []
        hint = f" (did you mean /{close[0]}?)" if close else ""
        session.say(f"[red]unknown command /{escape(name)}[/]{hint}; /help lists them")
        return True
    if name in IDLE_ONLY and session.running:
        session.say(f"a task is running: /stop it first, then /{name}")
        return True
    try:
        await handler(session, rest)
    except TetherError as exc:
        session.say(f"[bold red]error:[/] {escape(exc.render())}")
    return True


async def _help(session: Session, rest: str) -> None:
    session.console.print(HELP, markup=False, highlight=False)


async def _stop(session: Session, rest: str) -> None:
    session.stop()


async def _rules(session: Session, rest: str) -> None:
    session.show_rules()


async def _rule(session: Session, rest: str) -> None:
    if not rest:
        session.say('say the rule: /rule "only src/cli.py"')
        return
    await session.constrain(rest)


async def _drop(session: Session, rest: str) -> None:
    rules = session.state.rules
    if not rest.isdigit() or not 1 <= int(rest) <= len(rules):
        session.say(
            f"/drop N, with N from /rules (1 to {len(rules)})" if rules else "no session rules"
        )
        return
    dropped = rules.pop(int(rest) - 1)
    session.say(f"dropped: {escape(dropped.exact())}")
    session.apply("dropped", [dropped])


async def _save(session: Session, rest: str) -> None:
    from tether.session.saving import save_rules

    save_rules(session, rest)


async def _review(session: Session, rest: str) -> None:
    if rest.lower() not in ("on", "off", ""):
        session.say("/review on or /review off")
        return
    on = rest.lower() != "off"
    session.steering.review_mode = on
    session.state.review = on
    session.state.save()
    what = "each step that changes files waits for y, n WHY or a rule" if on else "off"
    session.say(f"review mode: {what}")


async def _diff(session: Session, rest: str) -> None:
    diff = await asyncio.to_thread(session.diff)
    if not diff.strip():
        session.say("no changes")
        return
    session.console.print(diff.rstrip(), markup=False, highlight=False)


async def _undo(session: Session, rest: str) -> None:
    from tether.workflow.undoing import undo_last

    undone = await asyncio.to_thread(undo_last, session.ws, rest == "step")
    result = undone.result
    session.say(
        f"restored {len(result.restored)} file(s) to the {result.target.kind} checkpoint "
        f"{result.target.sha[:10]}"
        + (f"; {undone.reopened} is open again" if undone.reopened else "")
    )
    if result.uncommitted:
        session.say(f"moved the branch back over {result.uncommitted[:10]}")
    session.say(
        f"[dim]the state before this undo is saved: `tether undo --to "
        f"{result.saved.sha[:10]}` brings it back[/]"
    )


async def _checkpoints(session: Session, rest: str) -> None:
    from tether.workflow.undoing import history

    found = await asyncio.to_thread(history, session.ws, 10)
    if not found:
        session.say("no checkpoints yet")
    for cp in found:
        when = cp.time.astimezone().strftime("%H:%M:%S")
        step = f" step {cp.step}" if cp.step else ""
        session.say(f"{cp.sha[:10]}  {when}  {cp.kind}{step}  [dim]{escape(cp.task[:50])}[/]")


async def _plan(session: Session, rest: str) -> None:
    from tether.workflow.plan import plan_goal

    if not rest:
        session.say("/plan GOAL: what you want done")
        return

    async def planning() -> None:
        tasks = await plan_goal(session.ws, rest)
        for task in tasks:
            session.say(f"  [ ] {task.id}: {escape(task.title)}")
        session.say("[dim]/run runs the next one[/]")

    session.launch("plan", planning)


async def _run(session: Session, rest: str) -> None:
    from tether.workflow.run import run_plan

    async def running() -> None:
        report = await run_plan(
            session.ws, rest or None, live=session.live, steering=session.steering
        )
        if not report.results:
            session.say("nothing to run: every task in PLAN.md is done or failed")
        for task_id, status, reason in report.results:
            session.say(f"[bold]{task_id} {status}[/]: {escape(reason)}")

    session.launch(rest or "next task", running)


async def _variants(session: Session, rest: str) -> None:
    words = rest.split(maxsplit=1)
    if not words or not words[0].isdigit():
        session.say("/variants N [STYLES]: N variants of the last task")
        return
    if not session.last_instruction:
        session.say("type a task first: /variants runs variants of the last one")
        return
    args = ["variants", session.last_instruction, "-n", words[0]]
    if len(words) > 1:
        args += ["--styles", words[1]]
    for rule in session.state.rules:
        args += ["--rule", rule.exact()]
    await _tether(session, args)


async def _pick(session: Session, rest: str) -> None:
    words = rest.split()
    if len(words) != 2 or not words[1].isdigit():
        session.say("/pick RUN K (from /variants' gallery)")
        return
    await _tether(session, ["pick", *words])


async def _verify(session: Session, rest: str) -> None:
    await _tether(session, ["verify", *shlex.split(rest)])


async def _skills(session: Session, rest: str) -> None:
    try:
        words = shlex.split(rest)
    except ValueError as exc:  # an unclosed quote
        session.say(f"/skills: {escape(str(exc))}")
        return
    reads = not words or words[0] in ("list", "show", "--help", "-h")
    if not reads and session.running:  # capture, replay, certify, rm: the tree is busy
        session.say(f"a task is running: /stop it first, then /skills {escape(rest)}")
        return
    await _tether(session, ["skills", *(words or ["list"])], background=not reads)


async def _status(session: Session, rest: str) -> None:
    await _tether(session, ["status"], background=False)
    running = f"running: {escape(session.current_label)}" if session.running else "idle"
    review = "on" if session.steering.review_mode else "off"
    session.say(
        f"[bold]this session[/]: {running} · {len(session.state.rules)} rule(s) · review {review}"
    )


async def _tether(session: Session, args: list[str], background: bool = True) -> None:
    """Run a ``tether`` command in a child process and show its output as it comes."""

    async def child() -> None:
        env = {**os.environ, "COLUMNS": str(session.console.width)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tether", *args, cwd=session.ws.root, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        session.track_process(lambda: process.send_signal(signal.SIGINT))
        assert process.stdout is not None
        async for raw in process.stdout:
            session.console.print(
                raw.decode(errors="replace").rstrip("\n"), markup=False, highlight=False
            )
        code = await process.wait()
        if code not in (0, 130):
            session.say(f"[dim]tether {escape(args[0])} exited with {code}[/]")

    if background:
        session.launch(args[0], child)
    else:
        await child()


COMMANDS: dict[str, Handler] = {
    "help": _help, "stop": _stop, "rules": _rules, "rule": _rule, "drop": _drop,
    "save": _save, "review": _review, "diff": _diff, "undo": _undo,
    "checkpoints": _checkpoints, "plan": _plan, "run": _run, "variants": _variants,
    "pick": _pick, "verify": _verify, "status": _status, "skills": _skills,
}  # fmt: skip
