"""Guard layer 1, the action policy: checks a tool call before anything runs.

Paths must stay inside the repository (no absolute paths, no ``..`` escapes, no
symlinks resolving outside), never touch ``.git/``, ``.tether/`` or ``tether.toml``,
and writes must be inside the scope and outside the protected paths. Commands are
split into simple commands (``;``, ``&&``, ``|``, ``$(...)``, ``bash -c``) and each is
checked against the deny list. The sandbox and the diff contract catch what a
command does anyway (``python -c "os.remove(...)"``); this layer gives the model a
precise, early "no".
"""

from __future__ import annotations

import os
import posixpath
import shlex
from pathlib import Path

from tether.guard.contract import Contract, Violation
from tether.layout import STATE_DIR
from tether.rules.globs import matches_any
from tether.rules.semantic import FileStep, check, needs_bytes

RESERVED = {".git": "git_dir", STATE_DIR: "state_dir"}
CONFIG_FILE = "tether.toml"
WRAPPERS = {
    "env",
    "command",
    "exec",
    "nohup",
    "nice",
    "time",
    "xargs",
    "timeout",
    "stdbuf",
    "builtin",
    "unbuffer",
    "ionice",
    "chronic",
    "watch",
}
SHELLS = {"sh", "bash", "dash", "zsh", "ksh"}
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&"}
REDIRECTS = {">", ">>", "<", "<<", "<<<", ">&", "&>", "<&", ">|"}


def _violation(rule: str, detail: str) -> Violation:
    return Violation(layer="policy", rule=rule, detail=detail)


class ActionPolicy:
    """Decides, before it runs, whether a tool call may go ahead."""

    def __init__(self, root: Path, contract: Contract):
        self.root = root.resolve()
        self.contract = contract

    def relative(self, path: str) -> tuple[str | None, Violation | None]:
        """The normalised repo-relative path, or why it is refused."""
        if not path or not path.strip():
            return None, _violation("empty_path", "the path is empty")
        problem = _malformed(path)
        if problem:
            return None, _violation("bad_path", problem)
        if os.path.isabs(path) or path.startswith("~"):
            return None, _violation(
                "outside_repo", f"{path!r} is absolute; use a path relative to the repository root"
            )
        rel = posixpath.normpath(path.replace("\\", "/"))
        if rel == ".." or rel.startswith("../"):
            return None, _violation("outside_repo", f"{path!r} leaves the repository")
        resolved = (self.root / rel).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            return None, _violation(
                "symlink_outside", f"{path!r} resolves to {resolved}, outside the repository"
            )
        for candidate in (rel, self._resolved_rel(rel)):
            parts = candidate.split("/")
            if parts[0] in RESERVED or ".git" in parts:
                rule = RESERVED.get(parts[0], "git_dir")
                return None, _violation(
                    rule, f"{path!r} is inside {parts[0]}/, which tether protects"
                )
        return rel, None

    def check_read(self, path: str) -> tuple[str | None, Violation | None]:
        return self.relative(path)

    def check_write(self, path: str) -> tuple[str | None, Violation | None]:
        rel, violation = self.relative(path)
        if rel is None:
            return None, violation
        for candidate in {rel, self._resolved_rel(rel)}:
            found = self.path_rule(candidate) or self.test_rule(candidate)
            if found is not None:
                return None, found
        return rel, None

    def check_delete(self, path: str) -> tuple[str | None, Violation | None]:
        rel, violation = self.check_write(path)
        if rel is not None:
            found = self.delete_rule(rel)
            if found is not None:
                return None, found
        return rel, violation

    def delete_rule(self, rel: str) -> Violation | None:
        """Whether deleting ``rel`` is allowed: the contract, then the rules (a
        ``no deletes`` rule wins over the contract, ``may delete`` over both)."""
        said = [r for r in self.contract.rules if r.kind in ("no_delete", "may_delete")]
        for rule in reversed(said):
            if not rule.paths or matches_any(rule.paths, rel):
                if rule.kind == "may_delete":
                    return None
                return _violation(rule.exact(), f"deleting {rel!r} is not allowed")
        if self.contract.allow_delete:
            return None
        return _violation("no_delete", f"deleting {rel!r} is not allowed by this task's contract")

    def path_rule(self, rel: str, with_rules: bool = True) -> Violation | None:
        """Contract rules for changing ``rel`` (shared with the diff contract, which
        judges the rules only on a step's own changes: ``with_rules=False``)."""
        found = self._contract_rule(rel)
        if found is None and with_rules:
            found = self.rule_for(rel)
        return found

    def rule_for(self, rel: str) -> Violation | None:
        """The compiled rules' say on changing ``rel``: each scope rule must match it,
        no protect rule may; an existing test file stays as it is under keep: tests."""
        for rule in self.contract.rules_of("scope"):
            if not matches_any(rule.paths, rel):
                return _violation(rule.exact(), f"{rel!r} is outside the scope the rule allows")
        for rule in self.contract.rules_of("protect"):
            if matches_any(rule.paths, rel):
                return _violation(rule.exact(), f"{rel!r} is protected by the rule")
        return None

    def test_rule(self, rel: str) -> Violation | None:
        """``keep: tests`` before a write: an existing test file may not change, unless
        a scope glob names tests (the diff layer judges the same in rules/semantic)."""
        tests = [r for r in self.contract.rules_of("keep") if r.what == "tests"]
        if not tests or needs_bytes(tests, rel):  # a pyproject.toml: judged on its diff
            return None
        status = "M" if (self.root / rel).is_file() else "A"
        found = check(tests, [FileStep(rel, status)], self.contract.scopes)
        return _violation(found[0].rule, found[0].detail) if found else None

    def _contract_rule(self, rel: str) -> Violation | None:
        if rel == CONFIG_FILE or rel.endswith("/" + CONFIG_FILE):
            return _violation("config_file", f"{rel} is the harness's configuration")
        if rel in self.contract.ledger_files:
            return _violation("state_file", f"{rel} is kept by tether itself")
        if rel in self.contract.rule_files and not self.contract.rule_file_in_scope(rel):
            return _violation(
                "state_file",
                f"{rel} holds this repository's rules and gates; "
                "only a task whose scope names it may change it",
            )
        if matches_any(self.contract.protect, rel):
            return _violation("protected", f"{rel!r} is protected by this task's contract")
        if self.contract.scope and not matches_any(self.contract.scope, rel):
            scope = ", ".join(self.contract.scope)
            return _violation("out_of_scope", f"{rel!r} is outside this task's scope ({scope})")
        return None

    def _resolved_rel(self, rel: str) -> str:
        resolved = (self.root / rel).resolve()
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return rel

    def check_command(self, command: str) -> Violation | None:
        """The first deny-list entry the command matches, as a violation."""
        try:
            commands = simple_commands(command)
        except ValueError as exc:
            return _violation("unparsable_command", f"could not parse the command ({exc})")
        deny = [tuple(entry.split()) for entry in self.contract.deny_commands if entry.split()]
        for words in commands:
            for entry in deny:
                if _denied(words, entry):
                    return _violation(
                        "deny_command",
                        f"`{' '.join(entry)}` is on the deny list; change files with the "
                        "edit tools instead",
                    )
        return None


MAX_PATH = 1024
MAX_NAME = 255


def _malformed(path: str) -> str:
    """Why a path can never name a file here ('' when it can)."""
    if "\0" in path:
        return "the path holds a NUL character"
    if len(path.encode("utf-8", "surrogateescape")) > MAX_PATH:
        return f"the path is over {MAX_PATH} bytes long"
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME for part in path.split("/")):
        return f"a name in the path is over {MAX_NAME} bytes long"
    return ""


def simple_commands(command: str, depth: int = 0) -> list[list[str]]:
    """Split a shell command line into simple commands (words, wrappers removed)."""
    text = command.replace("\n", " ; ").replace("$(", " ; ").replace("`", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    out: list[list[str]] = []
    current: list[str] = []
    skip_next = False
    for token in lexer:
        if skip_next:
            skip_next = False
            continue
        if token in SEPARATORS:
            if current:
                out.append(current)
            current = []
        elif token in REDIRECTS:
            skip_next = True
        else:
            current.append(token)
    if current:
        out.append(current)
    result: list[list[str]] = []
    for words in out:
        words = _unwrap(words)
        if not words:
            continue
        name = posixpath.basename(words[0])
        if name in SHELLS and "-c" in words[1:] and depth < 3:
            index = words.index("-c", 1)
            if index + 1 < len(words):
                result.extend(simple_commands(words[index + 1], depth + 1))
                continue
        result.append(words)
    return result


def _unwrap(words: list[str]) -> list[str]:
    while words:
        head = posixpath.basename(words[0])
        if "=" in words[0] and not words[0].startswith("=") and head == words[0]:
            words = words[1:]
        elif head in WRAPPERS:
            words = words[1:]
            while words and (words[0].startswith("-") or words[0].replace(".", "").isdigit()):
                words = words[1:]
        else:
            break
    return words


def _denied(words: list[str], entry: tuple[str, ...]) -> bool:
    if posixpath.basename(words[0]) != entry[0]:
        return False
    rest = words[1:]
    return all(part in rest for part in entry[1:])
