"""Building a task's sandbox: the tree listings only bubblewrap uses run beside the
task's first request, and only for bubblewrap."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tether.config import GuardConfig, TetherConfig
from tether.guard.contract import Contract
from tether.workflow import sandboxes


def _repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "secrets.env").write_text("KEY=1\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    return tmp_path


def _slow_listing(monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    listed = sandboxes.repo_files

    def slow(root: Path) -> list[str]:
        calls.append(str(root))
        time.sleep(0.5)
        return listed(root)

    monkeypatch.setattr(sandboxes, "repo_files", slow)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_bubblewraps_listings_run_beside_the_start_and_the_first_command_has_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path)
    calls: list[str] = []
    _slow_listing(monkeypatch, calls)
    config = TetherConfig(guard=GuardConfig(sandbox="bwrap"))
    started = time.perf_counter()
    box = sandboxes.sandbox_for(root, config, Contract(protect=("*.env",)))
    assert time.perf_counter() - started < 0.3  # the listing (0.5 s) did not hold it up
    assert box.name == "bwrap"
    assert "secrets.env" in box.isolation.read_only  # waited for, where it is needed
    assert calls == [str(root)]


def test_no_listing_without_bubblewrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _repo(tmp_path)
    calls: list[str] = []
    _slow_listing(monkeypatch, calls)
    config = TetherConfig(guard=GuardConfig(sandbox="none"))
    box = sandboxes.sandbox_for(root, config, Contract(protect=("*.env",), allow_network=True))
    assert box.name == "none" and calls == []
    assert box.isolation.allow_network and box.isolation.read_only == ()
