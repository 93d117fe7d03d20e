"""A 3-task `tether run --all` against the scripted server (1,200 tok/s, 30 ms to first
token), whole processes: the wall time and where it went (model, tools, gates, tether,
start-up), read back from events.jsonl the way `tether status` reads it.

The project's suite is CPU-bound (about 3 s alone); VERIFY.md's task tier runs
`python -m pytest -q` and every task's `accept:` asks for the same command, so before
gate de-duplication it ran twice, in parallel, per task.

Run by hand:  .venv/bin/python bench/session_split.py [--runs 3] [--src PATH]
`--src` runs another checkout's code (`git worktree add /tmp/before a352826`, then
`--src /tmp/before/src`) for a before/after comparison in one sitting; `--cpus 0`
pins everything to one CPU, as on a machine busy with other work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import TETHER, fake_model, sample_repo
from tether.report.sessions import newest_with_tasks

PYTEST = "python -m pytest -q -p no:cacheprovider"
NAMES = ("sub", "mul", "div")
BODIES = {"sub": "a - b", "mul": "a * b", "div": "a / b"}
SUITE = """import calc


def spin(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


{tests}
"""


def project() -> Path:
    tests = "\n\n".join(
        f"def test_busy_{k}():\n    assert spin(1_000_000) > 0\n"
        f"    assert calc.add(1, {k}) == {k + 1}"
        for k in range(40)
    )
    plan = "# PLAN\n\n## calc\n\n" + "".join(
        f"- [ ] T{i}: Add {name}()\n  - scope: calc.py\n  - max-diff: 20\n  - accept: {PYTEST}\n"
        for i, name in enumerate(NAMES, 1)
    )
    return sample_repo(
        {
            "calc.py": "def add(a, b):\n    return a + b\n\n\n# more\n",
            "test_calc.py": SUITE.format(tests=tests),
            "VERIFY.md": f"# VERIFY\n\n## task\n- `{PYTEST}`\n",
            "PLAN.md": plan,
        }
    )


def script() -> dict[str, object]:
    first = [
        {
            "when": f"Task: Add {name}()",
            "tool_calls": [{"name": "edit_file", "arguments": {
                "path": "calc.py", "search": "# more\n",
                "replace": f"def {name}(a, b):\n    return {BODIES[name]}\n\n\n# more\n",
            }}],
        }
        for name in NAMES
    ]  # fmt: skip
    done = {"tool_calls": [{"name": "done", "arguments": {"summary": "added it"}}]}
    return {"default": [{"cases": first}, done, done, done]}


def one_run(url: str, src: str | None, cpus: str | None) -> dict[str, float]:
    repo = project()
    env = {
        **os.environ,
        "TETHER_EXECUTOR_MODEL": "exec",
        "TETHER_EXECUTOR_BASE_URL": url,
        "TETHER_EXECUTOR_PROVIDER": "openai",
        "COLUMNS": "200",
    }
    if src:
        env["PYTHONPATH"] = src
    pin = ["taskset", "-c", cpus] if cpus else []
    started = time.perf_counter()
    done = subprocess.run([*pin, *TETHER, "run", "--all"], cwd=repo, env=env,
                          capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tether run failed:\n{done.stdout}\n{done.stderr}")
    session = newest_with_tasks(repo)
    assert session is not None
    split = session.split()
    gates = [e for e in session.gates if e.get("tier") == "task"]
    return {
        "wall": wall, "logged": split.wall, "model": split.model, "tools": split.tools,
        "gates": split.gates, "tether": split.tether, "startup": split.startup,
        "task gate runs": len(gates),
        "task gate seconds, summed": sum(float(g.get("seconds") or 0) for g in gates),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--src", help="the src folder of another checkout to run")
    parser.add_argument("--cpus", help="pin tether and its gates to these CPUs (taskset -c)")
    args = parser.parse_args()
    with fake_model(script(), "--tps", "1200", "--ttft-ms", "30") as (url, _):
        runs = [one_run(url, args.src, args.cpus) for _ in range(args.runs)]
    code = args.src or "this checkout"
    cpus = f"CPUs {args.cpus}" if args.cpus else f"all {os.cpu_count()} CPUs"
    print(f"3-task `tether run --all`, {args.runs} run(s), code: {code}, {cpus}")
    for key in runs[0]:
        values = [r[key] for r in runs]
        shown = " ".join(f"{v:.2f}" for v in values)
        print(f"  {key:>15}: median {statistics.median(values):7.2f}   ({shown})")
    print(json.dumps({k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}))


if __name__ == "__main__":
    main()
