"""``tether init``: write tether.toml, VERIFY.md and AGENTS.md where they are missing."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from tether.errors import UsageError
from tether.ui.console import out


def config_template() -> str:
    return resources.files("tether").joinpath("templates/tether.toml").read_text("utf-8")


def agents_template() -> str:
    return resources.files("tether").joinpath("templates/AGENTS.md").read_text("utf-8")


def init(
    force: bool = typer.Option(False, "--force", help="Overwrite tether.toml and VERIFY.md."),
    print_only: bool = typer.Option(False, "--print", help="Print tether.toml, write nothing."),
) -> None:
    """Write a commented tether.toml, a VERIFY.md for this repository and an AGENTS.md."""
    if print_only:
        typer.echo(config_template(), nl=False)
        return
    from tether.gates.detect import verify_template

    root = Path.cwd()
    wanted = {
        "tether.toml": (config_template, force),
        "VERIFY.md": (lambda: verify_template(root), force),
        "AGENTS.md": (agents_template, False),  # a cross-tool convention: never replaced
    }
    written, kept = [], []
    for name, (make, overwrite) in wanted.items():
        target = root / name
        if target.exists() and not overwrite:
            kept.append(name)
            continue
        target.write_text(make(), encoding="utf-8")
        written.append(name)
    if not written:
        raise UsageError(
            f"{', '.join(kept)} already exist",
            hint="use --force to overwrite "
            "tether.toml and VERIFY.md (AGENTS.md is never overwritten)",
        )
    out().print(f"wrote {', '.join(written)}" + (f"; kept {', '.join(kept)}" if kept else ""))
    out().print(
        "next: uncomment one model per role in tether.toml, check the gates in "
        "VERIFY.md, then `tether models`"
    )
