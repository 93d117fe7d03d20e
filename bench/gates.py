"""Step-tier gates against the full suite on a real project: networkx from its sdist.

Run by hand (about 30 minutes on 2 cores):  .venv/bin/python bench/gates.py
It builds a throwaway venv and a git repo of the networkx sdist (tests included), runs
the full suite once, then for each of 10 one-line bugs in different modules runs the
step tier (`pytest -x {affected_tests}`, incremental selection under a 10 s budget) and
the task tier (the full suite), and prints each bug's selection size, times and result.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from tether.gates.runner import GateRunner
from tether.gates.tiers import changed_lines
from tether.memory.verify_md import GateSpec
from tether.sandbox import make_sandbox
from tether.telemetry import NullLog
from tether.tools.edit import EditError, apply_edit

BUGS = [
    (
        "networkx/algorithms/euler.py",
        "all(d % 2 == 0 for v, d in G.degree())",
        "all(d % 2 == 1 for v, d in G.degree())",
    ),
    (
        "networkx/algorithms/components/connected.py",
        "return sum(1 for _ in connected_components(G))",
        "return sum(1 for _ in connected_components(G)) + 1",
    ),
    ("networkx/classes/function.py", "d = m / (n * (n - 1))", "d = m / (n * (n + 1))"),
    (
        "networkx/algorithms/tree/recognition.py",
        "return len(G) - 1 == G.number_of_edges() and is_connected(G)",
        "return len(G) == G.number_of_edges() and is_connected(G)",
    ),
    (
        "networkx/utils/misc.py",
        "return itertools.pairwise(iterable)",
        "return itertools.pairwise(list(iterable)[::-1])",
    ),
    (
        "networkx/algorithms/cluster.py",
        "return 0 if triangles == 0 else triangles / contri",
        "return 0 if triangles == 0 else contri / triangles",
    ),
    (
        "networkx/algorithms/simple_paths.py",
        "if len(set(nodes)) != len(nodes):",
        "if len(set(nodes)) == len(nodes) + 1:",
    ),
    (
        "networkx/generators/classic.py",
        "G.add_edges_from(pairwise(nodes))",
        "G.add_edges_from(list(pairwise(nodes))[1:])",
    ),
    (
        "networkx/algorithms/bipartite/basic.py",
        "(X.issubset(S) and Y.isdisjoint(S)) or (Y.issubset(S) and X.isdisjoint(S))",
        "(X.issubset(S) and Y.isdisjoint(S)) and (Y.issubset(S) and X.isdisjoint(S))",
    ),
    (
        "networkx/algorithms/shortest_paths/unweighted.py",
        "                    yield (w, level)\n            if len(seen) == n:\n"
        "                return\n\n\n@nx._dispatchable\ndef single_target_shortest_path_length",
        "                    yield (w, level + 1)\n            if len(seen) == n:\n"
        "                return\n\n\n@nx._dispatchable\ndef single_target_shortest_path_length",
    ),
]


def sh(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def prepare(work: Path, version: str) -> tuple[Path, Path]:
    venv, repo = work / "venv", work / "repo"
    if not (venv / "bin" / "pytest").exists():
        sh(sys.executable, "-m", "venv", str(venv))
        sh(str(venv / "bin" / "pip"), "install", "-q", "pytest")
    if not (repo / ".git").exists():
        sh(
            str(venv / "bin" / "pip"),
            "download",
            "-q",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"networkx=={version}",
            "-d",
            str(work),
        )
        with tarfile.open(work / f"networkx-{version}.tar.gz") as archive:
            archive.extractall(work, filter="data")
        (work / f"networkx-{version}").rename(repo)
        for args in (
            ["init", "-q", "-b", "main"],
            ["add", "-A"],
            ["-c", "user.email=b@x", "-c", "user.name=b", "commit", "-qm", "sdist"],
        ):
            sh("git", *args, cwd=repo)
    return venv, repo


def spec(tier: str, command: str) -> GateSpec:
    return GateSpec("command", tier, 1 if tier == "step" else 2, command=command, timeout_s=300)


async def run_bug(
    runner: GateRunner, repo: Path, path: str, search: str, replace: str
) -> dict[str, object]:
    original = (repo / path).read_text()
    edited = apply_edit(original, search, replace, path)
    if isinstance(edited, EditError):
        return {"path": path, "error": edited.message}
    (repo / path).write_text(edited)
    try:
        ranges = changed_lines(sh("git", "diff", "-U0", "--no-color", cwd=repo))
        (step,) = await runner.run("step", [path], line_ranges=ranges)
        selection = runner.last_selection
        (task,) = await runner.run("task", [path])
    finally:
        (repo / path).write_text(original)
    return {
        "path": path,
        "files": len(selection.files),
        "step_s": step.seconds,
        "step": step.status,
        "task_s": task.seconds,
        "task": task.status,
        "summary": step.summary,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default="/tmp/tether-bench-gates")
    parser.add_argument("--version", default="3.6.1")
    parser.add_argument("--budget", type=float, default=10.0)
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    venv, repo = prepare(work, args.version)
    os.environ["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"  # as if activated
    pytest = "python -m pytest -q -p no:cacheprovider"
    sandbox = make_sandbox("auto")
    runner = GateRunner(
        root=repo,
        sandbox=sandbox,
        log=NullLog(),
        evidence_dir=work / "evidence",
        specs=[spec("step", f"{pytest} -x {{affected_tests}}"), spec("task", f"{pytest} networkx")],
        step_budget_s=args.budget,
        task_timeout_s=300,
    )
    started = time.perf_counter()
    (full,) = await runner.run("task", ["networkx/__init__.py"])
    full_s = time.perf_counter() - started
    print(
        f"networkx {args.version}; sandbox {sandbox.name}; full suite: {full.status} in "
        f"{full_s:.1f}s ({full.summary})",
        flush=True,
    )
    rows = []
    for path, search, replace in BUGS:
        row = await run_bug(runner, repo, path, search, replace)
        rows.append(row)
        if "error" in row:
            print(f"{path}: could not inject: {row['error']}", flush=True)
            continue
        print(
            f"{path:<52} files {row['files']:>3}  step {row['step_s']:>6.1f}s "
            f"{row['step']:<5} task {row['task_s']:>6.1f}s {row['task']:<5}",
            flush=True,
        )
    done = [r for r in rows if "error" not in r]
    step_mean = sum(float(str(r["step_s"])) for r in done) / len(done)
    caught_step = sum(1 for r in done if r["step"] != "pass")
    caught_task = sum(1 for r in done if r["task"] != "pass")
    print(
        f"\nbugs injected: {len(done)}; step tier caught {caught_step}, task tier caught "
        f"{caught_task}"
    )
    print(
        f"mean step-tier time {step_mean:.1f}s vs full suite {full_s:.1f}s: "
        f"{step_mean / full_s:.1%} of the full suite"
    )


if __name__ == "__main__":
    asyncio.run(main())
