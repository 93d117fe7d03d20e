"""The browser gate: start the app, open the page in headless Chromium, fail on a
non-2xx status, a console error, an uncaught exception or missing text, and keep a
full-page screenshot as evidence.

Playwright drives the system's Chromium (``/usr/bin/chromium`` on Debian) or a browser
Playwright installed earlier; nothing is downloaded here. No browser means ``error``
with the install hint: this gate never passes silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tether.gates.context import GateContext
from tether.gates.results import GateResult
from tether.memory.verify_md import GateSpec

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
]
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: apt-get install chromium) and `pip install playwright`"
)


def find_chromium() -> str | None:
    """A Chromium executable: $TETHER_CHROMIUM, the system's, or Playwright's own."""
    explicit = os.environ.get("TETHER_CHROMIUM")
    if explicit and Path(explicit).exists():
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache/ms-playwright"))
    for candidate in sorted(cache.glob("chromium-*/chrome-linux*/chrome"), reverse=True):
        return str(candidate)
    return None


async def run_browser_gate(spec: GateSpec, ctx: GateContext) -> GateResult:
    started = time.perf_counter()
    url, _ = ctx.expand(spec.url, spec)
    start_command = ctx.expand(spec.start, spec)[0] if spec.start else None
    executable = find_chromium()
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        executable = None
    if executable is None or url is None:
        return _result(
            spec, ctx, "error", started, f"no headless browser available: {INSTALL_HINT}"
        )
    shot = ctx.log_file(spec, "png")
    timeout = ctx.timeout_for(spec)
    try:
        async with _server(ctx, start_command, shot.with_suffix(".log")):
            await asyncio.wait_for(_wait_for(url), timeout=timeout)
            problems, status = await asyncio.wait_for(
                _visit(executable, url, spec.expect, shot), timeout=timeout
            )
    except TimeoutError:
        return _result(spec, ctx, "timeout", started, f"{url} did not answer within {timeout:.0f}s")
    except OSError as exc:
        return _result(spec, ctx, "error", started, f"could not open {url}: {exc}")
    summary = f"HTTP {status}" + (f"; {problems[0]}" if problems else ", no console errors")
    return GateResult(
        spec.name,
        ctx.tier,
        "browser",
        "fail" if problems else "pass",
        time.perf_counter() - started,
        summary[:200],
        "\n".join(problems),
        log_path=str(shot.with_suffix(".log")),
        evidence=str(shot),
    )


def _console(message: Any, problems: list[str]) -> None:
    """Console errors fail the gate, except a missing favicon (browsers ask for one on
    their own; it says nothing about the page)."""
    if message.type != "error":
        return
    location = getattr(message, "location", None) or {}
    if str(location.get("url", "")).endswith("/favicon.ico"):
        return
    problems.append(f"console error: {message.text}")


def _result(
    spec: GateSpec, ctx: GateContext, status: str, started: float, summary: str
) -> GateResult:
    return GateResult(
        spec.name, ctx.tier, "browser", status, time.perf_counter() - started, summary
    )


@contextlib.asynccontextmanager
async def _server(ctx: GateContext, command: str | None, log: Path) -> AsyncIterator[None]:
    if command is None:
        yield
        return
    # the browser runs outside the sandbox, so the server shares its network namespace
    async with ctx.sandbox.with_network().background(command, ctx.root, log):
        yield


async def _wait_for(url: str) -> None:
    """Until anything answers HTTP at ``url`` (any status counts as up)."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            return False

    while not await asyncio.to_thread(probe):
        await asyncio.sleep(0.1)


async def _visit(executable: str, url: str, expect: str, shot: Path) -> tuple[list[str], int]:
    from playwright.async_api import async_playwright

    problems: list[str] = []
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("console", lambda msg: _console(msg, problems))
            page.on("pageerror", lambda exc: problems.append(f"uncaught exception: {exc}"))
            response = await page.goto(url, wait_until="load")
            status = response.status if response is not None else 0
            with contextlib.suppress(Exception):
                await page.wait_for_load_state("networkidle", timeout=3000)
            if not 200 <= status < 300:
                problems.insert(0, f"HTTP status {status}")
            body = await page.inner_text("body")
            if expect and expect not in body:
                problems.append(f"expected text not found: {expect!r}")
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await browser.close()
    return problems, status
