"""The compiler's readers: each looks for one kind of rule in a clause (in the normal
form of ``compiler.py``), adds what it finds and blanks the words it used, so the next
reader sees only the rest. The forms they match are in ``phrases.py``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tether.rules.paths import RepoFiles
from tether.rules.phrases import (
    EDIT,
    EXACT,
    EXCEPT,
    KEEP_WORDS,
    KIND_WORDS,
    KNOWN_COMMANDS,
    PERMIT,
    PH_RE,
    PL,
    PROTECT_FORMS,
    SCOPE_FORMS,
    SIZES,
)
from tether.rules.rule import Rule


@dataclass
class Clause:
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


def unmask(text: str, literals: list[str]) -> str:
    text = PH_RE.sub(lambda m: literals[int(m.group(1))], text)
    return re.sub(r"\s+", " ", text).strip(" ,.;")


# --- pass 3: clauses ------------------------------------------------------------------


def exact(clause: Clause) -> list[Rule] | None:
    text = clause.text.strip()
    if text in ("no network", "no deletes"):
        return [Rule("no_network" if text == "no network" else "no_delete")]
    match = EXACT.match(text)
    if match is None:
        return None
    kind, rest = match.group("k"), match.group("rest").strip()
    if kind == "advice":
        return [Rule("advice", what=unmask(rest, clause.literals))]
    if kind.startswith("no run"):
        return [Rule("no_run", what=unmask(rest, clause.literals))]
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


def _first_form(clause: Clause, forms: list[str], kind: str) -> bool:
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


def _scope(clause: Clause) -> bool:
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


def _protect_except(clause: Clause) -> bool:
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


def _deletes(clause: Clause) -> bool:
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


def _max_diff(clause: Clause) -> bool:
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


def _network(clause: Clause) -> bool:
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


def _kinds(clause: Clause) -> bool:
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


def _protect(clause: Clause) -> bool:
    return _first_form(clause, PROTECT_FORMS, "protect")


def _no_run(clause: Clause) -> bool:
    text = clause.text
    match = re.search(
        r"\b(?:do not|no) (?P<verb>run|execute|invoke|call|use|start|launch)\w*(?: the)?"
        r"(?: commands?)? (?P<cmd>\u27e6\d+\u27e7|[a-z0-9_.\-]+(?: [a-z0-9_.\-]+){0,2})",
        text,
    ) or re.search(r"\bno (?P<cmd>[a-z0-9_.\-]+(?: [a-z0-9_.\-]+)?)(?: commands?)?\s*$", text)
    if not match:
        return False
    command = unmask(match.group("cmd"), clause.literals)
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


READERS: list[Callable[[Clause], bool]] = [
    _protect_except,
    _scope,
    _deletes,
    _max_diff,
    _network,
    _kinds,
    _protect,
    _no_run,
]
