"""``tether verify``: run the gates now, with no model and no task, on the work tree's
changes since a commit; the readiness report is the CLI's."""

from __future__ import annotations

from pathlib import Path

from tether.config import TetherConfig
from tether.errors import UsageError
from tether.gates.context import Reviewer
from tether.gates.results import GateResult
from tether.gates.suite import GateSuite
from tether.gates.tiers import changed_lines
from tether.telemetry import EventLog
from tether.vcs.git import Git
from tether.workflow.sandboxes import sandbox_for


async def verify_now(
    root: Path,
    config: TetherConfig,
    log: EventLog,
    evidence_dir: Path,
    tiers: list[str],
    since: str = "HEAD",
    reviewer: Reviewer | None = None,
) -> list[GateResult]:
    """Run the chosen tiers on the work tree's changes since ``since``."""
    suite = GateSuite.load(root, config)
    specs = suite.for_task(())  # each check once per tier
    if not suite.present:
        raise UsageError(
            "there is no VERIFY.md here", hint="`tether init` writes one for this repository"
        )
    git = Git(root)
    if git.rev(since) is None:
        raise UsageError(f"{since!r} is not a commit in this repository")
    changed = sorted(
        set(git.run("diff", "--name-only", since).split("\n"))
        | set(git.run("ls-files", "--others", "--exclude-standard").split("\n")) - {""}
    )
    diff = git.run("diff", "--no-color", since)
    ranges = changed_lines(git.run("diff", "-U0", "--no-color", since))
    if reviewer is None:
        specs = [s for s in specs if s.kind != "review"]
    runner = suite.runner(root, specs, log, evidence_dir, sandbox_for(root, config), reviewer)
    results: list[GateResult] = []
    for tier in tiers:
        results += await runner.run(
            tier,
            changed,
            diff=diff,
            line_ranges=ranges,
            contract="(no task: review the change on its own merits)",
        )
    return results
