"""A Python import index of a repository: module names, imports, importers.

Parsing every file with ``ast`` costs a second or two on a large project, so results are
cached in ``.tether/cache/imports.json`` keyed by path, size and mtime.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tether.layout import StateLayout


@dataclass
class ImportIndex:
    root: Path
    imports: dict[str, set[str]] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, root: Path, files: list[str]) -> ImportIndex:
        cache_path = StateLayout(root).cache("imports.json")
        cache = _load(cache_path)
        index = cls(root)
        fresh: dict[str, dict[str, object]] = {}
        for rel in files:
            if not rel.endswith(".py"):
                continue
            module = module_name(root, rel)
            index.modules[rel] = module
            try:
                stat = os.stat(root / rel)
            except OSError:
                continue
            key = f"{stat.st_size}:{stat.st_mtime_ns}"
            entry = cache.get(rel)
            if isinstance(entry, dict) and entry.get("key") == key:
                names = set(entry.get("imports") or [])
            else:
                names = _imports_of(root / rel, module, rel.endswith("__init__.py"))
            index.imports[rel] = names
            fresh[rel] = {"key": key, "imports": sorted(names)}
        if fresh != cache:  # an unchanged tree writes nothing (this runs every step)
            _save(cache_path, fresh)
        return index

    def importers(self, module: str) -> list[str]:
        """Files that import ``module`` itself (not just its package)."""
        return sorted(path for path, names in self.imports.items() if module in names)


def module_name(root: Path, rel: str) -> str:
    """Dotted module name of a file, from the package directories (``__init__.py``)."""
    path = Path(rel)
    parts = [path.stem] if path.stem != "__init__" else []
    folder = path.parent
    while folder != Path(".") and (root / folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) if parts else path.parent.name


def _imports_of(path: Path, module: str, is_package: bool) -> set[str]:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return set()
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, package)
            if base is None:
                continue
            if base:
                found.add(base)
            for alias in node.names:
                if alias.name != "*":
                    found.add(f"{base}.{alias.name}" if base else alias.name)
    return found


def _resolve(name: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return name
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, *([name] if name else [])])


def _load(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(path: Path, data: dict[str, dict[str, object]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
