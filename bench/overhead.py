"""Harness overhead of `tether do` on a 20-step scripted task at 1,200 tokens/s.

Run by hand:  .venv/bin/python bench/overhead.py [--sandbox auto|none]
Prints per step and in total: model seconds, tool/guard seconds (tool calls, the
sandbox, the diff contract), harness seconds (everything else: prompt assembly, events,
checkpoints), the harness share of the loop's wall time, the process start-up time, and
how much of each request's prompt is a prefix of the next one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandbox", default="auto", choices=["auto", "bwrap", "none"])
    parser.add_argument("--tps", type=float, default=1200)
    parser.add_argument("--ttft-ms", type=float, default=30)
    args = parser.parse_args()
    core = "".join(f"LIMIT_{k} = {k}\n" for k in range(40)) + "def f():\n    return 1\n" * 50
    repo = sample_repo(
        {
            "app/core.py": core,
            "app/__init__.py": "",
            "tether.toml": f'[guard]\nsandbox = "{args.sandbox}"\n',
        }
    )
    with fake_model(script(), "--tps", str(args.tps), "--ttft-ms", str(args.ttft_ms)) as (url, log):
        env = {
            **os.environ,
            "TETHER_EXECUTOR_MODEL": "bench",
            "TETHER_EXECUTOR_BASE_URL": url + "/v1",
        }
        started = time.perf_counter()
        done = subprocess.run(
            [*TETHER, "do", "Adjust the limits", "--scope", "app/**"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        shares = prefix_shares(log)
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        raise SystemExit("tether do failed")
    log_events = events(repo)
    steps = [e for e in log_events if e["type"] == "step"]
    sandbox = next((e["kind"] for e in log_events if e["type"] == "sandbox"), "?")
    print(f"sandbox: {sandbox}   server: {args.tps:.0f} tok/s, TTFT {args.ttft_ms:.0f} ms")
    print(
        f"{'step':>4} {'model s':>9} {'(server)':>9} {'tool/guard s':>13} {'harness s':>10} "
        f"{'wall s':>8}  tools"
    )
    totals = {"model": 0.0, "tools": 0.0, "harness": 0.0, "wall": 0.0}
    for s in steps:
        tool_guard = s["tools_s"] + s["guard_s"] + s["gates_s"]
        totals["model"] += s["model_s"]
        totals["tools"] += tool_guard
        totals["harness"] += s["harness_s"]
        totals["wall"] += s["wall_s"]
        names = ",".join(t["name"] for t in s["tools"])
        server = args.ttft_ms / 1000 + s["output_tokens"] / args.tps
        print(
            f"{s['step']:>4} {s['model_s']:>9.4f} {server:>9.4f} {tool_guard:>13.4f} "
            f"{s['harness_s']:>10.4f} {s['wall_s']:>8.4f}  {names}"
        )
    print(
        f"total {totals['model']:>8.3f} {'':>9} {totals['tools']:>13.3f} "
        f"{totals['harness']:>10.4f} {totals['wall']:>8.3f}"
    )
    print(
        "(server) is the time the server itself takes: TTFT + output tokens / tps; the rest "
        "of 'model s' is HTTP and SDK time in the client"
    )
    print(f"harness share of the loop's wall time: {totals['harness'] / totals['wall']:.2%}")
    print(f"harness per step: {totals['harness'] / len(steps) * 1000:.2f} ms")
    print(
        f"whole `tether do` process: {wall:.3f} s for {len(steps)} steps "
        f"(loop {totals['wall']:.3f} s; start-up, set-up and commit {wall - totals['wall']:.3f} s)"
    )
    print(
        f"prefix share, each request's prompt inside the next: min {min(shares):.1%}, "
        f"mean {sum(shares) / len(shares):.1%} over {len(shares)} pairs"
    )


if __name__ == "__main__":
    main()
