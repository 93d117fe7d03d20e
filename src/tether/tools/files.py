"""What the file tools do, once the guard has let a call through. Paths here are
already checked and relative to the repository root."""

from __future__ import annotations

import re
from pathlib import Path

from tether.fsutil import atomic_write
from tether.guard.globs import matches
from tether.tools.edit import EditError, apply_edit
from tether.vcs.files import repo_files

PAGE_LINES = 300
PAGE_CHARS = 20_000
MAX_LISTED = 400
MAX_MATCHES = 60
MAX_SEARCH_BYTES = 1_000_000


class ToolFailure(Exception):
    """A tool could not do what was asked; the message goes back to the model."""


def read_text(root: Path, rel: str) -> str:
    path = root / rel
    if not path.exists():
        raise ToolFailure(f"{rel} does not exist (list_files shows what does)")
    if path.is_dir():
        raise ToolFailure(f"{rel} is a directory; use list_files with glob '{rel}/**'")
    data = path.read_bytes()
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
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ToolFailure(f"bad regular expression {pattern!r}: {exc}") from None
    hits: list[str] = []
    total = 0
    for rel in repo_files(root):
        if glob is not None and not matches(glob, rel):
            continue
        path = root / rel
        if path.stat().st_size > MAX_SEARCH_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if regex.search(line):
                total += 1
                if len(hits) < MAX_MATCHES:
                    hits.append(f"{rel}:{number}: {line.strip()[:200]}")
    if not hits:
        return f"no matches for {pattern!r}"
    more = total - len(hits)
    return "\n".join(hits) + (
        f"\n[{more} more matches not shown; narrow the pattern or the glob]" if more else ""
    )


def edit_file(root: Path, rel: str, search_text: str, replace: str) -> str:
    text = read_text(root, rel)
    result = apply_edit(text, search_text, replace, rel)
    if isinstance(result, EditError):
        raise ToolFailure(result.message)
    atomic_write(root / rel, result.encode("utf-8"))
    added = replace.count("\n") + 1 if replace else 0
    return f"edited {rel} (replaced {search_text.count(chr(10)) + 1} line(s) with {added})"


def create_file(root: Path, rel: str, content: str) -> str:
    path = root / rel
    if path.exists() or path.is_symlink():
        raise ToolFailure(f"{rel} already exists; change it with edit_file")
    atomic_write(path, content.encode("utf-8"))
    return (
        f"created {rel} ({content.count(chr(10)) + (0 if content.endswith(chr(10)) else 1)} lines)"
    )


def delete_file(root: Path, rel: str) -> str:
    path = root / rel
    if not path.is_file() and not path.is_symlink():
        raise ToolFailure(f"{rel} is not a file")
    path.unlink()
    return f"deleted {rel}"
