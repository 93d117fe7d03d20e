"""Harness overhead of `tether do` on a 20-step scripted task at 1,200 tokens/s.

Run by hand:  .venv/bin/python bench/overhead.py [--runs 5] [--sandbox both|bwrap|none]
                                                 [--start both|cold|warm]
Whole processes as a user sees them, spawn to exit, with and without bubblewrap, started
cold and handed to a warm tether (`tether warm`, in a socket folder of its own): the
server's own time (arrival to last byte, from its timing log) against tether's share;
spawn to the first request; the gaps between calls; the last answer to exit; the loop's
harness and tool sums from the events; `python -c pass` and `tether --help` for scale.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import TETHER, events, fake_model, prefix_shares, sample_repo

THINK = (
    "Looking at the module, the next small change is to adjust one constant and keep "
    "the tests green; I will make exactly that edit now and check it. "
)


def script(steps: int = 20) -> dict[str, object]:
    turns: list[dict[str, object]] = []
    for k in range(steps - 1):
        kind = k % 4
        if kind == 0:
            call = {"name": "read_file", "arguments": {"path": "app/core.py"}}
        elif kind == 1:
            call = {
                "name": "edit_file",
                "arguments": {
                    "path": "app/core.py",
                    "search": f"LIMIT_{k} = {k}",
                    "replace": f"LIMIT_{k} = {k + 1}",
                },
            }
        elif kind == 2:
            call = {"name": "run", "arguments": {"command": "true"}}
        else:
            call = {"name": "search", "arguments": {"pattern": "LIMIT_1", "glob": "app/**"}}
        turns.append({"content": THINK, "tool_calls": [call]})
    turns.append(
        {
            "content": THINK,
            "tool_calls": [{"name": "done", "arguments": {"summary": "adjusted the limits"}}],
        }
    )
    return {"default": turns}


def run_once(args: argparse.Namespace, setting: str) -> dict[str, float]:
    """One `tether do` as a user runs it; its figures from the outside (spawn, the
    server's arrival and answer times, exit) and from its events (the loop's split).
    ``setting`` is "<sandbox> <cold|warm>"."""
    sandbox, start = setting.split()
    core = "".join(f"LIMIT_{k} = {k}\n" for k in range(40)) + "def f():\n    return 1\n" * 50
    repo = sample_repo(
        {
            "app/core.py": core,
            "app/__init__.py": "",
            "tether.toml": f'[guard]\nsandbox = "{sandbox}"\n',
        }
    )
    with fake_model(script(), "--tps", str(args.tps), "--ttft-ms", str(args.ttft_ms)) as (url, log):
        env = {
            **os.environ,
            "TETHER_EXECUTOR_MODEL": "bench",
            "TETHER_EXECUTOR_BASE_URL": url + "/v1",
            **_start_env(args, start),
        }
        if args.bytecode:  # as an installed tether runs: modules load from .pyc files
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        spawned = time.time()
        done = subprocess.run(
            [*TETHER, "do", "Adjust the limits", "--scope", "app/**"],
            cwd=repo, env=env, capture_output=True, text=True,
        )  # fmt: skip
        exited = time.time()
        shares = prefix_shares(log)
        times = [
            json.loads(line) for line in log.with_suffix(".times.jsonl").read_text().splitlines()
        ]
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        raise SystemExit("tether do failed")
    log_events = events(repo)
    steps = [e for e in log_events if e["type"] == "step"]
    gaps = [b["arrived"] - a["answered"] for a, b in itertools.pairwise(times)]
    model = sum(t["answered"] - t["arrived"] for t in times)
    wall = exited - spawned
    by_tool: dict[str, list[float]] = {}
    for step, gap in zip(steps, gaps, strict=False):  # the gap after a step is its tool's
        by_tool.setdefault(step["tools"][0]["name"] if step["tools"] else "-", []).append(gap)
    return {
        "wall": wall,
        "model (server)": model,
        "tether": wall - model,
        "tether share": (wall - model) / wall,
        "spawn to first request": times[0]["arrived"] - spawned,
        "between calls (median)": statistics.median(gaps),
        "between calls (max)": max(gaps),
        **{f"  after {name} (median)": statistics.median(g) for name, g in sorted(by_tool.items())},
        "last answer to exit": exited - times[-1]["answered"],
        "harness in the loop (sum)": sum(e["harness_s"] for e in steps),
        "tools in the loop (sum)": sum(e["tools_s"] for e in steps),
        "steps": len(steps),
        "prefix share (min)": min(shares),
        "sandbox": 1.0
        if any(e.get("kind") == "bwrap" for e in log_events if e["type"] == "sandbox")
        else 0.0,
    }


def _start_env(args: argparse.Namespace, start: str) -> dict[str, str]:
    return {"TETHER_WARM": "on" if start == "warm" else "off", "TETHER_WARM_DIR": args.warm_dir}


@contextmanager
def warm_tether(args: argparse.Namespace, wanted: bool) -> Iterator[None]:
    """A warm tether of the bench's own for the warm columns, stopped afterwards."""
    args.warm_dir = tempfile.mkdtemp(prefix="tw")
    env = {**os.environ, **_start_env(args, "warm")}
    if args.bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    if wanted:
        subprocess.run([*TETHER, "warm", "--idle", "30"], env=env, check=True, capture_output=True)
    try:
        yield
    finally:
        if wanted:
            status = subprocess.run([*TETHER, "warm", "--status"], env=env, capture_output=True,
                                    text=True).stdout  # fmt: skip
            print("(warm: " + status.splitlines()[0].split(": ", 1)[-1] + ")")
            if "ran a command cold" in status:  # a warm column would be a cold one
                raise SystemExit("the warm tether refused a command:\n" + status)
            subprocess.run([*TETHER, "warm", "--stop"], env=env, capture_output=True)


def baseline(command: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(command, capture_output=True, check=True, env=env)  # warm-up
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="both", choices=["both", "auto", "bwrap", "none"])
    parser.add_argument("--tps", type=float, default=1200)
    parser.add_argument("--start", default="both", choices=["both", "cold", "warm"])
    parser.add_argument("--ttft-ms", type=float, default=30)
    parser.add_argument("--runs", type=int, default=5, help="runs per setting (medians)")
    parser.add_argument(
        "--no-bytecode", dest="bytecode", action="store_false",
        help="keep PYTHONDONTWRITEBYTECODE as set (every module compiled from source)",
    )  # fmt: skip
    args = parser.parse_args()
    sandboxes = ["bwrap", "none"] if args.sandbox == "both" else [args.sandbox]
    starts = ["cold", "warm"] if args.start == "both" else [args.start]
    settings = [f"{sandbox} {start}" for start in starts for sandbox in sandboxes]
    print(f"20-step `tether do`, server {args.tps:.0f} tok/s, TTFT {args.ttft_ms:.0f} ms, "
          f"{args.runs} interleaved runs per setting, medians; whole processes")  # fmt: skip
    results: dict[str, list[dict[str, float]]] = {s: [] for s in settings}
    with warm_tether(args, "warm" in starts):
        for setting in settings:
            run_once(args, setting)  # warm-up: the .pyc files and the OS caches
        for _ in range(args.runs):
            for setting in settings:
                results[setting].append(run_once(args, setting))
    keys = list(next(iter(results.values()))[0])
    print(f"{'':>28}" + "".join(f"{s:>14}" for s in settings))
    for key in keys:
        row = []
        for setting in settings:
            value = statistics.median(r[key] for r in results[setting])
            row.append(f"{value:>13.1%} " if "share" in key else f"{value:>13.3f} ")
        print(f"{key:>28}" + "".join(row))
    env = dict(os.environ)
    if args.bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(
        f"{'python -c pass':>28}{baseline([sys.executable, '-c', 'pass'], args.runs, env):>13.3f}"
    )
    print(f"{'tether --help':>28}{baseline([*TETHER, '--help'], args.runs, env):>13.3f}")
    compiled = "from .pyc files" if args.bytecode else "compiled from source on each run"
    print(f"(tether's modules load {compiled})")
    print("(seconds unless a share; model = the server's own time, arrival to last byte; "
          "tether = the rest of spawn to exit; warm = handed to `tether warm`)")  # fmt: skip


if __name__ == "__main__":
    main()
