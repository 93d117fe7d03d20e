"""``tether fake-model``: the scripted model server on loopback."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

import typer

from tether.ui.console import out


def fake_model(
    script: Path | None = typer.Option(
        None, "--script", help="JSON script of turns (default: a long canned answer)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback)."),
    port: int = typer.Option(8765, "--port", help="Port (0 picks a free one)."),
    tps: float = typer.Option(1200.0, "--tps", help="Output tokens per second (0: unpaced)."),
    ttft_ms: float = typer.Option(30.0, "--ttft-ms", help="Time to first token, ms."),
    faults: str = typer.Option(
        "",
        "--faults",
        help='Fault rates, e.g. "429:0.1,500:0.05,timeout:0.05,truncate:0.05,badjson:0.05".',
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the fault generator."),
    log: Path | None = typer.Option(None, "--log", help="Append each request body to FILE."),
    retry_after_ms: int = typer.Option(100, "--retry-after-ms", help="Retry-After sent with 429."),
    hang_s: float = typer.Option(600.0, "--hang-s", help="How long a 'timeout' fault hangs."),
) -> None:
    """Serve scripted answers over the OpenAI and Anthropic wire formats, for offline tests."""
    from tether.cli.running import settle_heap
    from tether.testing.faults import FaultPlan
    from tether.testing.script import load_script
    from tether.testing.server import ScriptedServer

    plan = FaultPlan.parse(faults, seed=seed)
    loaded = load_script(script) if script else None
    server = ScriptedServer(
        loaded,
        host=host,
        port=port,
        tps=tps,
        ttft_ms=ttft_ms,
        faults=plan,
        log_path=log,
        hang_s=hang_s,
        retry_after_ms=retry_after_ms,
    )
    # The handler only appends: Event.set() in a handler can deadlock on the lock the
    # main thread holds inside Event.wait() (a rare hang on SIGTERM, seen in the suite).
    stop: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.append(signum)

    settle_heap()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with server:
        out().print(f"scripted model server on {server.url}", soft_wrap=True)
        out().print(f"  OpenAI-compatible base_url: {server.openai_url}", soft_wrap=True)
        out().print(f"  Anthropic base_url:         {server.url}", soft_wrap=True)
        out().file.flush()
        while not stop:
            time.sleep(0.05)
    out().print("stopped")
