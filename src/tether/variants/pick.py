"""``tether pick RUN K [--hunks 1,3]``: apply a variant (or some of its hunks) to the
user's tree, re-run the task gates there, commit it as one commit, remove the run's
worktrees. The tree before the pick is kept as a checkpoint."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from tether.errors import UsageError
from tether.gates.results import GateResult
from tether.gates.suite import GateSuite
from tether.memory.locations import ledger_files
from tether.variants.store import load_run, save_run
from tether.variants.worktrees import remove_worktrees
from tether.vcs.branch import commit_paths
from tether.vcs.checkpoints import ShadowCheckpoints
from tether.vcs.git import Git
from tether.vcs.hunks import hunk_count, select, split
from tether.workflow.preflight import check_work_tree
from tether.workflow.roles import Roles
from tether.workflow.sandboxes import sandbox_for
from tether.workspace import Workspace, work_tree_lock


@dataclass
class PickResult:
    run: str
    k: int
    committed: str | None
    gates: list[GateResult] = field(default_factory=list)
    removed: int = 0
    paths: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.committed is not None


def parse_hunks(text: str | None) -> set[int] | None:
    if not text:
        return None
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise UsageError(f"bad --hunks {text!r}", hint="give hunk numbers like 1,3") from None


async def pick(
    ws: Workspace,
    run_id: str,
    k: int,
    hunks: set[int] | None = None,
    keep: bool = False,
    allow_detached: bool = False,
) -> PickResult:
    check_work_tree(ws, allow_detached)
    run = load_run(ws.root, run_id)
    variant = run.variant(k)
    if not variant.diff.strip():
        raise UsageError(f"variant {k} of run {run.id} changed nothing")
    total = hunk_count(variant.diff)
    if hunks and not hunks <= set(range(1, total + 1)):
        raise UsageError(f"variant {k} has hunks 1..{total}", hint="see the gallery")
    patch = select(variant.diff, hunks) if hunks else variant.diff
    paths = sorted({f.path for f in split(patch)})
    config = ws.config.config
    with work_tree_lock(ws.root):
        git = Git(ws.root)
        checkpoints = ShadowCheckpoints(git, ledger_files(ws.root, config))
        checkpoints.record(
            "pre-pick",
            checkpoints.snapshot_tree(),
            session=ws.session_id,
            task=f"pick {run.id} variant {k}",
        )
        _apply(ws, patch, run.id)
        results = await _gates(ws, run.contract.get("accept", []), paths, patch, run.title)
        result = PickResult(run=run.id, k=k, committed=None, gates=results, paths=paths)
        if all(r.ok for r in results):
            # an empty commit is impossible here: the patch applied, so the tree changed
            label = f"variant {k}" + (
                f", hunks {','.join(map(str, sorted(hunks)))}" if hunks else ""
            )
            result.committed = commit_paths(
                git, paths, f"tether: {run.title} ({label} of run {run.id})"
            )
            run.picked = k
            save_run(ws.root, run)
            if not keep:
                result.removed = remove_worktrees(git, run.id)
    ws.log.emit("pick", run=run.id, k=k, hunks=sorted(hunks or []), commit=result.committed)
    return result


def _apply(ws: Workspace, patch: str, run_id: str) -> None:
    done = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", "-"],
        cwd=ws.root,
        input=patch.encode(),
        capture_output=True,
    )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        why = lines[-1] if lines else "git apply failed"
        raise UsageError(
            f"the variant does not apply to the work tree: {why}",
            hint=f"the tree changed since run {run_id}; commit or stash your changes, "
            "or pick fewer hunks",
        )


async def _gates(
    ws: Workspace, accept: list[str], paths: list[str], patch: str, title: str
) -> list[GateResult]:
    """The task tier (VERIFY.md's and the run's ``accept:``) on the picked change."""
    config = ws.config.config
    suite = GateSuite.load(ws.root, config)
    specs = [s for s in suite.for_task(tuple(accept)) if s.tier == "task"]
    if not specs:
        return []
    async with Roles(ws) as roles:
        reviewer = roles.reviewer() if suite.needs_review else None
        sandbox = sandbox_for(ws.root, config)
        runner = suite.runner(ws.root, specs, ws.log, ws.evidence_dir, sandbox, reviewer)
        return await runner.run("task", paths, diff=patch, contract=f"Task: {title}")
