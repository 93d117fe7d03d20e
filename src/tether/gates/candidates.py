"""Where the tests for a changed Python file may be, one finder per kind of evidence.

Narrow evidence (a test is likely about this file): its name, the coverage map, a direct
import, a use of a changed function's name, an import through other modules. Wide
evidence, used only when a file has no narrow candidate: the nearest ``tests/``
folders, the tests importing the file's packages (above the ``__init__`` cut), and a
sample of the rest. Each finder returns repo-relative test files (or node ids)."""

from __future__ import annotations

import re
from pathlib import Path

from tether.gates.imports import ImportIndex

TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test)\.py$")
MAX_DEPTH = 3
LOOSE_DISTANCE = 4


def is_test_file(path: str) -> bool:
    return bool(TEST_FILE.search(path))


def distance(source: str, test: str) -> int:
    """Directory steps between two files (0 for the same folder)."""
    a, b = Path(source).parent.parts, Path(test).parent.parts
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return (len(a) - common) + (len(b) - common)


def stem_of(source: str) -> str:
    path = Path(source)
    return path.parent.name if path.stem == "__init__" else path.stem


def stem_of_test(test: str) -> str:
    stem = Path(test).stem
    return stem[5:] if stem.startswith("test_") else stem.removesuffix("_test")


def named(source: str, tests: list[str]) -> list[str]:
    """``euler.py`` → ``test_euler.py`` / ``euler_test.py``."""
    stem = stem_of(source)
    names = {f"test_{stem}.py", f"{stem}_test.py"}
    return [t for t in tests if Path(t).name in names]


def loosely_named(source: str, tests: list[str]) -> list[str]:
    """Names that say the same with other words: ``test_betweenness_centrality.py`` for
    ``betweenness.py``, ``test_dfs.py`` for ``depth_first_search.py``,
    ``test_coloring.py`` for ``greedy_coloring.py``, ``test_unionfind.py`` for
    ``union_find.py`` -- near the source only."""
    parts = [p for p in stem_of(source).lower().split("_") if p]
    if not parts:
        return []
    found = []
    for test in tests:
        if distance(source, test) > LOOSE_DISTANCE:
            continue
        if _same_words(parts, [p for p in stem_of_test(test).lower().split("_") if p]):
            found.append(test)
    return found


def _same_words(src: list[str], test: list[str]) -> bool:
    if not test:
        return False
    joined_src, joined_test = "".join(src), "".join(test)
    if joined_src == joined_test:
        return True
    if len(src) >= 2 and "".join(p[0] for p in src) == joined_test:
        return True
    if len(joined_src) >= 4 and _contiguous(src, test):
        return True
    return len(joined_test) >= 5 and _contiguous(test, src)


def _contiguous(needle: list[str], hay: list[str]) -> bool:
    n = len(needle)
    return any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


def importers(index: ImportIndex, module: str) -> list[tuple[int, str]]:
    """(depth, file) for files importing ``module``; never followed through __init__."""
    if not module:
        return []
    found: list[tuple[int, str]] = []
    seen = {module}
    frontier = [module]
    for depth in range(1, MAX_DEPTH + 1):
        following: list[str] = []
        for name in frontier:
            for path in index.importers(name):
                found.append((depth, path))
                child = index.modules.get(path, "")
                if path.endswith("__init__.py") or not child or child in seen:
                    continue
                seen.add(child)
                following.append(child)
        frontier = following
    return found


def users(root: Path, tests: list[str], names: list[str]) -> list[str]:
    """Test files that mention one of ``names`` as a word."""
    names = [n for n in names if len(n) >= 4]
    if not names:
        return []
    pattern = re.compile(rb"\b(" + b"|".join(re.escape(n.encode()) for n in names) + rb")\b")
    found = []
    for test in tests:
        try:
            if pattern.search((root / test).read_bytes()):
                found.append(test)
        except OSError:
            continue
    return found


def near(source: str, tests: list[str]) -> list[str]:
    """Tests in the source's folder, its ``tests``/``test`` subfolder, and the same in
    the parent folder."""
    folder = Path(source).parent
    places = {folder, folder / "tests", folder / "test"}
    if folder != Path("."):
        places |= {folder.parent, folder.parent / "tests", folder.parent / "test"}
    return [t for t in tests if Path(t).parent in places]


def package_importers(index: ImportIndex, module: str, tests: list[str]) -> list[str]:
    """Tests importing a package the module belongs to (``import networkx as nx`` for
    ``networkx/algorithms/flow/edmondskarp.py``): what the ``__init__`` cut left out."""
    parts = module.split(".")
    packages = {".".join(parts[:i]) for i in range(1, len(parts))}
    if not packages:
        return []
    return [t for t in tests if index.imports.get(t, set()) & packages]
