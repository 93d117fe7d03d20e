"""Commits carried between machines as git bundles: the run's base (HEAD plus the
user's uncommitted work) goes out once, each variant's result comes back holding only
its new objects (the base is the bundle's prerequisite, which the driver has)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tether.variants.worktrees import RESULTS_REFS
from tether.vcs.git import TETHER_IDENTITY, Git

BASE_REF = "refs/tether/base"
RESULT_REF = "refs/tether/result"


def results_ref(run_id: str, k: int) -> str:
    """Where the driver keeps a fetched result (beside ``refs/tether/runs/<run-id>``)."""
    return f"{RESULTS_REFS}/{run_id}/{k}"


def base_bundle(git: Git, ref: str) -> bytes:
    """``ref`` and all it reaches, as one bundle."""
    with tempfile.TemporaryDirectory(prefix="tether-bundle-") as folder:
        path = Path(folder) / "base.bundle"
        git.run("bundle", "create", "-q", str(path), ref)
        return path.read_bytes()


def clone_at(bundle: bytes, target: Path, commit: str) -> Git:
    """A repository at ``target`` with the bundle's base checked out, detached."""
    target.mkdir(parents=True)
    source = target.parent / "base.bundle"
    source.write_bytes(bundle)
    git = Git(target)
    git.run("init", "-q")
    git.run("fetch", "-q", "--no-tags", str(source), f"+refs/tether/runs/*:{BASE_REF}/*")
    git.run("checkout", "-q", "--detach", commit)
    source.unlink()
    return git


@contextmanager
def scratch_clone(bundle: bytes, commit: str, prefix: str) -> Iterator[Git]:
    """A clone at ``commit`` in a new scratch folder (beside it, room for more), removed
    when the block ends, however it ends."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield clone_at(bundle, scratch / "repo", commit)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or none when it was never written."""
    return path.read_bytes() if path.is_file() else b""


def result_bundle(git: Git, tree: str, base: str, message: str) -> tuple[str, bytes]:
    """The commit of ``tree`` on top of ``base`` and a bundle of it without the base."""
    commit = git.run("commit-tree", tree, "-p", base, "-m", message, env=TETHER_IDENTITY).strip()
    git.run("update-ref", RESULT_REF, commit)
    with tempfile.TemporaryDirectory(prefix="tether-bundle-") as folder:
        path = Path(folder) / "result.bundle"
        git.run("bundle", "create", "-q", str(path), RESULT_REF, f"^{base}")
        return commit, path.read_bytes()


def fetch_result(git: Git, bundle: bytes, ref: str) -> str:
    """Fetch a result bundle into the user's repository under ``ref``; its commit."""
    with tempfile.TemporaryDirectory(prefix="tether-bundle-") as folder:
        path = Path(folder) / "result.bundle"
        path.write_bytes(bundle)
        git.run("fetch", "-q", "--no-tags", str(path), f"+{RESULT_REF}:{ref}")
    return git.run("rev-parse", "--verify", f"{ref}^{{commit}}").strip()
