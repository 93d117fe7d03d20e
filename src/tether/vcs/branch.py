"""The one place tether moves a user branch: a successful task becomes one commit.

The commit holds HEAD's tree plus exactly the task's changed paths; the user's other
uncommitted work stays uncommitted (and unstaged paths stay unstaged). The user's index
is updated only for the task's paths, so ``git status`` stays truthful.
"""

from __future__ import annotations

from tether.vcs.git import TETHER_IDENTITY, Git


def _paths_input(paths: list[str]) -> bytes:
    return b"\0".join(p.encode("utf-8", "surrogateescape") for p in paths) + b"\0"


def commit_paths(git: Git, paths: list[str], message: str) -> str | None:
    """Commit ``paths`` as they are in the work tree on top of HEAD; None if no change."""
    head, head_tree = _head(git)
    paths = [
        p
        for p in paths
        if (git.root / p).is_symlink()
        or (git.root / p).exists()
        or (head and _in_tree(git, head, p))
    ]
    if not paths:
        return None
    index = git.git_path("tether-commit-index")
    env = {"GIT_INDEX_FILE": str(index), "GIT_LITERAL_PATHSPECS": "1"}
    git.run("read-tree", *([head] if head else ["--empty"]), env=env)
    git.run(
        "add",
        "-A",
        "--pathspec-from-file=-",
        "--pathspec-file-nul",
        env=env,
        input=_paths_input(paths),
    )
    tree = git.run("write-tree", env=env).strip()
    index.unlink(missing_ok=True)
    if head and tree == head_tree:
        return None
    identity = {} if git.has_identity() else TETHER_IDENTITY
    args = ["commit-tree", tree, "-m", message] + (["-p", head] if head else [])
    sha = git.run(*args, env=identity).strip()
    git.run("update-ref", "-m", message.splitlines()[0], "HEAD", sha, head or "0" * 40)
    _sync_index(git, paths)
    return sha


def uncommit(git: Git, commit: str, paths: list[str]) -> bool:
    """Move the branch back over ``commit`` if it is still HEAD; True if it did."""
    if git.head() != commit:
        return False
    parent = git.rev(f"{commit}^")
    if parent is None:
        return False
    git.run("update-ref", "-m", "tether undo", "HEAD", parent, commit)
    _sync_index(git, paths)
    return True


def _head(git: Git) -> tuple[str | None, str | None]:
    """HEAD's commit and tree in one call; (None, None) before the first commit."""
    done = git.run_bytes("rev-parse", "HEAD^{commit}", "HEAD^{tree}", check=False).decode()
    lines = done.split()
    if len(lines) != 2 or any(len(x) < 40 or not all(c in "0123456789abcdef" for c in x)
                              for x in lines):  # fmt: skip
        return None, None
    return lines[0], lines[1]


def _in_tree(git: Git, commit: str, path: str) -> bool:
    out = git.run(
        "ls-tree",
        "--name-only",
        commit,
        "--",
        path,
        env={"GIT_LITERAL_PATHSPECS": "1"},
        check=False,
    )
    return bool(out.strip())


def _sync_index(git: Git, paths: list[str]) -> None:
    """Set the user's index entries of ``paths`` to HEAD's version."""
    git.run(
        "reset",
        "-q",
        "--pathspec-from-file=-",
        "--pathspec-file-nul",
        env={"GIT_LITERAL_PATHSPECS": "1"},
        input=_paths_input(paths),
        check=False,
    )
