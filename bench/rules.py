"""What the semantic rules cost per step, on a 500-line Python module.

Run by hand:  .venv/bin/python bench/rules.py [--repeat 50]
For three kinds of step (a body-only edit, a changed return annotation, a changed
default) it times, as the step guard runs them: reading the file's two versions from
git (one `cat-file --batch` call) and the checks of keep: types, signatures, deps and
tests. Prints the median and the 90th percentile in milliseconds, and the step guard's
whole judge() with and without the keep rules on the same step.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "src"))
from tether.guard.contract import Contract
from tether.guard.diffcheck import DiffContract
from tether.guard.policy import ActionPolicy
from tether.guard.stepguard import TaskStepGuard
from tether.rules.pyparse import _parse
from tether.rules.rule import KEEPS, Rule
from tether.rules.semantic import FileStep, check
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.vcs.worktree import GitWorkTree


def module(functions: int = 55) -> str:
    """About ten lines a function: 55 functions and a dataclass make ~500 lines."""
    parts = [
        '"""A sample module."""\nfrom dataclasses import dataclass\n\n\n'
        "@dataclass\nclass Row:\n    id: str\n    line: int\n    done: bool = False\n"
    ]
    for k in range(functions):
        parts.append(
            f"\n\ndef step_{k}(rows: list[Row], limit: int = {k}) -> list[Row]:\n"
            f'    """Step {k}."""\n'
            "    out = []\n"
            "    for row in rows:\n"
            "        if row.line > limit:\n"
            "            out.append(row)\n"
            "    return out\n"
        )
    return "".join(parts)


EDITS = {
    "body-only edit": ("        if row.line > limit:", "        if row.line >= limit:"),
    "return annotation": ("limit: int = 7) -> list[Row]:", "limit: int = 7) -> tuple[Row, ...]:"),
    "changed default": ("limit: int = 7)", "limit: int = 8)"),
}
RULES = [Rule("keep", what=what) for what in KEEPS]


def timed(repeat: int, work: object) -> list[float]:
    """Cold: the parse cache is emptied before each run (a first step on a file)."""
    out = []
    for _ in range(repeat):
        _parse.cache_clear()
        start = time.perf_counter()
        work()  # type: ignore[operator]
        out.append((time.perf_counter() - start) * 1000)
    return out


def warm(repeat: int, step: list[FileStep]) -> list[float]:
    """As in a task: the step's old version is the last step's new one, parsed then."""
    out = []
    for _ in range(repeat):
        _parse.cache_clear()
        _parse(step[0].old or b"")
        start = time.perf_counter()
        check(RULES, step, ())
        out.append((time.perf_counter() - start) * 1000)
    return out


def show(label: str, ms: list[float]) -> None:
    p90 = sorted(ms)[int(len(ms) * 0.9) - 1]
    print(f"  {label:<50} median {statistics.median(ms):6.2f} ms · p90 {p90:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        old = module()
        print(f"module: {old.count(chr(10))} lines; {repeat} runs each")
        (repo / "mod.py").write_text(old)
        git = Git(repo)
        checkpoints = ShadowCheckpoints(git, ())
        base = checkpoints.snapshot_tree()
        for name, (search, replace) in EDITS.items():
            new = old.replace(search, replace, 1)
            assert new != old, name
            (repo / "mod.py").write_text(new)
            tree = checkpoints.snapshot_tree()
            print(name)
            specs = [f"{base}:mod.py", f"{tree}:mod.py"]
            show("read both versions (git)", timed(repeat, lambda s=specs: git.read_objects(s)))
            step = [FileStep("mod.py", "M", old.encode(), new.encode())]
            found = check(RULES, step, ())
            checks = timed(repeat, lambda s=step: check(RULES, s, ()))
            show(f"checks ({len(found)} breach(es)), cold", checks)
            show("checks, the old version parsed by the step before", warm(repeat, step))
            for label, rules in (
                ("judge(), no keep rules", []),
                ("judge(), keep: all four", RULES),
            ):
                show(label, judged(repeat, repo, checkpoints, base, new, rules))
            (repo / "mod.py").write_text(old)


def judged(
    repeat: int, repo: Path, checkpoints: ShadowCheckpoints, base: str, new: str, rules: list[Rule]
) -> list[float]:
    """The step guard's judge() of the step, the file written afresh each time (a
    violating step is rolled back)."""
    out = []
    contract = Contract(max_diff=10_000).with_rules(rules)
    for _ in range(repeat):
        (repo / "mod.py").write_text(new)
        policy = ActionPolicy(repo, contract)
        guard = TaskStepGuard(GitWorkTree(checkpoints, "bench"), DiffContract(policy))
        guard.begin(base, base)
        start = time.perf_counter()
        guard.judge(True, [])
        out.append((time.perf_counter() - start) * 1000)
    return out


if __name__ == "__main__":
    main()
