"""``tether pair`` (and ``tether`` with no arguments): the live session."""

from __future__ import annotations


def pair() -> None:
    """Pair with the fast model: type tasks; while one runs, type constraints that become
    enforced rules ("only src/cli.py", "don't touch types"); /stop, /review on, /undo, /help.
    """
    from tether.cli.running import run_cancellable
    from tether.session.terminal import run_session
    from tether.workspace import Workspace

    workspace = Workspace.open(need_repo=True)
    raise SystemExit(run_cancellable(lambda: run_session(workspace)))
