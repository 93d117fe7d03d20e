"""A step gate judges what the step introduced. When a checker that is not the test
suite (a linter, a type checker) fails on a step, the same command runs on the step's
*before* tree, in a scratch copy, and its findings are compared: findings that were
already there are not the model's failure and are not fed back as such.

A finding is what checkers print one per problem, compared as (file, message) with the
line and column left out (an edit above moves them):
  ``path:12:5: F401 `os` imported but unused``   (ruff concise, flake8, mypy, pylint)
  ``F401 `os` imported but unused`` / `` --> path:12:5``   (ruff full, rustc)
  ``path(12,5): error TS2322: ...``   (tsc)
Output with no finding in it cannot be compared; the gate's failure then stands."""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from tether.gates.command import run_command_gate
from tether.gates.context import GateContext
from tether.gates.results import GateResult
from tether.memory.verify_md import GateSpec
from tether.vcs.diff import write_tree_to
from tether.vcs.git import Git

_INLINE = re.compile(r"^(?P<path>[^\s:()][^:()]*?)(?::\d+(?::\d+)?:|\(\d+,\d+\):)\s*(?P<msg>.+)$")
_ARROW = re.compile(r"^\s*-->\s*(?P<path>[^\s:]+):\d+(?::\d+)?\s*$")
Finding = tuple[str, str]


def findings(text: str, paths: list[str]) -> tuple[Counter[Finding], dict[Finding, str]]:
    """The findings in a checker's output that fall in ``paths``, with one line each."""
    wanted = {p.removeprefix("./") for p in paths}
    found: Counter[Finding] = Counter()
    shown: dict[Finding, str] = {}
    previous = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        arrow = _ARROW.match(line)
        inline = None if arrow else _INLINE.match(line)
        if arrow and previous:
            path, message = arrow["path"], previous.strip()
            seen = f"{message} {line.strip()}"
        elif inline:
            path, message, seen = inline["path"], inline["msg"].strip(), line.strip()
        else:
            if line.strip() and not line.startswith((" ", "|")):
                previous = line
            continue
        path = path.removeprefix("./")
        if path in wanted:
            key = (path, message)
            found[key] += 1
            shown.setdefault(key, seen)
    return found, shown


class Baseline:
    """Scratch copies of before trees (the newest two kept), so a step's findings can be
    compared with the same command's findings before it."""

    def __init__(self, git: Git):
        self.git = git
        self._copies: dict[str, Path] = {}

    def copy_of(self, tree: str) -> Path:
        if tree not in self._copies:
            folder = Path(tempfile.mkdtemp(prefix="tether-before-"))
            atexit.register(shutil.rmtree, folder, True)
            write_tree_to(self.git, tree, folder)
            self._copies[tree] = folder
            while len(self._copies) > 2:
                oldest = next(iter(self._copies))
                shutil.rmtree(self._copies.pop(oldest), ignore_errors=True)
        return self._copies[tree]

    async def judge(self, spec: GateSpec, ctx: GateContext, result: GateResult) -> GateResult:
        """``result`` (a failed step gate) judged on what the step added."""
        if not ctx.before or not result.log_path:
            return result
        after_found, shown = findings(_read(result.log_path), ctx.changed)
        if not after_found:
            return result
        copy = self.copy_of(ctx.before)
        base_ctx = replace(ctx, root=copy, evidence_dir=ctx.evidence_dir / "before")
        before = await run_command_gate(spec, base_ctx, writable=(copy,))
        if before.status == "skip":  # none of the files was there before the step
            return result
        before_found, _ = findings(_read(before.log_path), ctx.changed)
        new = after_found - before_found
        old = sum((after_found & before_found).values())
        if not new:
            return replace(
                result,
                status="preexisting",
                summary=f"{old} finding(s), all there before this step",
                details="",
            )
        lines = [shown[key] for key in new]
        return replace(
            result,
            summary=f"{sum(new.values())} new finding(s) in this step"
            + (f" ({old} there before it are not counted)" if old else ""),
            details="\n".join(lines)[:3000],
        )


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
