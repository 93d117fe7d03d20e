"""Variants on Ray against variants on one event loop: 16 variants of the scripted
10-step task (bench/variants.py) with a step gate that takes about a second, at 1,200
tokens/s; local asyncio against a local Ray cluster of 2 worker processes (a head
started here on 127.0.0.1 with 2 CPUs and stopped at the end). Prints wall time and the
cached share of prompt tokens for each, and what one variant moved to and from Ray.

Run by hand:  .venv/bin/python bench/variants_ray.py [--count 16] [--cpus 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import TETHER, fake_model, sample_repo
from variants import script

RAY = Path(sys.executable).with_name("ray")
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
VERIFY = "## step\n\n- `sleep 1`\n"  # a step gate of about a second, after every edit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(count: int, cluster: str | None, cpus: float = 1.0) -> dict[str, float]:
    core = "".join(f"LIMIT_{k} = {k}\n" for k in range(40)) + "def f():\n    return 1\n" * 40
    repo = sample_repo(
        {
            "app/core.py": core,
            "app/__init__.py": "",
            "AGENTS.md": "# AGENTS.md\n" + "- keep changes small\n" * 40,
            "VERIFY.md": VERIFY,
            "tether.toml": f"[variants]\ncpus = {cpus}\n",
        }
    )
    with fake_model(script(), "--tps", "1200", "--ttft-ms", "30") as (url, _log):
        env = {
            **os.environ,
            **RAY_ENV,
            "TETHER_EXECUTOR_MODEL": "bench",
            "TETHER_EXECUTOR_BASE_URL": url + "/v1",
        }
        extra = ["--cluster", cluster] if cluster else []
        started = time.perf_counter()
        done = subprocess.run(
            [*TETHER, "variants", "Adjust the limits", "-n", str(count), "--scope", "app/**",
             *extra],
            cwd=repo, env=env, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        raise SystemExit("tether variants failed")
    (record,) = [json.loads(p.read_text()) for p in (repo / ".tether/runs").glob("*/run.json")]
    variants = record["variants"]
    prompt = sum(v["input_tokens"] for v in variants)
    cached = sum(v["cached_tokens"] for v in variants)
    bundle = subprocess.run(
        ["git", "bundle", "create", "-", f"refs/tether/runs/{record['id']}"],
        cwd=repo, capture_output=True,
    ).stdout  # fmt: skip
    fetched = [
        json.loads(line)
        for path in (repo / ".tether/sessions").glob("*/events.jsonl")
        for line in path.read_text().splitlines()
        if '"variant_fetched"' in line
    ]
    back = [sum(e["bytes"].values()) for e in fetched]
    return {
        "wall": wall,
        "back per variant": sum(back) / max(len(back), 1),
        "cached": cached / max(prompt, 1),
        "done": sum(v["status"].startswith("done") for v in variants),
        "base bundle bytes": len(bundle),
    }


def start_head(cpus: int) -> tuple[str, str]:
    temp = tempfile.mkdtemp(prefix="tb-", dir="/tmp")
    port = free_port()
    subprocess.run(
        [str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
         f"--num-cpus={cpus}", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp}"],
        env={**os.environ, **RAY_ENV}, check=True, capture_output=True,
    )  # fmt: skip
    return f"127.0.0.1:{port}", temp


def stop_head(temp: str) -> None:
    """The head's processes, found by the temp dir their command lines name: SIGTERM,
    then SIGKILL for what is left after 10 s (gcs_server can outlive a SIGTERM)."""
    for sig in (15, 9):
        pids = head_pids(temp)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                continue
        deadline = time.monotonic() + 10
        while head_pids(temp) and time.monotonic() < deadline:
            time.sleep(0.2)


def head_pids(temp: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and temp.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    local = run(args.count, None)
    address, temp = start_head(args.cpus)
    try:
        remote = run(args.count, address)  # one CPU per variant: `cpus` at a time
        packed = run(args.count, address, args.cpus / args.count)  # all at once, as locally
    finally:
        stop_head(temp)
    print(f"{args.count} variants, 10 steps each, step gate `sleep 1`, 1200 tok/s, TTFT 30 ms")
    columns = [
        ("local asyncio", local),
        (f"Ray {args.cpus} CPUs, 1 each", remote),
        (f"Ray, {args.cpus / args.count:g} CPU each", packed),
    ]
    print(f"{'':>26}" + "".join(f"{name:>26}" for name, _ in columns))
    for label, key, form in (
        ("wall, whole process (s)", "wall", ".2f"),
        ("cached share of prompts", "cached", ".1%"),
        ("variants done", "done", ".0f"),
    ):
        print(f"{label:>26}" + "".join(f"{figures[key]:>26{form}}" for _, figures in columns))
    print(f"base bundle (sent once, shared by all): {remote['base bundle bytes']:,} bytes")
    back = remote["back per variant"]
    print(f"back per variant (result bundle, events, evidence): {back:,.0f} bytes")


if __name__ == "__main__":
    main()
