"""The browser gate in a real headless Chromium, pages served by a real local server."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import git, run_tether
from tests.helpers import events

PAGES = {
    "good.html": "<html><body><h1>Hello, tether</h1></body></html>",
    "console.html": "<html><body><h1>Hello</h1><script>console.error('boom')</script>"
    "</body></html>",
    "thrower.html": "<html><body><h1>Hello</h1><script>null.x()</script></body></html>",
    "other.html": "<html><body><h1>Goodbye</h1></body></html>",
}
SERVE = f"`{sys.executable} -m http.server {{port}} --bind 127.0.0.1`"


def require_browser() -> None:
    if shutil.which("chromium") is None:
        if os.environ.get("TETHER_STRICT_DEPS") == "1":
            pytest.fail("chromium is missing; `make test` installs it (scripts/system-deps.sh)")
        pytest.skip("chromium is not installed")


def browser_gate(page: str, expect: str = "Hello") -> str:
    return (
        f"- browser http://127.0.0.1:{{port}}/{page}\n  - start: {SERVE}\n"
        f"  - expect: {expect}\n  - timeout: 60\n"
    )


@pytest.mark.parametrize(
    ("page", "status", "words"),
    [
        ("good.html", "pass", "HTTP 200"),
        ("console.html", "fail", "console error: boom"),
        ("thrower.html", "fail", "uncaught exception"),
        ("other.html", "fail", "expected text not found"),
        ("missing.html", "fail", "HTTP status 404"),
    ],
)
def test_browser_gate(repo: Path, page: str, status: str, words: str) -> None:
    require_browser()
    for name, html in PAGES.items():
        (repo / name).write_text(html)
    (repo / "VERIFY.md").write_text("## task\n" + browser_gate(page))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pages")
    result = run_tether("verify", "--tier", "task", cwd=repo, timeout=180)
    assert result.returncode == (0 if status == "pass" else 1), result.stdout + result.stderr
    (gate,) = [e for e in events(repo) if e["type"] == "gate"]
    assert gate["status"] == status
    assert words in gate["summary"]
    shot = Path(gate["evidence"])
    assert shot.is_file()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 1000


def test_browser_gate_without_a_browser_is_an_error(repo: Path) -> None:
    (repo / "VERIFY.md").write_text("## task\n- browser http://127.0.0.1:9/\n")
    bin_dir = repo.parent / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    env = {"PATH": str(bin_dir), "PLAYWRIGHT_BROWSERS_PATH": str(repo / "none")}
    result = run_tether("verify", "--tier", "task", cwd=repo, env=env)
    assert result.returncode == 1
    (gate,) = [e for e in events(repo) if e["type"] == "gate"]
    assert gate["status"] == "error" and "apt-get install chromium" in gate["summary"]
