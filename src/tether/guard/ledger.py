"""PLAN.md and PROGRESS.md are tether's own: after every step they are compared with
tether's copy, and whatever a step did to them (a command writing one, creating one
before its first entry) is reverted and reported. What changes them between steps is
the user's hand edit: the copy takes it (tether never loses a hand edit)."""

from __future__ import annotations

from pathlib import Path

from tether.fsutil import UnsafePath, read_regular, safe_unlink, safe_write
from tether.guard.contract import Violation


class LedgerCopy:
    def __init__(self, root: Path, files: tuple[str, ...]):
        self.root = root
        self.files = files
        self._copy: dict[str, bytes | None] = {}

    def take(self) -> None:
        """Remember the files as they are now (at the start, and for the user's edits)."""
        self._copy = {rel: self._read(rel) for rel in self.files}

    def check(self) -> list[Violation]:
        """Revert any change since ``take()``; one violation per file changed."""
        found = []
        for rel, kept in self._copy.items():
            if self._read(rel) == kept:
                continue
            try:
                if kept is None:
                    safe_unlink(self.root, rel)
                else:
                    safe_write(self.root, rel, kept)
            except (UnsafePath, OSError):
                pass
            found.append(
                Violation(
                    "diff", "state_file", f"{rel} is kept by tether itself; the change was reverted"
                )
            )
        return found

    def _read(self, rel: str) -> bytes | None:
        try:
            return read_regular(self.root / rel)
        except (FileNotFoundError, UnsafePath, OSError):
            return None
