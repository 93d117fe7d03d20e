"""Where the four files live: the repository root, or ``[memory] dir`` in tether.toml.

PLAN.md and PROGRESS.md are the ledger (kept by tether only); VERIFY.md and AGENTS.md
are the rules (changed only by a task whose scope names them)."""

from __future__ import annotations

from pathlib import Path

from tether.config import TetherConfig

LEDGER = ("PLAN.md", "PROGRESS.md")
RULES = ("VERIFY.md", "AGENTS.md")


def memory_file(root: Path, config: TetherConfig, name: str) -> Path:
    return (root / config.memory.dir / name).resolve()


def _relative(root: Path, config: TetherConfig, names: tuple[str, ...]) -> tuple[str, ...]:
    base = root.resolve()
    paths = (memory_file(root, config, name) for name in names)
    return tuple(
        p.relative_to(base).as_posix() if p.is_relative_to(base) else p.name for p in paths
    )


def ledger_files(root: Path, config: TetherConfig) -> tuple[str, ...]:
    """PLAN.md and PROGRESS.md, relative to the repository root."""
    return _relative(root, config, LEDGER)


def rule_files(root: Path, config: TetherConfig) -> tuple[str, ...]:
    """VERIFY.md and AGENTS.md, relative to the repository root."""
    return _relative(root, config, RULES)
