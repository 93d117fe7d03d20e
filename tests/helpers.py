"""Helpers for tests that drive tether on real repositories."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tether.testing.server import ScriptedServer


def tool(name: str, **arguments: Any) -> dict[str, Any]:
    """One scripted turn calling one tool."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def model_env(
    server: ScriptedServer, role: str = "executor", model: str = "exec", provider: str = "openai"
) -> dict[str, str]:
    url = server.openai_url if provider == "openai" else server.url
    upper = role.upper()
    return {
        f"TETHER_{upper}_MODEL": model,
        f"TETHER_{upper}_BASE_URL": url,
        f"TETHER_{upper}_PROVIDER": provider,
    }


def events(repo: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted((repo / ".tether" / "sessions").glob("*/events.jsonl")):
        text = path.read_text()
        complete = text[: text.rfind("\n") + 1]  # a line being written is not read yet
        out += [json.loads(line) for line in complete.splitlines() if line.strip()]
    return out


def tree_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except .git/ and .tether/, with its bytes."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in (".git", ".tether") or (path.is_dir() and not path.is_symlink()):
            continue
        if not path.is_symlink() and not path.is_file():  # a FIFO or socket: no bytes
            continue
        found[rel] = (
            path.read_bytes()
            if not path.is_symlink()
            else b"->" + bytes(str(path.readlink()), "utf-8")
        )
    return found


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def processes_with(marker: str) -> list[int]:
    """Processes (other than this one) whose command line holds ``marker``."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]
