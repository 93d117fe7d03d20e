"""Paths in what a developer says, resolved against the repository's files.

``cli.py`` is ``src/tether/cli.py`` when that is the only one; ``src/app`` is the folder
``src/app/**``; a glob stays a glob; a path that names nothing yet stays as written (a
task may create it). "its tests" are the test files of the paths said before."""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from tether.rules.globs import is_glob, matches_any


@dataclass(frozen=True)
class RepoFiles:
    """The repository's files (relative, ``/``-separated) that paths resolve against."""

    files: tuple[str, ...] = ()

    @functools.cached_property
    def folders(self) -> frozenset[str]:
        out: set[str] = set()
        for path in self.files:
            parts = path.split("/")[:-1]
            out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return frozenset(out)

    def resolve(self, said: str) -> str:
        """The glob that ``said`` stands for."""
        text = said.strip().strip(",")
        text = text[2:] if text.startswith("./") else text
        text = text.rstrip("/") if len(text) > 1 else text
        if not text or is_glob(text) or text in self.files:
            return text
        if text in self.folders:
            return text + "/**"
        if "/" not in text:
            named = [f for f in self.files if posixpath.basename(f) == text]
            if len(named) == 1:
                return named[0]
            if named:
                return "**/" + text
            folders = [d for d in self.folders if posixpath.basename(d) == text]
            if len(folders) == 1:
                return folders[0] + "/**"
        return text

    def named(self, name: str, what: str) -> str | None:
        """ "the cli module" → ``src/tether/cli.py``; "the app package" → ``src/app/**``:
        the one file or folder so named, or None."""
        if what in ("module", "file"):
            found = [
                f for f in self.files
                if posixpath.splitext(posixpath.basename(f))[0] == name and not is_test_path(f)
            ]  # fmt: skip
            if len(found) == 1:
                return found[0]
            if what == "module":
                found = [d for d in self.folders if posixpath.basename(d) == name]
                return found[0] + "/**" if len(found) == 1 else None
            return None
        folders = [d for d in self.folders if posixpath.basename(d) == name]
        return folders[0] + "/**" if len(folders) == 1 else None

    def matching(self, globs: Sequence[str]) -> list[str]:
        return [f for f in self.files if matches_any(list(globs), f)]

    def tests_of(self, globs: Sequence[str]) -> list[str]:
        """Test files named after the files ``globs`` match (``test_cli.py``,
        ``cli_test.py``, ``test_cli_*.py``, ``cli.test.ts``)."""
        sources = [f for f in self.matching(globs) if not is_test_path(f)]
        if not sources and not any(is_glob(g) for g in globs):
            sources = list(globs)
        stems = {posixpath.splitext(posixpath.basename(s))[0] for s in sources}
        found = [f for f in self.files if is_test_path(f) and _tests_stem(f, stems)]
        if found:
            return found
        return [f"**/test_{stem}.py" for stem in sorted(stems)]

    def shown(self, globs: Sequence[str]) -> str:
        """What the globs match, for the echo: ``(3 files)``, ``(matches nothing yet)``."""
        if not any(is_glob(g) for g in globs):
            missing = [g for g in globs if g not in self.files]
            return "(new: " + ", ".join(missing) + ")" if missing and self.files else ""
        count = len(self.matching(globs))
        if count == 0:
            return "(matches nothing yet)"
        return f"({count} file{'s' if count != 1 else ''})"


TEST_FOLDERS = ("tests", "test", "__tests__", "spec", "specs", "testing")


def is_test_path(path: str) -> bool:
    """A test file in any of the common layouts (Python, JS/TS, Go, Rust, Ruby)."""
    parts = path.split("/")
    name = parts[-1]
    stem = name.split(".")[0]
    if any(part in TEST_FOLDERS for part in parts[:-1]):
        return True
    if name == "conftest.py" or stem.startswith("test_") or stem.endswith("_test"):
        return True
    return ".test." in name or ".spec." in name or name.endswith("_spec.rb")


def _tests_stem(path: str, stems: set[str]) -> bool:
    name = posixpath.basename(path)
    stem = name.split(".")[0]
    for source in stems:
        if stem in (f"test_{source}", f"{source}_test", f"{source}_spec") or stem.startswith(
            f"test_{source}_"
        ):
            return True
        if name.startswith(f"{source}.test.") or name.startswith(f"{source}.spec."):
            return True
    return False
