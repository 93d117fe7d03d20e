"""A thin, typed way to run git in one work tree."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tether.errors import TetherError

TETHER_IDENTITY = {
    "GIT_AUTHOR_NAME": "tether",
    "GIT_AUTHOR_EMAIL": "tether@localhost",
    "GIT_COMMITTER_NAME": "tether",
    "GIT_COMMITTER_EMAIL": "tether@localhost",
}


_GIT_DIRS: dict[Path, str] = {}
_GIT_PATHS: dict[tuple[Path, str], Path] = {}  # a repository's git paths do not move
_IDENTITY: dict[Path, bool] = {}


@functools.cache
def _empty_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="tether-empty-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _argv(args: tuple[str, ...]) -> list[str]:
    return ["git", "-c", "core.quotepath=off", *args]


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    """tether's git never prompts and speaks one language (its messages are parsed)."""
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(extra or {})}


class GitError(TetherError):
    """A git command failed."""


@dataclass(frozen=True)
class Git:
    """Runs git with ``root`` as the work tree."""

    root: Path

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        check: bool = True,
    ) -> str:
        return self.run_bytes(*args, env=env, input=input, check=check).decode(
            "utf-8", "surrogateescape"
        )

    def run_bytes(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        check: bool = True,
        cwd: Path | None = None,
    ) -> bytes:
        done = subprocess.run(
            _argv(args),
            cwd=cwd or self.root,
            env=_env(env),
            input=input,
            capture_output=True,
            check=False,
        )
        if check and done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(
                f"git {' '.join(args[:3])} failed: {message[-1] if message else done.returncode}",
                where=str(self.root),
            )
        return done.stdout

    def rev(self, name: str) -> str | None:
        """The object id ``name`` resolves to, or None."""
        out = self.run("rev-parse", "--verify", "--quiet", name + "^{commit}", check=False)
        return out.strip() or None

    def without_tree_bytes(self, *args: str) -> bytes:
        """Run git on this repository's objects from an empty folder, so that nothing
        in the work tree (its .gitattributes above all) changes what git reports."""
        empty = _empty_dir()
        return self.run_bytes(
            *self._without_tree(empty),
            *args,
            env={"GIT_INDEX_FILE": str(empty / "index")},
            cwd=empty,
        )

    def without_tree_process(self, *args: str) -> subprocess.Popen[bytes]:
        """``without_tree_bytes``'s git as a process to talk to (``--stdin`` commands):
        stdin and stdout are pipes, stderr is dropped (a failure is asked again, one-shot,
        for its message)."""
        empty = _empty_dir()
        return subprocess.Popen(
            _argv((*self._without_tree(empty), *args)),
            cwd=empty,
            env=_env({"GIT_INDEX_FILE": str(empty / "index")}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def _without_tree(self, empty: Path) -> tuple[str, ...]:
        return (
            f"--git-dir={self.git_dir}",
            f"--work-tree={empty}",
            "-c",
            "core.attributesFile=/dev/null",
        )

    def read_objects(self, specs: list[str]) -> list[bytes | None]:
        """The contents of ``specs`` (``<tree>:<path>`` or a blob id) in one
        ``cat-file --batch`` call; None for what is missing or not a blob."""
        usable = [s for s in specs if "\n" not in s]
        if not usable:
            return [None] * len(specs)
        raw = self.run_bytes("cat-file", "--batch", input="\n".join(usable).encode() + b"\n")
        found: dict[str, bytes | None] = {}
        at = 0
        for spec in usable:
            end = raw.index(b"\n", at)
            header = raw[at:end].split()
            at = end + 1
            if len(header) != 3:  # "<spec> missing" or "ambiguous"
                found[spec] = None
                continue
            size = int(header[2])
            found[spec] = raw[at : at + size] if header[1] == b"blob" else None
            at += size + 1
        return [found.get(s) for s in specs]

    def git_path(self, name: str) -> Path:
        """A path inside this work tree's git dir (works for linked worktrees too)."""
        return self.git_paths(name)[0]

    def git_paths(self, *names: str) -> list[Path]:
        """``git_path`` of each name, asked in one call and then remembered."""
        for name in names:  # tether's own files sit in this work tree's git dir
            if name.startswith("tether-") and (self.root, name) not in _GIT_PATHS:
                _GIT_PATHS[(self.root, name)] = Path(self.git_dir) / name
        missing = [n for n in names if (self.root, n) not in _GIT_PATHS]
        if missing:
            args = [arg for name in missing for arg in ("--git-path", name)]
            lines = self.run("rev-parse", *args).splitlines()
            for name, line in zip(missing, lines, strict=True):
                path = Path(line.strip())
                _GIT_PATHS[(self.root, name)] = path if path.is_absolute() else self.root / path
        return [_GIT_PATHS[(self.root, n)] for n in names]

    @property
    def git_dir(self) -> str:
        """This work tree's absolute git dir (``.git``, or ``.git/worktrees/<name>``)."""
        found = _GIT_DIRS.get(self.root)
        if found is None:
            found = _GIT_DIRS[self.root] = self.run("rev-parse", "--absolute-git-dir").strip()
        return found

    def succeeds(self, *args: str) -> bool:
        """Run git; True when it exits 0 (for commands that answer with their status)."""
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            capture_output=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        return done.returncode == 0

    def is_ancestor(self, commit: str, of: str) -> bool:
        return self.succeeds("merge-base", "--is-ancestor", commit, of)

    def head(self) -> str | None:
        return self.rev("HEAD")

    def branch(self) -> str | None:
        out = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
        return out or None

    def has_identity(self) -> bool:
        """user.name and user.email are both set (one call, remembered per process)."""
        if self.root not in _IDENTITY:
            out = self.run("config", "--get-regexp", r"^user\.(name|email)$", check=False)
            keys = {line.split(" ", 1)[0] for line in out.splitlines() if " " in line}
            _IDENTITY[self.root] = {"user.name", "user.email"} <= keys
        return _IDENTITY[self.root]
