"""The sandbox's view of the tool folders: worked out once per PATH, again when PATH
changes (a command that needs a tool root added to PATH mid-run must still see it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.sandbox.isolation import toolchain_dirs


def test_toolchain_dirs_follow_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    one, two = home / ".tool1" / "bin", home / ".tool2" / "bin"  # like /root/.cargo/bin
    one.mkdir(parents=True)
    two.mkdir(parents=True)
    monkeypatch.setenv("PATH", str(one))
    assert home / ".tool1" in toolchain_dirs([home])
    assert home / ".tool2" not in toolchain_dirs([home])
    monkeypatch.setenv("PATH", f"{one}:{two}")
    found = toolchain_dirs([home])
    assert home / ".tool1" in found and home / ".tool2" in found
