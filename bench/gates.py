"""Step-tier gates against the full suite on a real project: networkx from its sdist.

Run by hand (about 35 minutes on 2 cores):  .venv/bin/python bench/gates.py
It builds a throwaway venv and a git repo of the networkx sdist (tests included), runs
the full suite twice (plain, then with the task tier's coverage recording: its cost is
reported), then for each one-line bug runs the step tier (`pytest --maxfail=5
{affected_tests}` under a 10 s budget, learned costs, the coverage map) and the full
suite with the bug in, and prints per bug: the changed function, the selection, the
estimate against the actual time, the result, and the share of the full suite's
failures the step tier reproduced. `--bugs FILE` takes other bugs (a JSON list of
[path, search, replace]); full-suite results are cached per bug in the work folder.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from tether.gates.pysource import changed_functions
from tether.gates.runner import GateRunner
from tether.gates.tiers import changed_lines
from tether.memory.verify_md import GateSpec
from tether.sandbox import make_sandbox
from tether.telemetry import NullLog
from tether.tools.edit import EditError, apply_edit

PINS = ("pytest==9.2.0", "coverage==7.17.5")
MAXFAIL = 5
BUGS = [
    # private helper; tests in test_betweenness_centrality.py (not named after the module)
    (
        "networkx/algorithms/centrality/betweenness.py",
        "scale = 1 / (K_source * (N - 1))",
        "scale = 1 / (K_source * N)",
    ),
    # tests in test_maxflow.py: no name, no direct import, the package __init__ between
    (
        "networkx/algorithms/flow/edmondskarp.py",
        'R_succ[v][u]["flow"] -= flow',
        'R_succ[v][u]["flow"] -= 0',
    ),
    # private helper; tests in test_coloring.py
    (
        "networkx/algorithms/coloring/greedy_coloring.py",
        "v = min(remaining, key=G.degree)",
        "v = max(remaining, key=G.degree)",
    ),
    # tests in test_dfs.py
    (
        "networkx/algorithms/traversal/depth_first_search.py",
        "                    yield parent, child\n                    visited.add(child)\n"
        "                    if depth_now < depth_limit:",
        "                    yield parent, child\n                    visited.add(child)\n"
        "                    if depth_now <= depth_limit:",
    ),
    # private helper
    (
        "networkx/algorithms/components/connected.py",
        "            if len(seen) == n:\n                return seen\n    return seen\n",
        "            if len(seen) == n - 1:\n                return seen\n    return seen\n",
    ),
    # private helper
    (
        "networkx/algorithms/shortest_paths/weighted.py",
        "return lambda u, v, d: min(attr.get(weight, 1) for attr in d.values())",
        "return lambda u, v, d: max(attr.get(weight, 1) for attr in d.values())",
    ),
    (
        "networkx/algorithms/dag.py",
        "return {child for parent, child in nx.bfs_edges(G, source, reverse=True)}",
        "return {child for parent, child in nx.bfs_edges(G, source)}",
    ),
    # private helper
    (
        "networkx/algorithms/link_prediction.py",
        "return ((u, v, func(u, v)) for u, v in ebunch)",
        "return ((u, v, func(v, v)) for u, v in ebunch)",
    ),
    ("networkx/classes/function.py", "d = m / (n * (n - 1))", "d = m / (n * (n + 1))"),
    (
        "networkx/algorithms/bipartite/basic.py",
        "(X.issubset(S) and Y.isdisjoint(S)) or (Y.issubset(S) and X.isdisjoint(S))",
        "(X.issubset(S) and Y.isdisjoint(S)) and (Y.issubset(S) and X.isdisjoint(S))",
    ),
]

# comment-only edits in widely used code: they must pass, inside the budget, as estimated
CLEAN = [
    (
        "networkx/classes/graph.py",
        "        u, v = u_of_edge, v_of_edge\n",
        "        u, v = u_of_edge, v_of_edge  # the two ends\n",
    ),
    (
        "networkx/utils/misc.py",
        "def pairwise(iterable, cyclic=False):\n",
        "def pairwise(iterable, cyclic=False):  # successive pairs\n",
    ),
]


def sh(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def prepare(work: Path, version: str) -> tuple[Path, Path]:
    venv, repo = work / "venv", work / "repo"
    if not (venv / "bin" / "pytest").exists():
        sh(sys.executable, "-m", "venv", str(venv))
        sh(str(venv / "bin" / "pip"), "install", "-q", *PINS)
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


def failures(log_path: str) -> set[str]:
    """Failing test ids from pytest's short summary (``FAILED id - message``)."""
    try:
        lines = Path(log_path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return set()
    found = set()
    for line in lines:
        if line.startswith(("FAILED ", "ERROR ")):
            found.add(line.split(" ", 1)[1].split(" - ", 1)[0].strip())
    return found


class Bench:
    def __init__(self, repo: Path, work: Path, budget: float):
        pytest = "python -m pytest -q -p no:cacheprovider"
        sandbox = make_sandbox("auto")
        self.sandbox_name = sandbox.name
        self.repo, self.work = repo, work
        specs = [
            GateSpec(
                "command", "step", 1, command=f"{pytest} --maxfail={MAXFAIL} {{affected_tests}}",
                timeout_s=120,
            ),
            GateSpec("command", "task", 2, command=f"{pytest} networkx", timeout_s=900),
        ]  # fmt: skip

        def runner(record: str) -> GateRunner:
            return GateRunner(
                root=repo,
                sandbox=sandbox,
                log=NullLog(),
                evidence_dir=work / "evidence",
                specs=specs,
                step_budget_s=budget,
                record_coverage=record,
            )

        self.plain, self.recording = runner("never"), runner("always")
        self.cache_path = work / "full-cache.json"
        try:
            self.cache = json.loads(self.cache_path.read_text())
        except (OSError, ValueError):
            self.cache = {}

    async def full(self, runner: GateRunner) -> tuple[float, str, set[str]]:
        (result,) = await runner.run("task", ["networkx/__init__.py"])
        if result.status == "timeout":
            raise SystemExit(f"the full suite timed out: {result.summary}")
        return result.seconds, result.summary, failures(result.log_path)

    async def clean(self, path: str, search: str, replace: str) -> str:
        original = (self.repo / path).read_text()
        edited = apply_edit(original, search, replace, path)
        if isinstance(edited, EditError):
            return f"{path}: could not edit: {edited.message}"
        (self.repo / path).write_text(edited)
        try:
            ranges = changed_lines(sh("git", "diff", "-U0", "--no-color", cwd=self.repo))
            (step,) = await self.plain.run("step", [path], line_ranges=ranges)
        finally:
            (self.repo / path).write_text(original)
        selection = self.plain.last_selection
        return (
            f"clean {path.removeprefix('networkx/'):<40} {len(selection.files):>4} items "
            f"est {selection.estimated_s:>5.1f}s act {step.seconds:>5.1f}s {step.status}"
        )

    async def bug(self, path: str, search: str, replace: str) -> dict[str, object]:
        original = (self.repo / path).read_text()
        edited = apply_edit(original, search, replace, path)
        if isinstance(edited, EditError):
            return {"path": path, "error": edited.message}
        (self.repo / path).write_text(edited)
        try:
            ranges = changed_lines(sh("git", "diff", "-U0", "--no-color", cwd=self.repo))
            functions = changed_functions(edited.encode(), ranges.get(path, []))
            (step,) = await self.plain.run("step", [path], line_ranges=ranges)
            selection = self.plain.last_selection
            key = hashlib.sha256(f"{path}\0{search}\0{replace}".encode()).hexdigest()[:16]
            if key not in self.cache:
                seconds, summary, failed = await self.full(self.plain)
                self.cache[key] = {"s": seconds, "summary": summary, "failed": sorted(failed)}
                self.cache_path.write_text(json.dumps(self.cache))
            full = self.cache[key]
        finally:
            (self.repo / path).write_text(original)
        step_failed = failures(step.log_path)
        full_failed = set(full["failed"])
        tiers = sorted(set(selection.reasons.values()))
        return {
            "path": path,
            "function": ",".join(f or "<module>" for f in functions),
            "items": len(selection.files),
            "tiers": "+".join(tiers),
            "estimate": selection.estimated_s,
            "step_s": step.seconds,
            "step": step.status,
            "step_failed": len(step_failed),
            "full_failed": len(full_failed),
            "reproduced": len(step_failed & full_failed),
            "full_s": full["s"],
        }


def report(rows: list[dict[str, object]], plain_s: float, recording_s: float) -> None:
    done = [r for r in rows if "error" not in r]
    n = len(done)
    step_mean = sum(float(str(r["step_s"])) for r in done) / n
    red = sum(1 for r in done if r["step"] in ("fail", "error", "timeout"))
    reproduced = sum(int(str(r["reproduced"])) for r in done)
    full = sum(int(str(r["full_failed"])) for r in done)
    shown = sum(min(MAXFAIL, int(str(r["full_failed"]))) for r in done)
    errors = [abs(float(str(r["step_s"])) - float(str(r["estimate"]))) for r in done]
    ratios = [float(str(r["step_s"])) / max(float(str(r["estimate"])), 0.01) for r in done]
    print(f"\nbugs injected: {n}; red at the step tier: {red} of {n}")
    print(
        f"mean step-tier time {step_mean:.1f}s vs full suite {plain_s:.1f}s: "
        f"{step_mean / plain_s:.1%} of the full suite (1/{plain_s / step_mean:.0f})"
    )
    print(
        f"full-suite failures reproduced by the step tier (--maxfail={MAXFAIL}): {reproduced} "
        f"of {full} ({reproduced / max(full, 1):.1%}); of the {shown} that --maxfail={MAXFAIL} "
        f"can show: {reproduced / max(shown, 1):.1%}"
    )
    print(
        f"estimate vs actual per step: mean |error| {sum(errors) / n:.2f}s, actual/estimate "
        f"median {sorted(ratios)[n // 2]:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})"
    )
    print(
        f"coverage recording on the task tier: {recording_s:.1f}s vs {plain_s:.1f}s plain "
        f"({recording_s / plain_s:.2f}x)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default="/tmp/tether-bench-gates")
    parser.add_argument("--version", default="3.6.1")
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--bugs", help="a JSON file: [[path, search, replace], ...]")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the learned costs and coverage map and the two baseline runs' figures",
    )
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    venv, repo = prepare(work, args.version)
    os.environ["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"  # as if activated
    if not args.reuse:
        shutil.rmtree(repo / ".tether", ignore_errors=True)
    bugs = json.loads(Path(args.bugs).read_text()) if args.bugs else BUGS
    bench = Bench(repo, work, args.budget)
    started = time.perf_counter()
    baseline = bench.cache.get("baseline") if args.reuse else None
    if baseline is None:
        plain_s, summary, _ = await bench.full(bench.plain)
        recording_s, _, _ = await bench.full(bench.recording)
        baseline = bench.cache["baseline"] = [plain_s, summary, recording_s]
        bench.cache_path.write_text(json.dumps(bench.cache))
    plain_s, summary, recording_s = baseline
    print(f"networkx {args.version}; sandbox {bench.sandbox_name}; full suite {plain_s:.1f}s "
          f"({summary})", flush=True)  # fmt: skip
    print(f"full suite recording coverage: {recording_s:.1f}s", flush=True)
    rows = []
    for path, search, replace in bugs:
        row = await bench.bug(path, search, replace)
        rows.append(row)
        if "error" in row:
            print(f"{path}: could not inject: {row['error']}", flush=True)
            continue
        print(
            f"{path.removeprefix('networkx/'):<46} {str(row['function'])[:26]:<26} "
            f"{row['items']:>4} {str(row['tiers'])[:22]:<22} est {row['estimate']:>5.1f}s "
            f"act {row['step_s']:>5.1f}s {row['step']:<9} "
            f"{row['reproduced']}/{row['full_failed']} of full",
            flush=True,
        )
    report(rows, plain_s, recording_s)
    print(f"step budget {bench.plain.step_budget():.1f}s")
    for path, search, replace in CLEAN:
        print(await bench.clean(path, search, replace), flush=True)
    print(f"bench wall time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    asyncio.run(main())
