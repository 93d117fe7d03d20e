"""One ``git diff-tree --stdin`` per work tree, asked for each pair of trees the loop
compares: 0.15 ms a diff against 3.4 ms for a git process per diff (its start is most
of that), paid on every step that edits.

git reads ``<tree> <tree>`` lines and answers each with a header line (the two ids),
then the same records ``diff.DIFF_TREE`` prints; a line that is no object id is echoed
and flushed, so each question ends with a random marker line and the answer is what
comes before it. An answer without its header, a git that ended (it exits on a tree it
cannot read) or anything unexpected returns None, and the caller asks a one-shot git,
which says what is wrong; the next question starts a new git, up to ``RESTARTS``."""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import subprocess
import threading
import time
import weakref

from tether.vcs.diff import DIFF_TREE
from tether.vcs.git import Git

ANSWER_S = 30.0  # a huge diff is slow; past this the one-shot path takes over
RESTARTS = 3  # then it stays out of the way


class DiffReader:
    def __init__(self, git: Git):
        self.git = git
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # the checkpoint thread may ask too
        self.failures = 0

    def raw(self, base: str, tree: str) -> bytes | None:
        if self.failures >= RESTARTS:
            return None
        with self._lock:
            try:
                return self._ask(base, tree)
            except (OSError, TimeoutError, ValueError):
                self.failures += 1
                self.close()
                return None

    def _ask(self, base: str, tree: str) -> bytes | None:
        process = self._process or self._start()
        assert process.stdin is not None and process.stdout is not None
        header = f"{base} {tree}\n".encode()
        marker = f"tether-{secrets.token_hex(12)}\n".encode()
        process.stdin.write(header + marker)
        process.stdin.flush()
        answer = _read_until(process.stdout.fileno(), marker)
        if not answer.startswith(header):
            return None
        return answer[len(header) : -len(marker)]

    def _start(self) -> subprocess.Popen[bytes]:
        process = self.git.without_tree_process(*DIFF_TREE, "--stdin")
        self._process = process
        weakref.finalize(self, _end, process)
        return process

    def close(self) -> None:
        if self._process is not None:
            _end(self._process)
            self._process = None


def _read_until(fd: int, marker: bytes) -> bytes:
    deadline = time.monotonic() + ANSWER_S
    chunks: list[bytes] = []
    tail = b""
    while not tail.endswith(marker):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError("git diff-tree did not answer")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise ValueError("git diff-tree ended")
        chunks.append(chunk)
        tail = (tail + chunk)[-len(marker) :]
    return b"".join(chunks)


def _end(process: subprocess.Popen[bytes]) -> None:
    """Its stdin closed, git ends; reaped so no zombie is left."""
    if process.stdin is not None and not process.stdin.closed:
        with contextlib.suppress(OSError):  # it ended already: what was unsent is moot
            process.stdin.close()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
