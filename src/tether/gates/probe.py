"""Running a pytest gate with tether's probe (``pytest_probe.py``) and reading what it
reports: per-test seconds and outcomes, collection time apart, and optionally the lines
each test reached."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLUGIN = Path(__file__).with_name("pytest_probe.py")
PLUGIN_NAME = "tether_probe"


def is_pytest(command: str) -> bool:
    return "pytest" in command or "py.test" in command


@dataclass
class ProbeReport:
    """What the probe saw in one gate run (all processes of it merged)."""

    tests: dict[str, tuple[float, str]] = field(default_factory=dict)  # nodeid → (s, outcome)
    collect_s: float | None = None
    files: int = 0
    session_s: float = 0.0
    coverage: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def seen(self) -> bool:
        return bool(self.tests) or self.collect_s is not None

    def merge(self, data: dict[str, Any]) -> None:
        for nodeid, entry in (data.get("tests") or {}).items():
            if isinstance(entry, dict):
                self.tests[str(nodeid)] = (float(entry.get("s") or 0.0), str(entry.get("outcome")))
        collect = data.get("collect_s")
        if isinstance(collect, (int, float)):
            self.collect_s = max(self.collect_s or 0.0, float(collect))
            self.files = max(self.files, int(data.get("files") or 0))
        self.session_s = max(self.session_s, float(data.get("session_s") or 0.0))
        self.errors += [str(e) for e in data.get("errors") or []]
        coverage = data.get("coverage")
        if isinstance(coverage, dict):
            self.coverage = _merge_coverage(self.coverage, coverage)


@dataclass(frozen=True)
class Probe:
    """One gate run's probe: the environment to add and the folder it writes to."""

    folder: Path
    env: dict[str, str]

    def report(self) -> ProbeReport:
        report = ProbeReport()
        for path in sorted(self.folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                report.merge(data)
        return report


@contextmanager
def probing(root: Path, coverage: bool) -> Iterator[Probe]:
    """A folder with the plugin in it and the environment that loads it; removed after."""
    folder = Path(tempfile.mkdtemp(prefix="tether-probe-"))
    try:
        shutil.copyfile(PLUGIN, folder / f"{PLUGIN_NAME}.py")
        path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
        env = {
            "PYTHONPATH": path,
            "PYTEST_ADDOPTS": f"-p {PLUGIN_NAME}",
            "TETHER_PROBE_OUT": str(folder),
            "TETHER_PROBE_ROOT": str(root.resolve()),
            **({"TETHER_PROBE_COVERAGE": "1"} if coverage else {}),
        }
        yield Probe(folder, env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _merge_coverage(into: dict[str, Any] | None, more: dict[str, Any]) -> dict[str, Any]:
    """Two processes' line maps as one (their context indices renumbered)."""
    if into is None:
        return more
    names: list[str] = list(into.get("contexts") or [])
    index = {name: i for i, name in enumerate(names)}
    remap = [index.setdefault(name, len(index)) for name in more.get("contexts") or []]
    names = list(index)
    files: dict[str, dict[str, list[int]]] = into.get("files") or {}
    for path, lines in (more.get("files") or {}).items():
        target = files.setdefault(path, {})
        for line, ids in lines.items():
            target[line] = sorted(set(target.get(line, [])) | {remap[i] for i in ids})
    return {"contexts": names, "files": files}
