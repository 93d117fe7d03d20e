"""The ``tether`` command. Each subcommand lives in its own module and imports what it
needs when it runs, so ``tether --help`` stays fast."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

import typer

from tether.cli import (
    demo_cmd,
    do_cmd,
    fake_model_cmd,
    init_cmd,
    models_cmd,
    pair_cmd,
    plan_cmd,
    report_cmd,
    rules_cmd,
    skills_cmd,
    variants_cmd,
    verify_cmd,
    warm,
    warm_cmd,
)
from tether.errors import TetherError
from tether.telemetry import end_sessions, set_invocation

app = typer.Typer(
    rich_markup_mode=None,  # click's help: typer's rich help imports ~110 ms of rich
    name="tether",
    help="Drive fast coding models with a plan, a guard and gates at every step.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _session(ctx: typer.Context) -> None:
    """With no command: the live session (`tether pair`)."""
    if ctx.invoked_subcommand is None:
        pair_cmd.pair()


app.command("pair")(pair_cmd.pair)
app.command("demo")(demo_cmd.demo)
app.command("init")(init_cmd.init)
app.command("models")(models_cmd.models)
app.command("plan")(plan_cmd.plan)
app.command("run")(plan_cmd.run)
app.command("status")(report_cmd.status)
app.command("sessions")(report_cmd.sessions)
app.command("report")(report_cmd.report)
app.command("do")(do_cmd.do)
app.command("undo")(do_cmd.undo)
app.command("checkpoints")(do_cmd.checkpoints)
app.command("verify")(verify_cmd.verify)
app.command("rules")(rules_cmd.rules)
app.command("variants")(variants_cmd.variants)
app.command("runs")(variants_cmd.runs)
app.command("pick")(variants_cmd.pick)
app.command("serve")(variants_cmd.serve)
app.command("fake-model")(fake_model_cmd.fake_model)
app.command("warm")(warm_cmd.warm_cmd)
app.add_typer(skills_cmd.app, name="skills")


def only_invoked(args: list[str]) -> None:
    """Typer builds a click command for every registered command at each start (about
    18 ms for all of them); when the first argument names one, only that one is built.
    Anything else (an option, a typo) keeps them all, so help and suggestions list all."""
    name = args[0] if args else ""
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if commands or groups:
        app.registered_commands[:] = commands
        app.registered_groups[:] = groups


def main() -> None:
    """Console entry point: user mistakes become one clear line and an exit code; every
    session this process opened ends with its exit code in events.jsonl."""
    set_invocation(sys.argv[1:])
    only_invoked(sys.argv[1:])
    code = 1  # a bug's traceback
    try:
        app()
        code = 0
    except TetherError as exc:
        from tether.ui.console import error

        error(exc.render())
        code = exc.exit_code
    except SystemExit as exc:
        if isinstance(exc.code, str):  # sys.exit("why"): said, as Python would
            print(exc.code, file=sys.stderr)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    finally:
        end_sessions(code)
    leave(code)


def leave(code: int) -> NoReturn:
    """Exit without finalising every object the interpreter holds (70 ms after a task):
    the events are closed, the atexit handlers (temporary folders) run, and stdout and
    stderr are flushed first, so nothing written is lost."""
    import atexit

    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.exit(code)  # a profiler or coverage still has to write what it saw
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
            stream.flush()
    if warm.start_after:  # TETHER_WARM=auto: the next command finds one
        warm_cmd.start_in_background()
    os._exit(code)
