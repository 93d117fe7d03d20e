"""``/save``: the session's rules into AGENTS.md's rules section (every task from now
on) or into one PLAN.md task's contract, as the developer chooses."""

from __future__ import annotations

from rich.markup import escape

from tether.fsutil import atomic_write
from tether.memory.agents_md import with_rules
from tether.session.session import Session
from tether.workflow.planfile import load_plan, save_plan


def save_rules(session: Session, rest: str) -> None:
    rules = session.state.rules
    if not rules:
        session.say("no session rules to save (/rules)")
        return
    words = rest.split()
    where = words[0].lower() if words else ""
    if where in ("agents", "agents.md", "a"):
        _to_agents(session)
    elif where in ("plan", "plan.md", "p") and len(words) == 2:
        _to_plan(session, words[1].upper())
    else:
        session.say(
            f"save {len(rules)} rule(s) where? /save agents (AGENTS.md's rules section: every "
            "task from now on) or /save plan ID (that PLAN.md task's contract)"
        )


def _to_agents(session: Session) -> None:
    path = session.ws.root / "AGENTS.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else "# AGENTS.md\n"
    new, added = with_rules(text, [r.exact() for r in session.state.rules])
    if not added:
        session.say("AGENTS.md has these rules already")
        return
    atomic_write(path, new.encode("utf-8"))
    session.say(f"AGENTS.md: added {len(added)} rule(s) to its rules section:")
    for line in added:
        session.say(f"  - {escape(line)}")


def _to_plan(session: Session, task_id: str) -> None:
    plan = load_plan(session.ws)
    task = plan.get(task_id)
    if task is None:
        session.say(f"there is no task {escape(task_id)} in PLAN.md (/status lists them)")
        return
    have = set(task.values("rule")) | {f"keep: {k}" for k in task.keep}
    added = [r.exact() for r in session.state.rules if r.exact() not in have]
    for line in added:
        if line.startswith("keep: ") and " in " not in line:
            task.items.append(("keep", line.removeprefix("keep: ")))
        else:
            task.items.append(("rule", line))
    save_plan(session.ws, plan)
    session.say(f"PLAN.md {task_id}: added {len(added)} rule(s) to its contract")
