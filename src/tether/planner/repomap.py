"""A compact map of the repository for the planner: files with their top-level symbols,
ranked by how much the rest of the code uses them and by words of the goal, and cut to a
token budget (4 characters a token)."""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from pathlib import Path

IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]{2,}")
JS_SYMBOL = re.compile(
    r"^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*|class\s+|"
    r"const\s+|let\s+)([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
MAX_BYTES = 300_000


def symbols_of(root: Path, rel: str) -> list[str]:
    path = root / rel
    try:
        if path.stat().st_size > MAX_BYTES:
            return []
        text = path.read_bytes()
    except OSError:
        return []
    if rel.endswith(".py"):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return []
        names = [
            n.name
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        return [n for n in names if not n.startswith("_")] or names
    if rel.endswith((".js", ".jsx", ".ts", ".tsx", ".mjs")):
        return JS_SYMBOL.findall(text.decode("utf-8", "replace"))
    return []


def repo_map(root: Path, files: list[str], goal: str = "", budget_tokens: int = 2_000) -> str:
    symbols = {f: symbols_of(root, f) for f in files}
    usage = _document_frequency(root, files)
    goal_words = {w.lower() for w in re.findall(r"[A-Za-z_]{3,}", goal)}

    def score(rel: str) -> float:
        value = sum(math.log1p(usage[s.encode()]) for s in symbols[rel])
        words = set(re.findall(r"[a-z_]{3,}", rel.lower())) | {s.lower() for s in symbols[rel]}
        value += 5 * len(words & goal_words)
        return value + (1 if Path(rel).name.lower().startswith("readme") else 0)

    ranked = sorted(files, key=lambda f: (-score(f), f))
    budget = budget_tokens * 4
    lines: list[str] = []
    used = 0
    for rel in ranked:
        line = f"{rel}: {', '.join(symbols[rel][:12])}" if symbols[rel] else rel
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
    rest = len(ranked) - len(lines)
    if rest:
        lines.append(f"({rest} more files not shown)")
    return "\n".join(lines)


def _document_frequency(root: Path, files: list[str]) -> Counter[bytes]:
    """In how many files each identifier appears."""
    counts: Counter[bytes] = Counter()
    for rel in files:
        try:
            path = root / rel
            if path.stat().st_size > MAX_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:4096]:
            continue
        counts.update(set(IDENT.findall(data)))
    return counts
