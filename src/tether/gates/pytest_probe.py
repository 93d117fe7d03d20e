"""A pytest plugin tether adds to pytest gates (``-p tether_probe``): what each test cost,
what collection cost, and (when asked) which lines each test reached.

It runs in the *project's* interpreter, not tether's: tether copies this file into a
gate's report folder, puts that folder on ``PYTHONPATH`` and sets ``PYTEST_ADDOPTS``.
So it imports nothing of tether, works on old Pythons, and never breaks a test run: any
error of its own is written to its report and the tests go on.

Environment: ``TETHER_PROBE_OUT`` (a folder; one ``<pid>.json`` per process, so xdist
workers do not collide), ``TETHER_PROBE_COVERAGE=1`` with ``TETHER_PROBE_ROOT`` to record
coverage.py dynamic contexts (one per test, parameters folded into their function).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

_state: dict[str, Any] = {
    "started": time.perf_counter(),
    "collect_s": None,
    "files": 0,
    "tests": {},
    "errors": [],
    "cov": None,
}


def function_key(nodeid: str) -> str:
    """``file.py::Class::test_x[1-2]`` → ``file.py::Class::test_x``."""
    head, sep, tail = nodeid.rpartition("::")
    if sep and "[" in tail:
        tail = tail.split("[", 1)[0]
    return f"{head}{sep}{tail}"


def pytest_configure(config: Any) -> None:
    _state["started"] = time.perf_counter()
    if os.environ.get("TETHER_PROBE_COVERAGE") != "1":
        return
    try:
        import importlib

        coverage = importlib.import_module("coverage")
        out = os.environ["TETHER_PROBE_OUT"]
        cov = coverage.Coverage(
            data_file=os.path.join(out, f".coverage.{os.getpid()}"),
            source=[os.environ.get("TETHER_PROBE_ROOT", os.getcwd())],
            branch=False,
            config_file=False,
        )
        cov.start()
        _state["cov"] = cov
    except Exception as exc:  # the probe never breaks a run
        _state["errors"].append(f"coverage not recorded: {type(exc).__name__}: {exc}")


def pytest_collection_finish(session: Any) -> None:
    _state["collect_s"] = time.perf_counter() - _state["started"]
    _state["files"] = len({item.nodeid.split("::", 1)[0] for item in session.items})


def pytest_runtest_setup(item: Any) -> None:
    cov = _state["cov"]
    if cov is not None:
        cov.switch_context(function_key(item.nodeid))


def pytest_runtest_logreport(report: Any) -> None:
    entry = _state["tests"].setdefault(report.nodeid, {"s": 0.0, "outcome": "passed"})
    entry["s"] += float(getattr(report, "duration", 0.0) or 0.0)
    if report.failed:
        entry["outcome"] = "failed" if report.when == "call" else "error"
    elif report.skipped and report.when != "teardown" and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_runtest_teardown(item: Any, nextitem: Any) -> None:
    cov = _state["cov"]
    if cov is not None and nextitem is None:
        cov.switch_context("")


def pytest_unconfigure(config: Any) -> None:
    out = os.environ.get("TETHER_PROBE_OUT")
    if not out:
        return
    report: dict[str, Any] = {
        "version": 1,
        "session_s": time.perf_counter() - _state["started"],
        "collect_s": _state["collect_s"],
        "files": _state["files"],
        "tests": _state["tests"],
    }
    report["coverage"] = _coverage_lines()
    report["errors"] = _state["errors"]
    path = os.path.join(out, f"{os.getpid()}.json")
    try:
        with open(path + ".tmp", "w", encoding="utf-8") as sink:
            json.dump(report, sink)
        os.replace(path + ".tmp", path)
    except OSError:
        pass


def _coverage_lines() -> dict[str, Any] | None:
    """``{"contexts": [...], "files": {path: {line: [context index, ...]}}}``."""
    cov = _state["cov"]
    if cov is None:
        return None
    try:
        cov.stop()
        data = cov.get_data()
        root = os.path.realpath(os.environ.get("TETHER_PROBE_ROOT", os.getcwd()))
        contexts: dict[str, int] = {}
        files: dict[str, dict[str, list[int]]] = {}
        for measured in data.measured_files():
            real = os.path.realpath(measured)
            if not real.startswith(root + os.sep):
                continue
            lines: dict[str, list[int]] = {}
            for line, names in (data.contexts_by_lineno(measured) or {}).items():
                ids = sorted({contexts.setdefault(n, len(contexts)) for n in names if n})
                if ids:
                    lines[str(line)] = ids
            if lines:
                files[os.path.relpath(real, root)] = lines
        return {"contexts": list(contexts), "files": files}
    except Exception as exc:
        _state["errors"].append(f"coverage not read: {type(exc).__name__}: {exc}")
        return None
