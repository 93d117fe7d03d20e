"""Shared fixtures. Two guards keep every test on loopback: TETHER_LOOPBACK_ONLY=1
(tether refuses non-loopback model URLs, in this process and in every `tether`
subprocess) and a socket guard that fails any non-loopback connection made here."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.testing.faults import FaultPlan
from tether.testing.script import Script
from tether.testing.server import ScriptedServer

os.environ["TETHER_LOOPBACK_ONLY"] = "1"
for _name in list(os.environ):
    if _name.startswith("TETHER_") and _name != "TETHER_LOOPBACK_ONLY":
        del os.environ[_name]
os.environ["XDG_CONFIG_HOME"] = "/nonexistent/tether-tests-config"
os.environ["TETHER_WARM"] = "off"  # a developer's warm tether never runs the tests' commands

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConnectionRefusedError(f"test network guard: {host} is not loopback")
    _real_connect(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]

TETHER = [sys.executable, "-m", "tether"]


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    """Start scripted servers: ``scripted({"default": [...]}, tps=0)``."""
    servers: list[ScriptedServer] = []

    def start(script: dict[str, Any] | None = None, **options: Any) -> ScriptedServer:
        faults = options.pop("faults", None)
        seed = options.pop("seed", 0)
        options.setdefault("tps", 0)
        options.setdefault("ttft_ms", 0)
        server = ScriptedServer(
            Script.from_data(script) if script is not None else None,
            faults=FaultPlan.parse(faults, seed) if isinstance(faults, str) else faults,
            **options,
        )
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return out.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    (root / "README.md").write_text("# sample\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    return root


def run_tether(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``tether`` CLI in a subprocess."""
    # as in an activated virtual environment: the tools next to this Python come first
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    full_env = {**os.environ, "PATH": path, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [*TETHER, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


@pytest.fixture
def calc(repo: Path) -> Path:
    """The variants tests' repository: add mul(a, b) to calc.py; a task gate checks it;
    notes.txt is uncommitted work."""
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\n# more\n")
    (repo / "test_calc.py").write_text(
        "import calc\n\n\ndef test_mul():\n    assert calc.mul(2, 3) == 6\n"
    )
    (repo / "VERIFY.md").write_text("## task\n- `python -m pytest -q -p no:cacheprovider`\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "calc")
    (repo / "notes.txt").write_text("my uncommitted notes\n")
    return repo
