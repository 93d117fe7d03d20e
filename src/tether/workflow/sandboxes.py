"""The one way tether builds a sandbox, for a task or for gates run on their own.

Besides the contract's read-only paths it finds what commands need to work: the
folders an editable install of the project points at (shown read-only when the sandbox
hides them), and, in a variant's worktree, the worktree's own source folders first on
``PYTHONPATH`` (an editable install points at the main checkout; the variant's gates
must import the variant's code). Sockets in the tree are made unreachable."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

from tether.config import TetherConfig
from tether.guard.contract import Contract
from tether.rules.globs import is_glob, matches_any
from tether.sandbox import BwrapSandbox, Isolation, PlainSandbox, Sandbox, bwrap_for
from tether.vcs.files import repo_files

HIDDEN_ROOTS = (Path("/home"), Path("/root"), Path("/tmp"))
_ABSOLUTE = re.compile(r"""['"](/[^'"\n]+)['"]""")


def sandbox_for(root: Path, config: TetherConfig, contract: Contract | None = None) -> Sandbox:
    """A sandbox for commands in ``root``: for a task, its protected paths, the ledger
    and the rule files it may not change are read-only, and its network setting holds.

    Only bubblewrap uses the read-only paths, the hidden sockets and the shown folders;
    finding them lists the tree (``git ls-files``, ``find``: ~20 ms), which runs in a
    thread the first command waits for, so a task's first request does not."""
    isolation = Isolation(
        allow_network=contract.allow_network if contract is not None else False,
        pass_env=tuple(config.guard.pass_env),
        extra_env=worktree_env(root),
    )
    bwrap = bwrap_for(config.guard.sandbox)
    if bwrap is None:
        return PlainSandbox(isolation)
    found: Future[Isolation] = Future()

    def work() -> None:
        try:
            found.set_result(_for_bwrap(root, isolation, contract))
        except BaseException as exc:  # the first command raises it
            found.set_exception(exc)

    threading.Thread(target=work, name="tether-sandbox", daemon=True).start()
    return BwrapSandbox(found, bwrap=bwrap)


def _for_bwrap(root: Path, isolation: Isolation, contract: Contract | None) -> Isolation:
    read_only: list[str] = []
    if contract is not None:
        protected = list(contract.protected)
        read_only = [p for p in repo_files(root) if matches_any(protected, p)]
        # a protected file git ignores (a .env) is no repo file, but it is protected
        read_only += [p for p in protected if not is_glob(p) and (root / p).exists()]
        read_only += list(contract.ledger_files)
        read_only += [p for p in contract.rule_files if not contract.rule_file_in_scope(p)]
    return replace(
        isolation,
        read_only=tuple(read_only),
        hide=tuple(sockets_in(root)),
        visible=tuple(str(p) for p in editable_folders()),
    )


def worktree_env(root: Path) -> tuple[tuple[str, str], ...]:
    """In a linked worktree (a variant's), its ``src`` and its root come first on
    PYTHONPATH, so the project's editable install resolves to the worktree's code."""
    if not (root / ".git").is_file():
        return ()
    paths = [str(p) for p in (root / "src", root) if p.is_dir()]
    current = os.environ.get("PYTHONPATH", "")
    return (("PYTHONPATH", os.pathsep.join([*paths, *([current] if current else [])])),)


def sockets_in(root: Path) -> list[str]:
    """Unix sockets in the work tree (a server's, an agent's), outside ``.git``."""
    try:
        done = subprocess.run(
            ["find", ".", "-path", "./.git", "-prune", "-o", "-type", "s", "-print0"],
            cwd=root,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [os.fsdecode(p)[2:] for p in done.stdout.split(b"\0") if p.startswith(b"./")]


def editable_folders() -> list[Path]:
    """Folders under /home, /root or /tmp that the site-packages of the Pythons on PATH
    point at (``.pth`` lines, editable finders): a sandbox that hides those roots shows
    these read-only, so an editable-installed project still imports."""
    found: set[Path] = set()
    for site in _site_packages():
        for pth in site.glob("*.pth"):
            found |= _folders_named_in(pth, lines_only=True)
        for finder in site.glob("__editable__*finder.py"):
            found |= _folders_named_in(finder, lines_only=False)
    return sorted(p for p in found if any(top in p.parents for top in HIDDEN_ROOTS))


def _site_packages() -> list[Path]:
    sites = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        env = Path(entry).parent
        if entry and (env / "pyvenv.cfg").is_file():
            sites += sorted(env.glob("lib/python*/site-packages"))
    return sites


def _folders_named_in(path: Path, lines_only: bool) -> set[Path]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return set()
    if lines_only:
        candidates = [line.strip() for line in text.splitlines() if line.startswith("/")]
    else:
        candidates = _ABSOLUTE.findall(text)
    return {Path(c) for c in candidates if Path(c).is_dir()}
