"""The compiler's vocabulary: the words and forms developers use for each rule, as
regular expressions over the normal form (lower case, placeholders ⟦n⟧ for quoted text
and paths, "do not" for every negation). A new phrasing is a form here and a row in
``tests/test_rules_compiler.py``."""

from __future__ import annotations

import re

PH = "\u27e6{}\u27e7"  # ⟦n⟧, a placeholder for quoted text or a path
PH_RE = re.compile("\u27e6(\\d+)\u27e7")
PL = (
    r"(?P<pl>(?:\u27e6\d+\u27e7|\b(?:its|their|the|and|or|plus|also|as well as|too|&)\b|"
    r"\btests? (?:for|of) (?:it|them|that|those)\b|\btests?\b|[,\s])*\u27e6\d+\u27e7"
    r"(?:\s*(?:,|and|or|plus|&|as well as)?\s*(?:\u27e6\d+\u27e7|(?:its|their|the) tests?"
    r"|tests? (?:for|of) (?:it|them|that|those)))*)"
)
EDIT = r"(?:touch|change|edit|modify|alter|write(?: to)?|update|rewrite|mess with|work on)"
EXCEPT = (
    r"(?:but|except(?: for)?|other than|besides|outside(?: of)?|apart from|beyond|save|"
    r"aside from|not in)"
)
PERMIT = (
    r"\b(?:you (?:may|can)|feel free to|it is (?:ok|okay|fine|allowed) to|(?:are |is )?"
    r"allowed to|go ahead and|(?:ok|okay|fine) to|free to|allow (?:changes|edits) (?:to|of|in)"
    r"|allow (?:changing|editing|touching))\b"
)
KIND_WORDS = {
    "types": r"\b(?:types?|type hints?|type annotations?|annotations?|typing|type aliases|"
    r"type definitions|typings|typed ?dicts?|protocols?|stubs?)\b",
    "signatures": r"\b(?:signatures?|public api|apis?|interfaces?|public interface|"
    r"public functions|exported functions|function names)\b",
    "deps": r"\b(?:dependencies|dependency|deps|packages|libraries|library|requirements|"
    r"third[- ]party (?:packages|libraries|code))\b",
    "tests": r"\b(?:tests?|test files?|test suite|specs|unit tests|test cases|assertions)\b",
}
KEEP_WORDS = re.compile(
    r"\b(?:do not|no|keep|leave|preserve|freeze|frozen|read[- ]only|unchanged|stays?|remain|"
    r"as is|hands off|off[- ]limits|intact|stable|the same|avoid|not allowed|forbidden|"
    r"untouched|fixed|alone)\b"
)
KNOWN_COMMANDS = {
    "pip", "pip3", "npm", "npx", "yarn", "pnpm", "git", "sudo", "curl", "wget", "docker",
    "make", "cargo", "go", "rm", "poetry", "uv", "apt", "apt-get", "brew", "ssh", "scp",
    "kubectl", "terraform", "python", "python3", "node", "bash", "sh", "pytest", "black",
    "ruff", "prettier", "eslint", "alembic", "psql", "mysql", "chmod", "chown", "mv", "dd",
}  # fmt: skip
GERUNDS = {
    "touching": "touch", "changing": "change", "editing": "edit", "modifying": "modify",
    "altering": "alter", "deleting": "delete", "removing": "remove", "adding": "add",
    "running": "run", "using": "use", "rewriting": "rewrite", "updating": "update",
    "weakening": "weaken", "writing": "write", "creating": "create", "installing": "install",
    "calling": "call", "executing": "execute", "introducing": "introduce",
    "bumping": "bump", "renaming": "rename", "breaking": "break",
}  # fmt: skip
CONTRACTIONS = (
    (r"\b(?:don'?t|doesn'?t|didn'?t|can'?t|cannot|won'?t|shouldn'?t|mustn'?t|must not|"
     r"should not|shall not|may not|never|do not ever|under no circumstances)\b", "do not"),
    (r"\bisn'?t\b", "is not"),
    (r"\baren'?t\b", "are not"),
    (r"\bit's\b", "it is"),
    (r"\byou(?:'re| are) only (?:allowed|permitted|supposed) to\b", "only"),
    (r"\b(?:you(?:'re| are) |it is |you're )?not (?:allowed|permitted|supposed) to\b", "do not"),
    (r"\b(?:stop|quit|cease) (?=\w+ing\b)", "do not "),
    (r"\byou (?:may|can|should|must|need to) only\b", "only"),
    (r"\b(?:i want you to|i'd like you to|i would like you to|make sure (?:that )?(?:you )?|"
     r"be sure to|remember to|try to|you should|you must|you need to|you have to|"
     r"please|pls|kindly)\b", ""),
    (r"\b(?:for now|yet|from now on|at all|anymore|any more|in this task|for this task|"
     r"right now|whatever you do|at any point|this time|going forward|under any "
     r"circumstances|at any cost|whatever happens|no matter what|if (?:you )?(?:need|must|"
     r"needed|necessary|you have to))\b", ""),
    (r"\bwithout\b", ", do not"),
    (r"\bbut not\b", ", do not touch"),
)  # fmt: skip
STARTS = re.compile(
    r"^\s*(?:do not|no\b|keep|leave|only|just|you\b|max|maximum|at most|limit|stay|allow|"
    r"feel|protect|avoid|hands|stick|restrict|confine|preserve|freeze|nothing|scope|"
    r"the diff|diff|offline|delete|remove|also|under no|touch|change|edit|modify|work|"
    r"it is|changes|edits|ok|okay)"
)
CONNECTORS = re.compile(r"\b(?:and|or|but|also|then|the|so|as well|too|plus|&|a|an)\b|[,.:;]")
# words left over once a reader has used a clause that carry no rule of their own
NOISE = frozenset(
    {
        "do", "not", "let", "diff", "grow", "keep", "lines", "line", "changes", "change",
        "it", "is", "are", "to", "in", "of", "any", "all", "be", "get", "make", "stay",
        "remain", "files", "file", "code", "please", "now", "limit", "patch", "size",
        "total", "nothing", "else", "work", "folder", "directory", "dir", "that", "at",
        "most", "under", "below", "needed", "you", "i", "we",
    }
)  # fmt: skip
PATH_WORD = re.compile(r"[\w.\-/*?\[\]{}@+~]+")


EXACT = re.compile(
    r"^(?P<k>scope|protect|no deletes|may delete|max diff|keep|allow|no run(?:ning)?|advice)\s*:"
    r"\s*(?P<rest>.*)$"
)


SCOPE_FORMS = [
    rf"\b(?:do not|no) {EDIT}\w* (?:(?:any|every|other|all)\s*)*(?:thing|things|files?|code|"
    rf"one)?\s*(?:else )?{EXCEPT} {PL}",
    rf"\bdo not {EDIT}\w* (?:anything|any files?|files|everything) (?:that is )?not (?:in )?{PL}",
    rf"\bnothing (?:else )?{EXCEPT} {PL}",
    rf"\b(?:leave|keep) (?:everything|all|all other files|every other file|the rest)"
    rf"(?: else)? {EXCEPT} {PL}",
    rf"\b(?:leave|keep) everything (?:outside|beyond)(?: of)? {PL}",
    rf"\b(?:leave|keep) (?:the rest|everything else|everything|all else) (?:alone|untouched|"
    rf"as is) {EXCEPT} {PL}",
    rf"\bstay (?:in|inside|within|in the bounds of) {PL}",
    rf"\bdo not (?:go|wander|stray|step|reach|edit|touch|change) (?:outside|beyond|out of) {PL}",
    rf"\b(?:only|just|solely|exclusively) (?:{EDIT}\w* )?(?:the )?(?:files? |code )?"
    rf"(?:in |under |inside |within |matching |like |named )?{PL}",
    rf"\b{EDIT}\w* (?:only|just|solely|exclusively) (?:the )?(?:files? )?(?:in |under )?{PL}",
    rf"\b{EDIT}\w* (?:the )?(?:files? )?(?:in )?{PL} only\b",
    rf"^{PL} only$",
    rf"\b(?:restrict|limit|confine|scope)(?: yourself| changes| edits| the changes| your "
    rf"changes| your edits| the diff| the task| work| it)? (?:only )?(?:to|in) {PL}",
    rf"\bkeep (?:your |the |all )?(?:changes|edits|diff|work) (?:only )?(?:to|in|inside|"
    rf"within|under) {PL}",
    rf"\b(?:changes|edits) only (?:to|in) {PL}",
    rf"(?<!no )\b(?:changes|edits) (?:to|in) {PL} only\b",
    rf"\bstick to {PL}",
    rf"^(?:{EDIT}|fix|work in)\w* (?:the )?(?:files? )?(?:in )?{PL}$",
    rf"\bscope (?:is |= ?|to )?{PL}",
]
PROTECT_FORMS = [
    rf"\b(?:do not|no) (?:{EDIT}|go near|changes to|edits to|edits in|changes in)\w*"
    rf"(?: (?:anything|any files?|the files?|files?|all files|everything) (?:in|under|"
    rf"inside|within))?(?: (?:in|under|inside|within))? {PL}",
    rf"\bleave {PL} (?:alone|as is|as it is|untouched|unchanged|be)\b",
    rf"\b(?:protect|freeze|preserve) {PL}",
    rf"{PL} (?:is|are|stays?|remains?|must stay|must remain|should stay|must be|should be) "
    r"(?:off limits|off-limits|read only|read-only|frozen|untouched|protected|unchanged|"
    r"as is|intact|the same)",
    rf"\bhands off {PL}",
    rf"\bkeep {PL} (?:as is|unchanged|untouched|intact|the same|as it is)",
    rf"\bavoid (?:{EDIT} )?{PL}",
]


SIZES = {"small": 50, "short": 50, "tight": 50, "tiny": 20, "minimal": 20, "minimum": 20}
