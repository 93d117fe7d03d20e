"""``tether status``, ``tether sessions``, ``tether report``: where a session's time and
the review effort went."""

from __future__ import annotations

import typer

from tether.ui.console import out

MARKS = {"done": "[green]x[/]", "open": " ", "in_progress": "[yellow]~[/]", "failed": "[red]![/]"}


def status(
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """The plan; the newest session that ran tasks: its time split, tokens and tasks;
    each role's newest speed."""
    import json

    from tether.workflow.planfile import load_plan
    from tether.workflow.status import collect
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    info = collect(ws, load_plan(ws))
    if as_json:
        print(json.dumps(info.to_json(), indent=2))
        return
    from tether.ui.summary import print_status

    print_status(out(), info)


def sessions(
    prune: bool = typer.Option(False, "--prune", help="Remove all but the newest --keep."),
    keep: int = typer.Option(20, "--keep", min=0, help="How many sessions --prune keeps."),
    limit: int = typer.Option(30, "--limit", "-n", min=1, help="How many to list."),
) -> None:
    """The sessions, newest first: date, command, tasks, duration, outcome."""
    from tether.report.sessions import prune_sessions
    from tether.ui.summary import print_pruned, print_sessions
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    if prune:
        print_pruned(out(), prune_sessions(ws.root, keep))
        return
    print_sessions(out(), ws.root, limit)


def report(
    session: str | None = typer.Argument(
        None, help="A session id, or a unique part of it (default: the newest that ran tasks)."
    ),
    last: bool = typer.Option(False, "--last", help="The newest session, whatever it ran."),
    open_page: bool = typer.Option(False, "--open", help="Open the page in the browser."),
) -> None:
    """Write a self-contained HTML report of a session: timeline, tokens, context, each
    task's contract, gates, diff and review load."""
    from tether.report.page import write_report
    from tether.report.sessions import find_session
    from tether.workspace import Workspace

    ws = Workspace.open(need_repo=True)
    found = find_session(ws.root, session, newest=last)
    written = write_report(ws, found)
    out().print(f"report: {written.path}", soft_wrap=True)
    if not written.charts:
        out().print(
            "[dim]tables only: the charts need plotly (`pip install 'tether\\[report]'`)[/]"
        )
    if open_page:
        import webbrowser

        webbrowser.open(written.path.resolve().as_uri())
