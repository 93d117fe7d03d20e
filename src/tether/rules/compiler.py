"""Plain words → rules, deterministically, for the forms developers use.

"only src/cli.py and its tests, and don't touch the types" is read in four passes:
quoted text and paths become placeholders (so a ``.`` or ``and`` inside a path never
splits anything); the words are normalised (contractions, "never", gerunds, fillers
like "please" or "for now"); the text is split into clauses (a clause that is only
paths or kinds joins the one before it: "src/a.py, src/b.py and src/c.py"); each
clause is read by the readers below, in order, each one blanking what it used so the
next one sees only the rest. What no reader uses is returned as ``unparsed``: the
caller asks the planner model (``planner/rules_ask.py``) or keeps it as advice.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tether.rules.paths import RepoFiles
from tether.rules.phrases import (
    CONNECTORS,
    CONTRACTIONS,
    EDIT,
    EXACT,
    EXCEPT,
    GERUNDS,
    KEEP_WORDS,
    KIND_WORDS,
    KNOWN_COMMANDS,
    NOISE,
    PATH_WORD,
    PERMIT,
    PH,
    PH_RE,
    PL,
    PROTECT_FORMS,
    SCOPE_FORMS,
    SIZES,
    STARTS,
)
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


@dataclass
class _Clause:
    text: str  # normalised, with placeholders
    literals: list[str]
    files: RepoFiles
    previous: list[str] = field(default_factory=list)  # paths said in the clause before
    rules: list[Rule] = field(default_factory=list)

    def use(self, match: re.Match[str]) -> None:
        start, end = match.span()
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]

    def paths(self, fragment: str | None) -> list[str]:
        """The globs a path list says, "its tests" resolved to the paths before it."""
        if not fragment:
            return []
        out: list[str] = []
        tokens = re.finditer(
            r"\u27e6(\d+)\u27e7|(?:its|their|the) tests?|tests? (?:for|of) (?:it|them|that|"
            r"those)|\btests?\b",
            fragment,
        )
        for token in tokens:
            if token.group(1) is not None:
                out.append(self.files.resolve(self.literals[int(token.group(1))]))
            else:
                before = out or self.previous
                out += [t for t in self.files.tests_of(before) if t not in out] if before else []
        self.previous = out or self.previous
        return out


def compile_rules(text: str, files: RepoFiles | None = None, source: str = "") -> Compiled:
    """``text`` in plain words → rules (``source``: where it was said)."""
    files = files or RepoFiles()
    literals: list[str] = []
    masked = _mask(text, literals, files)
    rules: list[Rule] = []
    unparsed: list[str] = []
    previous: list[str] = []
    for clause_text in _clauses(_normalise(masked)):
        clause = _Clause(clause_text, literals, files, previous)
        left = _read(clause)
        previous = clause.previous
        rules += [r.said(source) for r in clause.rules]
        if left:
            unparsed.append(_unmask(left, literals))
    kept, problems = _inside(_merged(rules))
    return Compiled(text, tuple(kept), tuple(unparsed), tuple(problems))


def _inside(rules: list[Rule]) -> tuple[list[Rule], list[str]]:
    """Rules name paths inside the repository; one that does not is refused."""
    kept: list[Rule] = []
    problems: list[str] = []
    for rule in rules:
        bad = [p for p in rule.paths if _leaves(p)]
        if bad:
            problems.append(f"{rule.exact()}: {bad[0]!r} is outside the repository")
        else:
            kept.append(rule)
    return kept, problems


def _leaves(path: str) -> bool:
    norm = posixpath.normpath(path.replace("\\", "/"))
    return path.startswith(("/", "~")) or norm == ".." or norm.startswith("../")


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


def _unmask(text: str, literals: list[str]) -> str:
    text = PH_RE.sub(lambda m: literals[int(m.group(1))], text)
    return re.sub(r"\s+", " ", text).strip(" ,.;")


# --- pass 3: clauses ------------------------------------------------------------------


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


def _read(clause: _Clause) -> str:
    """Runs the readers; returns what none of them used ('' when all was read)."""
    exact = _exact(clause)
    if exact is not None:
        clause.rules += exact
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


def _exact(clause: _Clause) -> list[Rule] | None:
    text = clause.text.strip()
    if text in ("no network", "no deletes"):
        return [Rule("no_network" if text == "no network" else "no_delete")]
    match = EXACT.match(text)
    if match is None:
        return None
    kind, rest = match.group("k"), match.group("rest").strip()
    if kind == "advice":
        return [Rule("advice", what=_unmask(rest, clause.literals))]
    if kind.startswith("no run"):
        return [Rule("no_run", what=_unmask(rest, clause.literals))]
    if kind == "max diff":
        number = re.search(r"\d[\d,]*", rest)
        return [Rule("max_diff", limit=int(number.group().replace(",", "")))] if number else None
    if kind in ("keep", "allow"):
        what, _, where = rest.partition(" in ")
        if what.strip() not in ("types", "signatures", "deps", "tests"):
            return None
        paths = tuple(clause.paths(where)) if kind == "keep" else ()
        return [Rule(kind, paths=paths, what=what.strip())]
    paths = tuple(clause.paths(rest))
    if not paths and kind != "no deletes":
        return None
    names = {"scope": "scope", "protect": "protect", "no deletes": "no_delete"}
    return [Rule(names.get(kind, "may_delete"), paths=paths)]


def _first_form(clause: _Clause, forms: list[str], kind: str) -> bool:
    """The first of ``forms`` that names paths gives a ``kind`` rule."""
    for form in forms:
        match = re.search(form, clause.text)
        if match:
            paths = clause.paths(match.group("pl"))
            if paths:
                clause.rules.append(Rule(kind, paths=tuple(paths)))
                clause.use(match)
                return True
    return False


def _scope(clause: _Clause) -> bool:
    """A scope; "except PATHS" after it protects those (only src/app except its types)."""
    if not _first_form(clause, SCOPE_FORMS, "scope"):
        return False
    rest = re.search(
        rf"\b(?:except(?: for)?|excluding|apart from|save|other than) {PL}", clause.text
    )
    if rest:
        paths = clause.paths(rest.group("pl"))
        if paths:
            clause.rules.append(Rule("protect", paths=tuple(paths)))
            clause.use(rest)
    return True


def _protect_except(clause: _Clause) -> bool:
    """ "don't change anything in src/app except users.py": every file there but those
    is protected (the files as the repository has them now)."""
    match = re.search(
        rf"\b(?:do not|no) {EDIT}\w* (?:anything|any files?|files|everything) (?:in|under|"
        rf"inside|within) (?P<inner>\u27e6\d+\u27e7) {EXCEPT} {PL}",
        clause.text,
    )
    if match is None:
        return False
    inside = clause.paths(match.group("inner"))
    allowed = clause.paths(match.group("pl"))
    kept = [f for f in clause.files.matching(inside) if f not in clause.files.matching(allowed)]
    if not kept:
        return False
    clause.rules.append(Rule("protect", paths=tuple(kept)))
    clause.use(match)
    return True


def _deletes(clause: _Clause) -> bool:
    text = clause.text
    allow = re.search(rf"{PERMIT} (?:delete|remove) {PL}", text) or re.search(
        rf"\b(?:delete|remove|deletion of) {PL} (?:is|are) (?:ok|okay|fine|allowed)", text
    )
    if allow:
        clause.rules.append(Rule("may_delete", paths=tuple(clause.paths(allow.group("pl")))))
        clause.use(allow)
        return True
    anywhere = re.search(
        r"\b(?:delete|deletes|deletions|deletion)(?: of files)? (?:is |are )?(?:ok|okay|fine|"
        r"allowed)\b|\bmay delete\b",
        text,
    )
    if anywhere:
        clause.rules.append(Rule("may_delete", paths=("**",)))
        clause.use(anywhere)
        return True
    if any(re.search(words, text) for words in KIND_WORDS.values()):
        return False  # "don't delete tests" is keep: tests
    deny = re.search(
        rf"\b(?:do not|no) (?:more |further |new )?(?:delete|remove|deletion|deletions|deletes)"
        rf"\w*(?: of)?(?: anything| any files?| any)?"
        rf"(?: files?| anything| code)?(?: (?:in|under|from))?(?: {PL})?",
        text,
    ) or re.search(
        r"\b(?:keep (?:all|every) (?:existing )?files?|delete (?:files )?is (?:not allowed|"
        r"forbidden))\b",
        text,
    )
    if deny:
        named = deny.groupdict().get("pl")
        clause.rules.append(Rule("no_delete", paths=tuple(clause.paths(named))))
        clause.use(deny)
        return True
    return False


def _max_diff(clause: _Clause) -> bool:
    text = clause.text
    match = re.search(
        r"(?:keep (?:the |your )?(?:diff|changes?|patch|change) )?(?:diff )?"
        r"(?:max(?:imum)?|at most|no more than|not more than|under|below|less than|fewer than|"
        r"within|up to|limit(?: of)?|cap(?: of)?|<=?|smaller than|past|beyond|over|exceed|exceeds|"
        r"more than|to)\s*(?:of\s*)?(?:diff\s*"
        r"(?:of\s*)?)?(?P<n>\d[\d,]*)(?!\s*(?:files?|steps?|functions?|tests?|commits?|"
        r"modules?|times?|%|percent|seconds?|minutes?)\b)\s*"
        r"(?P<unit>(?:changed |added\+removed |diff )?"
        r"(?:lines?|loc)(?: changed| of diff| of change)?)?",
        text,
    )
    if match and (match.group("unit") or re.search(r"\b(?:diff|change|changes)\b", text)):
        clause.rules.append(Rule("max_diff", limit=int(match.group("n").replace(",", ""))))
        clause.use(match)
        return True
    size = re.search(
        r"\b(?:keep (?:the |your )?(?:diff|changes?|edits?|patch)(?: as)? |(?:a |the )?)"
        r"(?P<size>small|short|tight|tiny|minimal|minimum)(?: as possible)?(?: (?:diff|"
        r"changes?|edits?|patch))?\b",
        text,
    )
    if size and re.search(r"\b(?:diff|changes?|edits?|patch)\b", text):
        clause.rules.append(Rule("max_diff", limit=SIZES[size.group("size")]))
        clause.use(size)
        return True
    return False


def _network(clause: _Clause) -> bool:
    match = re.search(
        r"\b(?:no|avoid|do not (?:use|access|touch|hit|call|go on|reach)(?: the)?|"
        r"without(?: the)?)"
        r" (?:network|internet|net|web|outside world)(?: access)?\b|\b(?:stay |work |be )?"
        r"offline(?: only)?\b|\bno http(?: requests)?\b|\bdo not download\w*(?: anything)?",
        clause.text,
    )
    if match is None and re.search(r"\b(?:no|do not|without|avoid)\b", clause.text):
        # "no new packages or network calls": the network as a later item of a list
        match = re.search(
            r"\b(?:or|and|nor) (?:any )?(?:network|internet)(?: access| calls| requests)?\b",
            clause.text,
        )
    if match:
        clause.rules.append(Rule("no_network"))
        clause.use(match)
        return True
    return False


def _kinds(clause: _Clause) -> bool:
    text = clause.text
    # "its tests" after a path is a path list, not the kind
    bare = re.sub(rf"{PH_RE.pattern}[\s,]*(?:and|or|plus|&)?\s*(?:its|their) tests?", " ", text)
    kinds = [kind for kind, words in KIND_WORDS.items() if re.search(words, bare)]
    if not kinds and re.search(r"\bdo not install\b", text):
        kinds = ["deps"]  # "don't install anything"
    if not kinds:
        return False
    permit = re.search(PERMIT, text) or re.search(r"\b(?:is|are) (?:ok|okay|fine|allowed)\b", text)
    negated = re.search(r"\b(?:is|are) not (?:ok|okay|fine|allowed)\b", text)
    if permit and not negated and not re.search(r"\bdo not\b", text):
        clause.rules += [Rule("allow", what=kind) for kind in kinds]
    elif KEEP_WORDS.search(text) or re.search(r"\bdo not (?:add|install|introduce|bump)", text):
        where = re.search(rf"\b(?:in|under|of|for|inside|within|from) {PL}", text) or re.search(
            rf"{PL}\s*'s\b", text
        )
        paths = tuple(clause.paths(where.group("pl"))) if where else ()
        clause.rules += [Rule("keep", paths=paths, what=kind) for kind in kinds]
    else:
        return False
    clause.text = " " * len(text)
    return True


def _protect(clause: _Clause) -> bool:
    return _first_form(clause, PROTECT_FORMS, "protect")


def _no_run(clause: _Clause) -> bool:
    text = clause.text
    match = re.search(
        r"\b(?:do not|no) (?P<verb>run|execute|invoke|call|use|start|launch)\w*(?: the)?"
        r"(?: commands?)? (?P<cmd>\u27e6\d+\u27e7|[a-z0-9_.\-]+(?: [a-z0-9_.\-]+){0,2})",
        text,
    ) or re.search(r"\bno (?P<cmd>[a-z0-9_.\-]+(?: [a-z0-9_.\-]+)?)(?: commands?)?\s*$", text)
    if not match:
        return False
    command = _unmask(match.group("cmd"), clause.literals)
    command = re.sub(r"\s+(?:commands?|anything|at all)$", "", command).strip()
    quoted = PH_RE.fullmatch(match.group("cmd").strip()) is not None
    verb = match.groupdict().get("verb") or ""
    head = command.split()[0] if command.split() else ""
    loose = verb not in ("run", "execute", "invoke") or not head
    if not quoted and loose and head not in KNOWN_COMMANDS:
        return False
    if not quoted and head not in KNOWN_COMMANDS:
        command = head
    clause.rules.append(Rule("no_run", what=command))
    clause.use(match)
    return True


READERS: list[Callable[[_Clause], bool]] = [
    _protect_except,
    _scope,
    _deletes,
    _max_diff,
    _network,
    _kinds,
    _protect,
    _no_run,
]


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
