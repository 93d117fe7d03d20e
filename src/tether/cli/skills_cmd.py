"""``tether skills``: capture a verified task as a skill, list, show, remove, replay
and certify skills (Agent Skills folders under ``.agents/skills/``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from tether.cli.rules_cmd import flag_rules, keep_option, rule_option
from tether.cli.variants_cmd import chosen_cluster, cluster_option
from tether.ui.console import out

if TYPE_CHECKING:
    from tether.skills.store import Skill
    from tether.workflow.capture import Captured, CaptureRequest
    from tether.workflow.replay import Replayed
    from tether.workspace import Workspace

app = typer.Typer(
    rich_markup_mode=None,  # click's help: typer's rich help imports ~110 ms of rich
    name="skills",
    help="Skills: a verified session, kept, replayed by a fast model, certified.",
    no_args_is_help=True,
    add_completion=False,
)


def param_option() -> Any:
    return typer.Option(
        [], "--param", help="NAME=VALUE: a path or name that changes between uses (repeatable)."
    )


def way_option(default: str) -> Any:
    return typer.Option(
        default,
        "--way",
        help="exact (the recorded edits, no model), guided (a fast model), or auto (both).",
    )


def _way(value: str) -> Any:
    from tether.errors import UsageError

    if value not in ("auto", "exact", "guided"):
        raise UsageError(f"--way {value!r}: use auto, exact or guided")
    return value


@app.command("capture")
def capture(
    task: str | None = typer.Argument(None, help="The PLAN.md task id (default: --last)."),
    last: bool = typer.Option(False, "--last", help="The newest task of any kind."),
    name: str = typer.Option(..., "--name", help="The skill's name: lowercase-with-hyphens."),
    param: list[str] = param_option(),
    description: str = typer.Option(
        "", "--description", help="Say what it does yourself (no planner call)."
    ),
    personal: bool = typer.Option(
        False, "--personal", help="Keep it in ~/.config/tether/skills, not the repository."
    ),
    force: bool = typer.Option(False, "--force", help="Replace a skill of that name."),
    no_planner: bool = typer.Option(
        False, "--no-planner", help="Do not ask the planner to write SKILL.md."
    ),
) -> None:
    """Turn a task that ended done with passing gates into a skill.

    Example: tether skills capture T3 --name fix-typo --param module=src/app/users.py
    """
    from tether.cli.running import run_cancellable
    from tether.errors import UsageError
    from tether.skills.params import parse_params
    from tether.workflow.capture import CaptureRequest
    from tether.workflow.capture import capture as run_capture
    from tether.workflow.skillset import skill_store
    from tether.workflow.tasks import TaskFactory
    from tether.workspace import Workspace

    if task is not None and last:
        raise UsageError("give a task id or --last, not both")
    ws = Workspace.open(need_repo=True)
    request = CaptureRequest(
        name=name,
        task_id=task,
        params=parse_params(param),
        description=description,
        personal=personal,
        force=force,
    )
    store = skill_store(ws.root, ws.config.config)
    factory = TaskFactory(ws.root, ws.config.config)
    writer = None if (no_planner or description) else _planner_writer(ws)
    captured = run_cancellable(lambda: run_capture(store, factory, request, writer))
    _say_captured(ws, captured, request)


def _say_captured(ws: Workspace, captured: Captured, request: CaptureRequest) -> None:
    from rich.markup import escape

    folder = captured.folder
    where = folder.relative_to(ws.root) if folder.is_relative_to(ws.root) else folder
    out().print(
        f"[bold green]captured[/] {escape(request.name)} from {escape(captured.recorded.label)}: "
        f"{captured.calls} calls, {captured.files} file(s); SKILL.md written by "
        f"{captured.written_by} → {escape(str(where))}"
    )
    params = "".join(f" --param {k}=..." for k in request.params or {})
    out().print(
        f"[dim]replay: tether skills replay {request.name}{params} · "
        f"certify: tether skills certify {request.name} -n 10[/]"
    )


def _planner_writer(ws: Workspace) -> Any:
    """The planner writes SKILL.md when a planner model is configured (the embedded
    fallback is too small for it: then tether says the steps plainly)."""
    role = ws.config.role("planner")
    if not role.configured or role.fallback or not role.key_is_set:
        out().print(
            "[dim]no planner model configured: SKILL.md says the recorded steps plainly "
            "(edit it by hand, or configure [planner] in tether.toml)[/]"
        )
        return None

    async def write(session: str, params: tuple[str, ...]) -> tuple[str, str]:
        from tether.planner.skill_ask import ask_skill
        from tether.workflow.roles import Roles

        async with Roles(ws) as roles:
            text = await ask_skill(roles.planner, session, params)
        return text.description, text.procedure

    return write


@app.command("list")
def list_skills(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The skills: name, description, parameters, certification."""
    from rich.markup import escape

    ws, skills = _skills()
    threshold = ws.config.config.skills.threshold
    if as_json:
        print(json.dumps([_skill_json(s, threshold) for s in skills], indent=2))
        return
    if not skills:
        out().print("no skills yet (`tether skills capture --last --name NAME` keeps one)")
        return
    for skill in skills:
        params = f" ({', '.join(skill.params)})" if skill.params else ""
        where = " [dim]personal[/]" if skill.personal else ""
        out().print(
            f"[bold]{escape(skill.name)}[/]{escape(params)}{where}: {escape(skill.description)}"
        )
        if skill.problems:
            out().print(f"  [red]invalid[/]: {escape(skill.problems[0])}")
        certs = skill.certifications
        if certs:
            low = skill.below(threshold)
            shown = "; ".join(c.render() for c in certs)
            mark = f" [red]below {threshold:.0%}[/]" if low else ""
            out().print(f"  certified: {escape(shown)}{mark}")
        else:
            out().print("  [dim]not certified (`tether skills certify " + skill.name + "`)[/]")


def _skills() -> tuple[Workspace, list[Skill]]:
    from tether.workflow.skillset import skill_store
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    return ws, skill_store(ws.root, ws.config.config).all()


def _skill_json(skill: Skill, threshold: float) -> dict[str, Any]:
    low = skill.below(threshold)
    return {
        "name": skill.name,
        "description": skill.description,
        "params": list(skill.params),
        "folder": str(skill.folder),
        "personal": skill.personal,
        "certified": [c.render() for c in skill.certifications],
        "below_threshold": low is not None,
        "problems": skill.problems,
    }


@app.command("show")
def show(
    name: str = typer.Argument(..., help="The skill."),
    param: list[str] = param_option(),
) -> None:
    """A skill: its SKILL.md, its contract, its edits, and whether they apply here."""
    from rich.markup import escape

    from tether.skills.params import parse_params
    from tether.workflow.skillset import skill_store
    from tether.workflow.skilluse import use_of
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    store = skill_store(ws.root, ws.config.config)
    skill = store.get(name)
    if not skill.problems:
        use = use_of(store, name, parse_params(param))
        problem = use.exact_plan(ws.root).problem
        values = ", ".join(f"{k}={v}" for k, v in use.values.items())
        said = "apply" if not problem else f"do not apply ({problem})"
        out().print(f"[dim]here{' with ' + escape(values) if values else ''}: the recorded "
                    f"edits {escape(said)}[/]")  # fmt: skip
    contract, trajectory = skill.contract(), skill.trajectory()
    console = out()
    console.print(f"[bold]{escape(skill.name)}[/] · {escape(str(skill.folder))}")
    console.print(escape(skill.description))
    for problem in skill.problems:
        console.print(f"[red]invalid[/]: {escape(problem)}")
    if skill.params:
        values = ", ".join(f"{p} (was {contract.params.get(p, '?')})" for p in skill.params)
        console.print(f"parameters: {escape(values)}")
    console.print(f"scope: {escape(', '.join(contract.scope) or 'the files it changed')}")
    if contract.rules:
        console.print(f"rules: {escape('; '.join(contract.rules))}")
    gates = [*contract.accept, *contract.proved]
    console.print(f"gates: {escape('; '.join(gates) or 'VERIFY.md only')}")
    changed = ", ".join(f"{f.path} ({f.kind})" for f in trajectory.files)
    console.print(f"recorded: {len(trajectory.calls)} calls; changes {escape(changed)}")
    for cert in skill.certifications:
        console.print(f"certified: {escape(cert.render())}")
    console.print("")
    console.print(escape(skill.body), markup=False, highlight=False)


@app.command("rm")
def rm(name: str = typer.Argument(..., help="The skill.")) -> None:
    """Remove a skill's folder (a committed one stays in git's history)."""
    from rich.markup import escape

    from tether.workflow.skillset import skill_store
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    folder = skill_store(ws.root, ws.config.config).remove(name)
    out().print(f"removed {escape(name)} ({escape(str(folder))})")


@app.command("replay")
def replay(
    name: str = typer.Argument(..., help="The skill."),
    param: list[str] = param_option(),
    model: str | None = typer.Option(
        None, "--model", help="executor (default), planner, local, or a model name."
    ),
    way: str = way_option("auto"),
    keep: list[str] = keep_option(),
    rule: list[str] = rule_option(),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1),
    commit: bool = typer.Option(True, "--commit/--no-commit", help="Commit on success."),
    detached: bool = typer.Option(False, "--detached", help="Run on a detached HEAD."),
) -> None:
    """Run a skill as a bounded task here: exact edits first, then a fast model.

    Example: tether skills replay fix-typo --param module=src/app/orders.py
    """
    from tether.cli.do_cmd import report
    from tether.cli.running import run_cancellable
    from tether.skills.params import parse_params
    from tether.ui.progress import ProgressPrinter
    from tether.workflow.replay import ReplayRequest, replay_skill
    from tether.workflow.tasks import TaskFlags
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    ws.log.subscribe(ProgressPrinter(out()))
    flags = TaskFlags(max_steps=max_steps, rules=flag_rules(ws, keep, rule))
    request = ReplayRequest(name, parse_params(param), _way(way), model, flags, commit)
    replayed = run_cancellable(lambda: replay_skill(ws, request, detached))
    _say_way(replayed)
    if replayed.result is None:
        raise typer.Exit(1)
    report(replayed.result)
    raise typer.Exit(replayed.result.status.exit_code)


def _say_way(replayed: Replayed) -> None:
    from rich.markup import escape

    if replayed.exact_problem:
        out().print(f"[yellow]exact replay did not pass[/]: {escape(replayed.exact_problem)}")
    way = "exact (no model call)" if replayed.way == "exact" else f"guided by {replayed.model}"
    verdict = "[green]passed[/]" if replayed.passed else "[red]did not pass[/]"
    tried = ", ".join(replayed.tried) or "nothing ran"
    out().print(f"skill replay {verdict}: {escape(way)} (tried: {tried})")


@app.command("certify")
def certify(
    name: str = typer.Argument(..., help="The skill."),
    count: int = typer.Option(10, "-n", min=1, max=100, help="Replays per model."),
    model: list[str] = typer.Option(
        [], "--model", help="executor (default), planner, local, or a model name (repeatable)."
    ),
    param: list[str] = param_option(),
    way: str = way_option("guided"),
    concurrency: int | None = typer.Option(None, "--concurrency", min=1),
    detached: bool = typer.Option(False, "--detached", help="Run on a detached HEAD."),
    cluster: str | None = cluster_option(),
) -> None:
    """Replay a skill N times per model in parallel worktrees; record the pass rate.

    Example: tether skills certify fix-typo -n 10 --model local --model executor
    """
    from rich.markup import escape

    from tether.cli.running import run_cancellable
    from tether.skills.params import parse_params
    from tether.ui.progress import ProgressPrinter
    from tether.variants.certify import CertifyRequest
    from tether.variants.certify import certify as run_certify
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    console = out()
    request = CertifyRequest(
        name,
        parse_params(param),
        count,
        tuple(model) or (None,),
        _way(way),
        concurrency,
        chosen_cluster(cluster, ws.config.config.variants.cluster),
    )
    if request.cluster:  # connecting (Ray Client takes seconds) should not look like a hang
        console.print(f"sending the replays to the Ray cluster at {request.cluster}")
    results = run_cancellable(
        lambda: run_certify(
            ws,
            request,
            lambda run, k: ProgressPrinter(console, prefix=f"[{k}] ", brief=True),
            detached,
        )
    )
    threshold = ws.config.config.skills.threshold
    for result in results:
        rate = result.passed / len(result.trials) if result.trials else 0.0
        color = "green" if rate >= threshold else "red"
        console.print(
            f"[bold {color}]{escape(result.model)}: {result.passed}/{len(result.trials)}[/] "
            f"passed (run {result.run})"
        )
        for trial in result.trials:
            if not trial.passed:
                console.print(f"  [{trial.k}] {escape(trial.failure)}")
    low = [r for r in results if r.trials and r.passed / len(r.trials) < threshold]
    raise typer.Exit(1 if low else 0)
