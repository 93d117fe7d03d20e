"""Where a task's rules come from, compiled the same way everywhere: AGENTS.md's rules
section (every task), a PLAN.md task's ``keep:`` and ``rule:``, ``--keep`` and
``--rule`` on the command line, and the live session. Plain words go through the
deterministic compiler; what it cannot read stays advice and is said to be so."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from tether.errors import UsageError
from tether.memory.agents_md import rule_lines
from tether.memory.plan_md import PlanTask
from tether.rules.compiler import compile_rules
from tether.rules.paths import RepoFiles
from tether.rules.rule import KEEPS, Rule
from tether.vcs.files import repo_files

Note = Callable[[str], None]


def files_of(root: Path) -> RepoFiles:
    """The repository's files, for resolving the paths a rule names."""
    try:
        return RepoFiles(tuple(repo_files(root)))
    except (OSError, subprocess.CalledProcessError):  # no git here: paths stay as written
        return RepoFiles()


def keep_rules(words: Sequence[str], where: str = "--keep") -> tuple[Rule, ...]:
    """``--keep types --keep signatures,deps`` → keep rules; an unknown word is an error."""
    out: list[Rule] = []
    for word in (w.strip() for value in words for w in value.split(",")):
        if not word:
            continue
        if word not in KEEPS:
            raise UsageError(
                f"{where}: {word!r} is not something a task can keep",
                hint=f"use one of {', '.join(KEEPS)}",
            )
        out.append(Rule("keep", what=word, source=where))
    return tuple(out)


def compile_texts(
    texts: Sequence[str], files: RepoFiles, source: str, note: Note | None = None
) -> tuple[Rule, ...]:
    """Each text compiled; what is not a rule becomes advice, said once through ``note``."""
    out: list[Rule] = []
    for text in texts:
        compiled = compile_rules(text, files, source)
        if compiled.problems:
            raise UsageError(
                f"{source}: {compiled.problems[0]}", hint="rules name paths inside the repository"
            )
        out += compiled.with_advice(source)
        if note is not None:
            for left in compiled.unparsed:
                note(
                    f"{source}: {left!r} is not a rule tether can check; it goes to the model "
                    f'as advice (`tether rules "{left}"` asks the planner model for a rule)'
                )
    return tuple(out)


def command_line_rules(
    root: Path, keep: Sequence[str], texts: Sequence[str], note: Note | None = None
) -> tuple[Rule, ...]:
    """``--keep`` and ``--rule`` of ``do``, ``run`` and ``variants``."""
    rules = keep_rules(keep)
    if texts:
        rules += compile_texts(texts, files_of(root), "--rule", note)
    return rules


def house_rules(root: Path, note: Note | None = None) -> tuple[Rule, ...]:
    """AGENTS.md's rules section, each bullet with its line as its source. The file is
    in every prompt already, so a bullet that is no rule is only noted, not repeated."""
    path = root / "AGENTS.md"
    if not path.is_file():
        return ()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    lines = rule_lines(text)
    if not lines:
        return ()
    files = files_of(root)
    out: list[Rule] = []
    for number, line in lines:
        compiled = compile_rules(line, files, f"AGENTS.md:{number}")
        out += compiled.rules
        if compiled.unparsed and note is not None:
            note(f"AGENTS.md:{number}: {compiled.unparsed[0]!r} is not a rule tether can check")
    return tuple(out)


def plan_rules(root: Path, planned: PlanTask) -> tuple[Rule, ...]:
    """A PLAN.md task's ``keep:`` and ``rule:`` lines."""
    where = f"PLAN.md:{planned.id}"
    rules = keep_rules(planned.keep, where)
    if planned.rules:
        rules += compile_texts(planned.rules, files_of(root), where)
    return rules
