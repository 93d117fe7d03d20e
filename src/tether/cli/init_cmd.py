"""``tether init``: write a commented tether.toml (and, with later features, more)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from tether.cli.console import out
from tether.errors import UsageError


def config_template() -> str:
    return resources.files("tether").joinpath("templates/tether.toml").read_text("utf-8")


def init(
    force: bool = typer.Option(False, "--force", help="Overwrite an existing tether.toml."),
    print_only: bool = typer.Option(False, "--print", help="Print the template, write nothing."),
) -> None:
    """Write a commented tether.toml with ready examples for each role."""
    text = config_template()
    if print_only:
        typer.echo(text, nl=False)
        return
    target = Path.cwd() / "tether.toml"
    if target.exists() and not force:
        raise UsageError(f"{target.name} already exists", hint="use --force to overwrite it")
    target.write_text(text, encoding="utf-8")
    out().print(f"wrote {target.name}: uncomment one example per role, then run `tether models`")
