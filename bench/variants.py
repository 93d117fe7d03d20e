"""Variants at scale: 16 variants of a scripted 10-step task against `tether fake-model
--tps 1200`, against one variant; prints wall times and the cached share of all prompt
tokens (target >= 90%: every variant shares one prefix, sent alone first).

Run by hand:  .venv/bin/python bench/variants.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import TETHER, fake_model, sample_repo

THINK = "Looking at the module again to make the next small, careful change. " * 2


def script() -> dict[str, object]:
    """A typical 10-step task: look around, read a section, edit, test, finish."""
    calls = [
        ("list_files", {"glob": "app/**"}),
        ("search", {"pattern": "LIMIT_3", "glob": "app/**"}),
        ("read_file", {"path": "app/core.py", "start_line": 1, "end_line": 12}),
        (
            "edit_file",
            {"path": "app/core.py", "search": "LIMIT_3 = 3\n", "replace": "LIMIT_3 = 4\n"},
        ),
        ("run", {"command": "true"}),
        (
            "edit_file",
            {"path": "app/core.py", "search": "LIMIT_5 = 5\n", "replace": "LIMIT_5 = 6\n"},
        ),
        ("read_file", {"path": "app/core.py", "start_line": 1, "end_line": 8}),
        (
            "edit_file",
            {"path": "app/core.py", "search": "LIMIT_7 = 7\n", "replace": "LIMIT_7 = 8\n"},
        ),
        ("run", {"command": "true"}),
        ("done", {"summary": "adjusted the limits"}),
    ]
    return {
        "default": [
            {"content": THINK, "tool_calls": [{"name": n, "arguments": a}]} for n, a in calls
        ]
    }


def run(count: int) -> tuple[float, float, int]:
    core = "".join(f"LIMIT_{k} = {k}\n" for k in range(40)) + "def f():\n    return 1\n" * 40
    repo = sample_repo(
        {
            "app/core.py": core,
            "app/__init__.py": "",
            "AGENTS.md": "# AGENTS.md\n" + "- keep changes small\n" * 40,
        }
    )
    with fake_model(script(), "--tps", "1200", "--ttft-ms", "30") as (url, log):
        env = {
            **os.environ,
            "TETHER_EXECUTOR_MODEL": "bench",
            "TETHER_EXECUTOR_BASE_URL": url + "/v1",
        }
        started = time.perf_counter()
        done = subprocess.run(
            [*TETHER, "variants", "Adjust the limits", "-n", str(count), "--scope", "app/**"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout, done.stderr)
            raise SystemExit("tether variants failed")
        bodies = [json.loads(line) for line in log.read_text().splitlines()]
    usage = [json.loads(p.read_text()) for p in (repo / ".tether" / "runs").glob("*/run.json")]
    variants = usage[0]["variants"]
    prompt = sum(v["input_tokens"] for v in variants)
    cached = sum(v["cached_tokens"] for v in variants)
    return wall, cached / max(prompt, 1), len(bodies)


def main() -> None:
    one = run(1)
    many = run(16)
    print(f"N=1:  {one[0]:.2f}s wall, {one[2]} requests, cached share {one[1]:.1%}")
    print(f"N=16: {many[0]:.2f}s wall, {many[2]} requests, cached share {many[1]:.1%}")
    print(f"16 variants cost {many[0] / one[0]:.1f}x the wall time of one")


if __name__ == "__main__":
    main()
