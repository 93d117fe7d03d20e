"""``tether skills capture``: a task that ended done with passing gates becomes a skill
folder: SKILL.md (the planner's words, or the steps said plainly), the trajectory with
the task's net change, and the contract and gates that proved it, generalised by the
parameters."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from tether.errors import UsageError
from tether.skills.contract import SkillContract
from tether.skills.edits import FileEdit, NotText, file_edit
from tether.skills.params import clashes, generalise
from tether.skills.store import (
    CONTRACT,
    PARAMS_KEY,
    TRAJECTORY,
    SkillStore,
    write_skill_md,
)
from tether.skills.trajectory import Call, Trajectory, calls_of
from tether.vcs.diff import tree_changes
from tether.vcs.git import Git
from tether.workflow.recorded import Recorded, find_recorded
from tether.workflow.tasks import TaskFactory

SKILL_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# The planner's words: (the session as text, the parameter names) → (description, body)
Writer = Callable[[str, tuple[str, ...]], Awaitable[tuple[str, str]]]


@dataclass(frozen=True)
class CaptureRequest:
    name: str
    task_id: str | None = None  # None: the newest task
    params: dict[str, str] | None = None
    description: str = ""
    personal: bool = False
    force: bool = False


@dataclass(frozen=True)
class Captured:
    folder: Path
    recorded: Recorded
    files: int
    calls: int
    written_by: str  # "planner" or "tether"


def check_name(name: str) -> None:
    if len(name) > 64 or not SKILL_NAME.match(name):
        raise UsageError(
            f"{name!r} is not a skill name",
            hint="lowercase letters, digits and single hyphens, at most 64 (e.g. fix-typo)",
        )


async def capture(
    store: SkillStore, factory: TaskFactory, request: CaptureRequest, writer: Writer | None
) -> Captured:
    """Write the skill; refuses (UsageError, nothing written) a task that cannot be one."""
    check_name(request.name)
    folder = store.target(request.name, request.personal)
    if folder.exists() and not request.force:
        raise UsageError(
            f"skill {request.name} exists already ({folder})",
            hint="choose another --name, or --force to replace it",
        )
    recorded = find_recorded(store.root, request.task_id)
    refusal = recorded.refusal()
    if refusal:
        raise UsageError(refusal)
    params = request.params or {}
    raw = Trajectory(
        _task_fields(recorded), calls_of(recorded.steps), _net_change(store.root, recorded)
    )
    _check_params(raw, params)
    trajectory = raw.mapped(lambda text: generalise(text, params))
    contract = _contract(recorded, factory, params)
    if request.description:
        description, body, by = request.description, plain_procedure(trajectory, contract), "tether"
    elif writer is not None:
        session = describe_session(trajectory, contract)
        description, body = await writer(session, tuple(params))
        by = "planner"
    else:
        description, body = plain_description(trajectory), plain_procedure(trajectory, contract)
        by = "tether"
    _write(folder, request, description, body, trajectory, contract)
    return Captured(folder, recorded, len(trajectory.files), len(trajectory.calls), by)


def _write(
    folder: Path,
    request: CaptureRequest,
    description: str,
    body: str,
    trajectory: Trajectory,
    contract: SkillContract,
) -> None:
    """Build the skill beside its place and move it in only when valid: a refused one,
    or a crash, never costs the skill it replaces (``--force``)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{request.name}.", dir=folder.parent))
    new = building / request.name  # skills-ref wants the folder named as the skill
    metadata = {PARAMS_KEY: ", ".join(request.params or {})} if request.params else {}
    front: dict[str, object] = {"name": request.name, "description": description}
    if metadata:
        front["metadata"] = metadata
    try:
        trajectory.write(new / TRAJECTORY)
        contract.write(new / CONTRACT)
        problems = write_skill_md(new, front, body)
        if problems:
            raise UsageError(f"the skill would not be valid: {problems[0]}", hint="see skills-ref")
        old = building / "replaced"
        if folder.exists():
            folder.rename(old)
        new.rename(folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _task_fields(recorded: Recorded) -> dict[str, object]:
    return {
        "title": recorded.end.get("title", ""),
        "instruction": recorded.start.get("instruction") or recorded.start.get("title", ""),
        "model": recorded.start.get("model", ""),
        "steps": recorded.end.get("steps", 0),
        "max_steps": recorded.start.get("max_steps", 0),
        "summary": _summary(recorded),
    }


def _summary(recorded: Recorded) -> str:
    for step in reversed(recorded.steps):
        for tool in step.get("tools", []):
            args = tool.get("args")
            if tool.get("name") == "done" and isinstance(args, dict):
                return str(args.get("summary", ""))
    return ""


def _net_change(root: Path, recorded: Recorded) -> list[FileEdit]:
    git = Git(root)
    base, final = recorded.end["base_tree"], recorded.end["final_tree"]
    changes = tree_changes(git, base, final)
    specs = [s for c in changes for s in (f"{base}:{c.path}", f"{final}:{c.path}")]
    blobs = git.read_objects(specs)
    edits = []
    for n, change in enumerate(changes):
        try:
            edits.append(file_edit(change.path, blobs[2 * n], blobs[2 * n + 1]))
        except NotText as exc:
            raise UsageError(
                f"{recorded.label} changed a file that is not text: {exc}",
                hint="a skill holds text edits; capture a task that changes text files",
            ) from None
    if not edits:
        raise UsageError(f"{recorded.label} changed no file", hint="capture a task with a change")
    return edits


def _check_params(raw: Trajectory, params: dict[str, str]) -> None:
    texts = raw.texts()
    for name, value in params.items():
        if not any(generalise(t, {name: value}) != t for t in texts):
            raise UsageError(
                f"--param {name}={value}: {value!r} does not occur in the session",
                hint="a parameter names a path or a name the task used (e.g. the file it changed)",
            )
        found = sorted({c for t in texts for c in clashes(t, (name,))})
        if found:
            raise UsageError(
                f"--param {name}: the session's code holds {found[0]} already",
                hint="choose another parameter name",
            )


def _contract(recorded: Recorded, factory: TaskFactory, params: dict[str, str]) -> SkillContract:
    """The task's contract without the house rules (AGENTS.md applies at every replay
    anyway), generalised."""
    fields = recorded.start.get("contract", {})
    house = {r.exact() for r in factory.house_rules}
    proved = [
        f"{g['tier']} `{g['gate']}` {g['status']} {g.get('seconds', 0)}s"
        for g in recorded.end.get("gates", [])
        if g.get("status") == "pass"
    ]

    def fill(text: str) -> str:
        return generalise(text, params)

    return SkillContract(
        params=dict(params),
        scope=tuple(fill(s) for s in fields.get("scope", [])),
        protect=tuple(fill(p) for p in fields.get("protect", [])),
        max_diff=fields.get("max_diff"),
        allow_delete=bool(fields.get("allow_delete", False)),
        rules=tuple(fill(r) for r in fields.get("rules", []) if r not in house),
        accept=tuple(fill(a) for a in fields.get("accept", [])),
        proved=tuple(dict.fromkeys(fill(p) for p in proved)),
        source={"session": recorded.session, "task": str(recorded.end.get("task") or "")},
    )


# --- the skill in words, when no planner writes it ------------------------------------


def _said(call: Call) -> str:
    a = call.args
    match call.tool:
        case "read_file":
            return f"Read `{a.get('path', '')}`."
        case "list_files":
            return f"List the files{' matching `' + str(a['glob']) + '`' if a.get('glob') else ''}."
        case "search":
            return f"Search for `{a.get('pattern', '')}`."
        case "edit_file":
            old = _first_line(str(a.get("search", "")))
            new = _first_line(str(a.get("replace", "")))
            return f"In `{a.get('path', '')}`, change `{old}` to `{new}`."
        case "create_file":
            return f"Create `{a.get('path', '')}`."
        case "delete_file":
            return f"Delete `{a.get('path', '')}`."
        case "run":
            return f"Run `{a.get('command', '')}`; it must pass."
    return ""


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 80 else line[:79] + "…"


def plain_procedure(trajectory: Trajectory, contract: SkillContract) -> str:
    steps: list[str] = []
    for call in trajectory.calls:
        said = _said(call) if call.ok else ""
        if said and (not steps or steps[-1] != said):
            steps.append(said)
    lines = ["## Steps", "", *(f"{n}. {s}" for n, s in enumerate(steps, start=1))]
    done = [*contract.accept, *(p for p in contract.proved)]
    if done:
        lines += ["", "## Done when", "", *(f"- {d}" for d in done)]
    return "\n".join(lines)


def plain_description(trajectory: Trajectory) -> str:
    title = str(trajectory.task.get("title") or "a verified task")
    return f"{title.rstrip('.')}. Replays a verified session of this change."[:1024]


def describe_session(trajectory: Trajectory, contract: SkillContract) -> str:
    """The session as the planner reads it (placeholders already in)."""
    lines = [f"Task: {trajectory.task.get('title', '')}"]
    if trajectory.task.get("summary"):
        lines.append(f"Summary: {trajectory.task['summary']}")
    lines.append("Calls:")
    for call in trajectory.calls:
        shown = ", ".join(f"{k}={str(v)[:300]!r}" for k, v in call.args.items())
        outcome = "ok" if call.ok else "failed"
        lines.append(f"- step {call.step}: {call.tool}({shown}) → {outcome}: {call.result}")
    lines.append("Files changed: " + ", ".join(f"{f.path} ({f.kind})" for f in trajectory.files))
    if contract.scope:
        lines.append("Scope: " + ", ".join(contract.scope))
    if contract.accept or contract.proved:
        lines.append("Gates: " + "; ".join((*contract.accept, *contract.proved)))
    return "\n".join(lines)
