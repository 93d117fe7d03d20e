"""Step gates on real pytest runs: an empty selection never passes, loosely named tests
are found, learned costs stay put under ``-x``, a timed-out gate keeps its output, and
the task tier's coverage recording guides later selections."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git
from tether.gates.costs import SuiteCosts
from tether.gates.coverage_map import CoverageMap
from tether.gates.results import GateResult
from tether.gates.runner import GateRunner
from tether.gates.selection import select_tests
from tether.memory.verify_md import parse_verify
from tether.sandbox import make_sandbox
from tether.telemetry import NullLog
from tether.vcs.files import repo_files

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def write(repo: Path, files: dict[str, str], commit: bool = True) -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    if commit:
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "files")


def runner(repo: Path, verify: str, sandbox: str = "auto", **kw: object) -> GateRunner:
    return GateRunner(
        root=repo,
        specs=parse_verify(verify),
        sandbox=make_sandbox(sandbox),
        log=NullLog(),
        evidence_dir=repo / ".tether" / "evidence",
        **kw,  # type: ignore[arg-type]
    )


def step(r: GateRunner, changed: list[str], ranges: dict[str, list[tuple[int, int]]]) -> GateResult:
    (result,) = asyncio.run(r.run("step", changed, line_ranges=ranges))
    return result


PKG = {
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
    "pkg/__init__.py": "from pkg.core import run, unused\n",
    "pkg/core.py": "def _helper(x):\n    return x * 2\n\n\ndef run(x):\n    return _helper(x) + 1\n"
    "\n\ndef unused(x):\n    return x\n",
    "pkg/other.py": "def other():\n    return 3\n",
    "tests/test_behaviour.py": "import pkg\n\n\ndef test_run():\n    assert pkg.run(2) == 5\n",
    "tests/test_other.py": "from pkg.other import other\n\n\ndef test_other():\n"
    "    assert other() == 3\n",
}


def test_a_change_no_test_is_known_to_reach_is_uncovered_not_passed(repo: Path) -> None:
    write(repo, PKG)
    r = runner(repo, f"## step\n- `{PYTEST} {{affected_tests}}`\n")
    result = step(r, ["pkg/core.py"], {"pkg/core.py": [(2, 2)]})
    # only wide evidence (a nearby folder, the package, a sample) found tests: they ran
    # and passed, but nothing says they reach _helper
    assert result.status == "uncovered", result
    assert result.uncovered == ("pkg/core.py:_helper",)
    assert "no test covers pkg/core.py:_helper" in result.summary
    assert result.ok and not result.verified
    wide = ("near", "package", "sample")
    assert set(r.last_selection.reasons.values()) <= set(wide), r.last_selection.reasons


def test_an_empty_selection_for_a_changed_source_never_passes(repo: Path) -> None:
    write(repo, {"app.py": "def f():\n    return 1\n", "README.md": "x\n"})
    r = runner(repo, f"## step\n- `{PYTEST} {{affected_tests}}`\n")
    result = step(r, ["app.py"], {"app.py": [(2, 2)]})
    assert result.status == "uncovered" and "no test covers app.py:f" in result.summary
    # a change to no Python file has nothing to test: that is a skip
    assert step(r, ["README.md"], {}).status == "skip"


def test_tests_named_with_more_words_or_initials_are_selected(repo: Path) -> None:
    files = {
        "lib/centrality/betweenness.py": "def _rescale(b):\n    return b\n",
        "lib/centrality/tests/test_betweenness_centrality.py": "def test_x():\n    pass\n",
        "lib/traversal/depth_first_search.py": "def _walk(g):\n    return g\n",
        "lib/traversal/tests/test_dfs.py": "def test_y():\n    pass\n",
        "lib/traversal/tests/test_bfs.py": "def test_z():\n    pass\n",
        "lib/utils/union_find.py": "class _Set:\n    pass\n",
        "lib/utils/tests/test_unionfind.py": "def test_u():\n    pass\n",
    }
    write(repo, files)
    for source, test in (
        ("lib/centrality/betweenness.py", "lib/centrality/tests/test_betweenness_centrality.py"),
        ("lib/traversal/depth_first_search.py", "lib/traversal/tests/test_dfs.py"),
        ("lib/utils/union_find.py", "lib/utils/tests/test_unionfind.py"),
    ):
        selection = select_tests(repo, repo_files(repo), [source], line_ranges={source: [(1, 1)]})
        assert selection.files == [test], (source, selection.files)
        assert selection.reasons[test] == "loose" and not selection.uncovered


def test_learned_costs_stay_stable_over_twenty_x_runs(repo: Path) -> None:
    """Twenty ``-x`` runs that stop at the first test of a file must not inflate what the
    rest of the suite is thought to cost (the old per-test average rose 17x)."""
    files = {"pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n'}
    files["mod.py"] = "def f():\n    return 1\n"
    body = "import time\n\n\n" + "".join(
        f"def test_{i}():\n    time.sleep(0.05)\n\n\n" for i in range(6)
    )
    files["tests/test_mod.py"] = body.replace("def test_3():\n", "def test_3():\n    assert 0\n")
    for n in range(8):
        files[f"tests/test_slow_{n}.py"] = body
    write(repo, files)
    r = runner(repo, f"## step\n- `{PYTHON_X} {{affected_tests}}`\n")
    estimates = []
    for _ in range(20):
        result = step(r, ["mod.py"], {"mod.py": [(2, 2)]})
        assert result.status == "fail"
        costs = SuiteCosts.load(repo)
        estimates.append(costs.file_s("tests/test_slow_0.py", 6))
    # never-run files cost their test count times the median test: ~6 x 0.05 s
    assert 0.15 < estimates[0] < 0.6, estimates
    assert max(estimates) < 1.5 * min(estimates), estimates
    # what ran is known by its own seconds, not collection; what did not run is not known
    assert 0.04 < costs.tests["tests/test_mod.py::test_0"] < 0.2, costs.tests
    assert "tests/test_mod.py::test_4" not in costs.tests


PYTHON_X = f"{PYTEST} -x"


@pytest.mark.parametrize("sandbox", ["auto", "none"])
def test_a_timed_out_gate_keeps_its_output_and_says_timeout(repo: Path, sandbox: str) -> None:
    tests = "import time\n\n\n" + "".join(
        f"def test_fast_{i}():\n    print('fast {i} ran')\n\n\n" for i in range(3)
    )
    tests += "def test_fails():\n    assert 1 == 2\n\n\ndef test_zz_hangs():\n    time.sleep(60)\n"
    write(repo, {"tests/test_hang.py": tests})
    # without tether's own hypothesis plugin: loading it made this pytest take over 2 s to
    # stop after SIGINT on a loaded machine, past the 3 s grace the test is not about
    gate = f"{PYTEST} -p no:hypothesispytest -rA tests"
    r = runner(repo, f"## task\n- `{gate}`\n  - timeout: 4\n", sandbox)
    (result,) = asyncio.run(r.run("task", ["tests/test_hang.py"]))
    assert result.status == "timeout" and not result.ok
    assert "timed out after 4s" in result.summary and "VERIFY.md:2" in result.summary
    log = Path(result.log_path).read_text()
    # pytest was interrupted, not killed: it printed what it had found so far
    assert "KeyboardInterrupt" in log, log
    assert "test_fails" in log and "assert 1 == 2" in log
    assert result.seconds < 15


def test_the_task_tier_records_which_tests_reach_which_functions(repo: Path) -> None:
    write(repo, PKG)
    verify = f"## step\n- `{PYTEST} {{affected_tests}}`\n## task\n- `{PYTEST}`\n"
    r = runner(repo, verify)
    (task,) = asyncio.run(r.run("task", ["pkg/core.py"]))
    assert task.status == "pass", task
    coverage = CoverageMap.load(repo)
    assert coverage.tests_for("pkg/core.py", "_helper") == ["tests/test_behaviour.py::test_run"]
    assert coverage.knows("pkg/core.py", "unused") and not coverage.tests_for(
        "pkg/core.py", "unused"
    )
    # the package __init__ cut hid test_behaviour from the import graph; coverage finds it
    covered = step(r, ["pkg/core.py"], {"pkg/core.py": [(2, 2)]})
    assert covered.status == "pass", covered
    assert r.last_selection.reasons == {"tests/test_behaviour.py::test_run": "covered"}
    # a function the map knows and no test reaches is said so, even though tests ran
    known = step(r, ["pkg/core.py"], {"pkg/core.py": [(10, 10)]})
    assert known.status == "uncovered" and known.uncovered == ("pkg/core.py:unused",)
    # "auto" records again only when the map is missing or old; "always" every time
    stored = repo / ".tether" / "cache" / "coverage-map.json"
    os.utime(stored, (1_000_000, 1_000_000))
    asyncio.run(runner(repo, verify).run("task", ["pkg/core.py"]))
    assert stored.stat().st_mtime > 1_000_000  # a stale map is recorded again
    os.utime(stored, (time.time() - 60, time.time() - 60))
    before = stored.stat().st_mtime
    asyncio.run(runner(repo, verify).run("task", ["pkg/core.py"]))
    assert stored.stat().st_mtime == before
    asyncio.run(runner(repo, verify, record_coverage="always").run("task", ["pkg/core.py"]))
    assert stored.stat().st_mtime > before


def test_task_timeouts_follow_the_measured_suite(repo: Path) -> None:
    write(repo, {"tests/test_a.py": "def test_a():\n    pass\n"})
    r = runner(repo, f"## task\n- `{PYTEST}`\n")
    (spec,) = r.specs
    assert r.task_timeout_for(spec) == 900.0  # unknown: generous, not 120 s
    asyncio.run(r.run("task", []))
    learned = SuiteCosts.load(repo).longest_s(spec.command)
    assert learned is not None and learned > 0
    r = runner(repo, f"## task\n- `{PYTEST}`\n")
    assert r.task_timeout_for(spec) == max(120.0, 2 * learned + 60)
    # the step budget shrinks to a share of the measured suite (here: to its floor)
    assert runner(repo, "## step\n- `x`\n").step_budget() == 10.0
    assert r.step_budget() == 2.0
    assert runner(repo, "## task\n- `x`\n", task_timeout_s=33.0).task_timeout_for(spec) == 33.0
    # a gate that is not pytest learns its duration too (make test, npm test ...)
    other = runner(repo, "## task\n- `sleep 0.2`\n")
    asyncio.run(other.run("task", []))
    seen = SuiteCosts.load(repo).longest_s("sleep 0.2")
    assert seen is not None and seen >= 0.2
    assert other.task_timeout_for(other.specs[0]) == max(120.0, 2 * seen + 60)


def test_several_failures_all_reach_the_model(repo: Path) -> None:
    long_diff = "    assert list(range(40)) == list(range(1, 41))\n"
    bodies = {name: f"    assert {n} == -{n}\n" for n, name in enumerate("abcd", start=1)}
    bodies["a"] = long_diff
    tests = "".join(f"def test_{name}():\n{body}\n\n" for name, body in bodies.items())
    write(repo, {"tests/test_many.py": tests})
    r = runner(repo, f"## task\n- `{PYTEST} --maxfail=3 tests`\n")
    (result,) = asyncio.run(r.run("task", []))
    assert result.status == "fail"
    # the first failure's long assertion diff does not crowd out the second and third
    for name, line in (("b", "assert 2 == -2"), ("c", "assert 3 == -3")):
        assert f"test_{name}" in result.details and line in result.details, result.details
    assert "test_d" not in result.details
