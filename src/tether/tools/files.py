"""What the file tools do, once the guard has let a call through. Paths here are
already checked and relative to the repository root."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tether.fsutil import UnsafePath, read_regular, safe_unlink, safe_write
from tether.rules.globs import matches
from tether.tools.edit import EditError, apply_edit
from tether.vcs.files import repo_files

if TYPE_CHECKING:
    import regex

PAGE_LINES = 300
PAGE_CHARS = 20_000
MAX_LISTED = 400
MAX_MATCHES = 60
MAX_SEARCH_BYTES = 1_000_000
MAX_READ_BYTES = 20_000_000
SEARCH_SECONDS = 5.0


class ToolFailure(Exception):
    """A tool could not do what was asked; the message goes back to the model."""


def read_text(root: Path, rel: str) -> str:
    """A text file of the repository (the policy has checked where it leads); never
    blocks on a FIFO, never reads a device."""
    path = root / rel
    try:
        if path.is_dir():
            raise ToolFailure(f"{rel} is a directory; use list_files with glob '{rel}/**'")
        data = read_regular(path, MAX_READ_BYTES)
    except FileNotFoundError:
        raise ToolFailure(f"{rel} does not exist (list_files shows what does)") from None
    except UnsafePath:
        raise ToolFailure(f"{rel} is not a regular file") from None
    except OSError as exc:
        raise ToolFailure(f"{rel} cannot be read: {exc.strerror or exc}") from None
    if b"\0" in data[:8192]:
        raise ToolFailure(f"{rel} is a binary file")
    return data.decode("utf-8", "replace")


def read_file(root: Path, rel: str, start: int | None, end: int | None) -> str:
    """Numbered lines; a long file is paged, and the page says how to get the rest."""
    lines = read_text(root, rel).splitlines()
    total = len(lines)
    if total == 0:
        return f"{rel} is empty"
    first = max(1, start or 1)
    if first > total:
        raise ToolFailure(f"{rel} has {total} lines; start_line {first} is past the end")
    last = min(total, end or total, first + PAGE_LINES - 1)
    out: list[str] = []
    size = 0
    for number in range(first, last + 1):
        line = f"{number:>5}| {lines[number - 1]}"
        if size + len(line) > PAGE_CHARS and out:
            last = number - 1
            break
        out.append(line)
        size += len(line) + 1
    body = "\n".join(out)
    if last < total and (end is None or last < end):
        body += (
            f"\n[lines {first}-{last} of {total}; call read_file with "
            f"start_line={last + 1} for more]"
        )
    return body


def list_files(root: Path, glob: str | None) -> str:
    files = [f for f in repo_files(root) if glob is None or matches(glob, f)]
    if not files:
        return "no files match" + (f" {glob!r}" if glob else "")
    shown = files[:MAX_LISTED]
    more = len(files) - len(shown)
    return "\n".join(shown) + (f"\n[{more} more files; narrow with a glob]" if more else "")


def search(root: Path, pattern: str, glob: str | None) -> str:
    """Lines matching ``pattern`` in the repository's regular files (symlinks are not
    followed, FIFOs and devices not read); the whole search has a time limit, so a
    catastrophic pattern ends with an error instead of hanging."""
    import regex  # 10 ms to import; most tasks never search

    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise ToolFailure(f"bad regular expression {pattern!r}: {exc}") from None
    deadline = time.monotonic() + SEARCH_SECONDS
    hits: list[str] = []
    total = 0
    for rel in repo_files(root):
        if glob is not None and not matches(glob, rel):
            continue
        for number, line in _lines(root, rel):
            if not _matches(compiled, line, deadline, pattern):
                continue
            total += 1
            if len(hits) < MAX_MATCHES:
                hits.append(f"{rel}:{number}: {line.strip()[:200]}")
    if not hits:
        return f"no matches for {pattern!r}"
    more = total - len(hits)
    return "\n".join(hits) + (
        f"\n[{more} more matches not shown; narrow the pattern or the glob]" if more else ""
    )


def _matches(compiled: regex.Pattern[str], line: str, deadline: float, pattern: str) -> bool:
    left = deadline - time.monotonic()
    try:
        if left > 0:
            return compiled.search(line, timeout=left) is not None
    except TimeoutError:
        pass
    raise ToolFailure(
        f"the search for {pattern!r} took over {SEARCH_SECONDS:.0f} s and was stopped; "
        "use a simpler pattern or a narrower glob"
    )


def _lines(root: Path, rel: str) -> list[tuple[int, str]]:
    """The numbered lines of a regular text file (none for links, binaries, FIFOs)."""
    path = root / rel
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SEARCH_BYTES:
            return []
        data = read_regular(path, MAX_SEARCH_BYTES)
    except OSError:
        return []
    if b"\0" in data[:8192]:
        return []
    return list(enumerate(data.decode("utf-8", "replace").splitlines(), 1))


def edit_file(root: Path, rel: str, search_text: str, replace: str) -> str:
    text = read_text(root, rel)
    result = apply_edit(text, search_text, replace, rel)
    if isinstance(result, EditError):
        raise ToolFailure(result.message)
    if read_text(root, rel) != text:  # someone (the user, in an editor) saved it meanwhile
        raise ToolFailure(
            f"{rel} changed while you edited it; that change is the user's and is kept. "
            "Read the file again, then make your edit"
        )
    _write(root, rel, result.encode("utf-8"))
    added = replace.count("\n") + 1 if replace else 0
    return f"edited {rel} (replaced {search_text.count(chr(10)) + 1} line(s) with {added})"


def create_file(root: Path, rel: str, content: str) -> str:
    path = root / rel
    try:
        exists = path.exists() or path.is_symlink()
    except OSError as exc:
        raise ToolFailure(f"{rel} cannot be created: {exc.strerror or exc}") from None
    if exists:
        raise ToolFailure(f"{rel} already exists; change it with edit_file")
    _write(root, rel, content.encode("utf-8"))
    return (
        f"created {rel} ({content.count(chr(10)) + (0 if content.endswith(chr(10)) else 1)} lines)"
    )


def delete_file(root: Path, rel: str) -> str:
    path = root / rel
    if not path.is_file() and not path.is_symlink():
        raise ToolFailure(f"{rel} is not a file")
    try:
        safe_unlink(root, rel)
    except UnsafePath as exc:
        raise ToolFailure(f"{rel} cannot be deleted: {exc}") from None
    return f"deleted {rel}"


def _write(root: Path, rel: str, data: bytes) -> None:
    """Write a file the policy allowed, never through a symlink or into a file."""
    try:
        safe_write(root, rel, data)
    except UnsafePath as exc:
        raise ToolFailure(f"{rel} cannot be written: {exc}") from None
    except IsADirectoryError:
        raise ToolFailure(f"{rel} is a directory") from None
    except OSError as exc:
        raise ToolFailure(f"{rel} cannot be written: {exc.strerror or exc}") from None
