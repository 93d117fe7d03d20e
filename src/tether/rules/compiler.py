"""Plain words → rules, deterministically, for the forms developers use.

"only src/cli.py and its tests, and don't touch the types" is read in four passes:
quoted text and paths become placeholders (so a ``.`` or ``and`` inside a path never
splits anything); the words are normalised (contractions, "never", gerunds, fillers
like "please" or "for now"); the text is split into clauses (a clause that is only
paths or kinds joins the one before it: "src/a.py, src/b.py and src/c.py"); each
clause is read by the readers (``readers.py``), in order, each one blanking what it used so the
next one sees only the rest. What no reader uses is returned as ``unparsed``: the
caller asks the planner model (``planner/rules_ask.py``) or keeps it as advice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tether.memory.plan_md import outside_repo
from tether.rules.paths import RepoFiles
from tether.rules.phrases import (
    CONNECTORS,
    CONTRACTIONS,
    GERUNDS,
    KIND_WORDS,
    NOISE,
    PATH_WORD,
    PH,
    PH_RE,
    STARTS,
)
from tether.rules.readers import READERS, Clause, exact, unmask
from tether.rules.rule import Rule


@dataclass(frozen=True)
class Compiled:
    """What the text compiled to. ``unparsed``: the clauses no reader understood."""

    text: str
    rules: tuple[Rule, ...] = ()
    unparsed: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # rules refused (a path that leaves the repository)

    def with_advice(self, source: str = "") -> tuple[Rule, ...]:
        """The rules, and every unparsed clause as advice (never silently dropped)."""
        advice = tuple(Rule("advice", what=t, source=source) for t in self.unparsed)
        return self.rules + advice

    def echo(self, files: RepoFiles | None = None) -> list[str]:
        """One line per rule, in its exact form: ``→ scope: src/cli.py``."""
        lines = []
        for rule in self.rules:
            shown = files.shown(rule.paths) if files and rule.paths else ""
            lines.append(f"→ {rule.exact()}" + (f" {shown}" if shown else ""))
        lines += [f"→ not a rule, only advice: {text}" for text in self.unparsed]
        lines += [f"→ refused: {problem}" for problem in self.problems]
        return lines


def compile_rules(text: str, files: RepoFiles | None = None, source: str = "") -> Compiled:
    """``text`` in plain words → rules (``source``: where it was said)."""
    files = files or RepoFiles()
    literals: list[str] = []
    masked = _mask(text, literals, files)
    rules: list[Rule] = []
    unparsed: list[str] = []
    previous: list[str] = []
    for clause_text in _clauses(_normalise(masked)):
        clause = Clause(clause_text, literals, files, previous)
        left = _read(clause)
        previous = clause.previous
        rules += [r.said(source) for r in clause.rules]
        if left:
            unparsed.append(unmask(left, literals))
    kept, problems = _inside(_merged(rules))
    return Compiled(text, tuple(kept), tuple(unparsed), tuple(problems))


def _inside(rules: list[Rule]) -> tuple[list[Rule], list[str]]:
    """Rules name paths inside the repository; one that does not is refused."""
    kept: list[Rule] = []
    problems: list[str] = []
    for rule in rules:
        bad = [problem for p in rule.paths if (problem := outside_repo(p))]
        if bad:
            problems.append(f"{rule.exact()}: {bad[0]}")
        else:
            kept.append(rule)
    return kept, problems


# --- pass 1 and 2: placeholders and normal form --------------------------------------


def _mask(text: str, literals: list[str], files: RepoFiles) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"')
    for pattern, repl in CONTRACTIONS[:4]:  # before quotes: "don't" is no quote
        text = re.sub(pattern, repl, text, flags=re.IGNORECASE)

    def keep(match: re.Match[str]) -> str:
        literals.append(next(g for g in match.groups() if g is not None))
        return " " + PH.format(len(literals) - 1) + " "

    text = re.sub(r"`([^`]+)`|\"([^\"]+)\"|(?<![\w])'([^']+)'(?![\w])", keep, text)
    for spaced in (f for f in files.files if " " in f and f in text):  # unquoted, with spaces
        literals.append(spaced)
        text = text.replace(spaced, " " + PH.format(len(literals) - 1) + " ")

    def named(match: re.Match[str]) -> str:  # "the cli module", "the app package"
        found = files.named(match.group("name"), match.group("what").lower())
        if found is None:
            return match.group(0)
        literals.append(found)
        return " " + PH.format(len(literals) - 1) + " "

    text = re.sub(
        r"(?<![\w/.\-])(?:the )?(?P<name>[A-Za-z_][\w-]*) "
        r"(?P<what>module|file|package|folder|directory)\b",
        named,
        text,
        flags=re.IGNORECASE,
    )
    words = []
    for word in re.split(r"(\s+)", text):
        core = word.strip("(),;:!?")
        trail = word[len(word.rstrip("(),;:!?")) :]
        if core.endswith(".") and _is_path(core[:-1], files):
            core, trail = core[:-1], "." + trail
        if core and not PH_RE.fullmatch(core) and _is_path(core, files):
            literals.append(core)
            word = word[: word.find(core)] + PH.format(len(literals) - 1) + trail
        words.append(word)
    return "".join(words)


def _is_path(word: str, files: RepoFiles) -> bool:
    if not word or not PATH_WORD.fullmatch(word) or word.lower() in ("e.g", "i.e", "etc"):
        return False
    if "/" in word or any(c in word for c in "*?["):
        return True
    if re.search(r"\.[A-Za-z][A-Za-z0-9]{0,7}$", word) and not word.startswith("."):
        return not word.endswith(".") and len(word) > 3
    if word.startswith(".") and len(word) > 1 and word in files.files:
        return True
    return word in files.files or (word in files.folders and "/" not in word and word != "tests")


def _normalise(text: str) -> str:
    parts = PH_RE.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(PH.format(part))
            continue
        part = part.lower()
        for pattern, repl in CONTRACTIONS:
            part = re.sub(pattern, repl, part)
        part = re.sub(r"\b(" + "|".join(GERUNDS) + r")\b", lambda m: GERUNDS[m.group(1)], part)
        part = re.sub(r"\bdo not do not\b", "do not", part)
        out.append(part)
    return re.sub(r"[ \t]+", " ", "".join(out)).strip()


def _clauses(text: str) -> list[str]:
    pieces = re.split(r"[;!?\n]|\.(?=\s|$)|,", text)
    out: list[str] = []
    for piece in pieces:
        for part in _split_and(piece):
            part = part.strip()
            if not part:
                continue
            if out and _dangling(part):
                out[-1] = f"{out[-1]} , {part}"
            else:
                out.append(part)
    return out


def _split_and(piece: str) -> list[str]:
    out: list[str] = []
    rest = piece
    while True:
        found = None
        for match in re.finditer(r"\b(?:and|but|also|plus|then|&)\b", rest):
            after = rest[match.end() :]
            if STARTS.match(after) or _kind_then_verb(after):
                found = match
                break
        if found is None:
            return [*out, rest]
        out.append(rest[: found.start()])
        rest = rest[found.end() :]


def _kind_then_verb(text: str) -> bool:
    """ "and tests are read-only": a kind or a path with its own verb starts a clause."""
    head = r"\s*(?:the |all )?(?:\u27e6\d+\u27e7|" + "|".join(KIND_WORDS.values()) + r")"
    return re.match(head + r"\s+(?:is|are|stays?|remain|must|should)\b", text) is not None


def _dangling(part: str) -> bool:
    """Only paths, kinds and connectors: it continues the clause before."""
    rest = PH_RE.sub(" ", part)
    for words in KIND_WORDS.values():
        rest = re.sub(words, " ", rest)
    rest = re.sub(r"\b(?:its|their|the|too|as well|in|of|for|it|them)\b", " ", rest)
    return not CONNECTORS.sub(" ", rest).strip()


# --- pass 4: readers ------------------------------------------------------------------


def _read(clause: Clause) -> str:
    """Runs the readers; returns what none of them used ('' when all was read)."""
    found = exact(clause)
    if found is not None:
        clause.rules += found
        return ""
    used = False
    for reader in READERS:
        used = reader(clause) or used
    words = CONNECTORS.sub(" ", clause.text).split()
    if not used:
        only_noise = all(w in NOISE for w in words)  # "nothing else", "that is all"
        return "" if only_noise else clause.text
    rest = CONNECTORS.sub(" ", PH_RE.sub(" ", clause.text)).split()
    return clause.text if len([w for w in rest if w not in NOISE]) >= 2 else ""


def _merged(rules: list[Rule]) -> list[Rule]:
    """Scope clauses of one text join into one scope; duplicates are said once."""
    scopes = [r for r in rules if r.kind == "scope"]
    out: list[Rule] = []
    for rule in rules:
        if rule.kind == "scope":
            if rule is scopes[0]:
                paths = tuple(dict.fromkeys(p for r in scopes for p in r.paths))
                out.append(Rule("scope", paths=paths, source=rule.source))
            continue
        if rule not in out:
            out.append(rule)
    return out
