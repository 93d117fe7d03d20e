"""Shared by the bench scripts: a scripted server in its own process, a sample repo."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TETHER = [sys.executable, "-m", "tether"]


@contextmanager
def fake_model(script: dict[str, Any], *extra: str) -> Iterator[tuple[str, Path]]:
    """``tether fake-model`` in a subprocess; yields (base URL, request log path)."""
    folder = Path(tempfile.mkdtemp(prefix="tether-bench-"))
    script_path = folder / "script.json"
    script_path.write_text(json.dumps(script))
    log = folder / "requests.jsonl"
    proc = subprocess.Popen(
        [
            *TETHER,
            "fake-model",
            "--script",
            str(script_path),
            "--port",
            "0",
            "--log",
            str(log),
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
    try:
        yield url, log
    finally:
        proc.terminate()
        proc.wait()


def sample_repo(files: dict[str, str]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="tether-bench-repo-")) / "repo"
    root.mkdir()
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.email", "b@example.com"],
        ["config", "user.name", "Bench"],
        ["add", "-A"],
        ["commit", "-qm", "start"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


def events(root: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted((root / ".tether" / "sessions").glob("*/events.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


def prefix_shares(log: Path) -> list[float]:
    """For each request, the share of its prompt that the next request starts with."""
    from tether.testing.faults import common_prefix
    from tether.testing.tokens import prompt_text

    prompts = [prompt_text(json.loads(line)) for line in log.read_text().splitlines()]
    return [common_prefix(a, b) / len(a) for a, b in itertools.pairwise(prompts)]
