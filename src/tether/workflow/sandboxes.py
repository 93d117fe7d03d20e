"""The one way tether builds a sandbox, for a task or for gates run on their own."""

from __future__ import annotations

from pathlib import Path

from tether.config import TetherConfig
from tether.guard.contract import Contract
from tether.guard.globs import matches_any
from tether.sandbox import Sandbox, make_sandbox
from tether.vcs.files import repo_files


def sandbox_for(root: Path, config: TetherConfig, contract: Contract | None = None) -> Sandbox:
    """The one way a sandbox is built: for a task, its protected paths, the ledger and
    the rule files it may not change are read-only, and its network setting holds."""
    if contract is None:
        return make_sandbox(config.guard.sandbox)
    protected = [p for p in repo_files(root) if matches_any(contract.protect, p)]
    protected += list(contract.ledger_files)
    protected += [p for p in contract.rule_files if not contract.rule_file_in_scope(p)]
    return make_sandbox(
        config.guard.sandbox, read_only=protected, allow_network=contract.allow_network
    )
