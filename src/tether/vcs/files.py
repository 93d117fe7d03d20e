"""The files of a work tree as git sees them (tracked, plus untracked not ignored)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tether.layout import STATE_DIR


def repo_files(root: Path) -> list[str]:
    """Tracked files and untracked files that are not ignored, that exist."""
    out = subprocess.run(
        [
            "git",
            "-c",
            "core.quotepath=off",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "surrogateescape")
    seen: dict[str, None] = {}
    for path in out.split("\0"):
        if path and not path.startswith(STATE_DIR + "/") and (root / path).is_file():
            seen[path] = None
    return sorted(seen)
