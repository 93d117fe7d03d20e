"""Incremental test selection is fast and safe: dependents are selected, others are not,
and what the step tier misses the task tier (the full suite) still catches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, run_tether
from tests.helpers import events, model_env, tool
from tether.gates.costs import SuiteCosts
from tether.gates.selection import select_tests
from tether.testing.server import ScriptedServer
from tether.vcs.files import repo_files

PKG = {
    "pkg/__init__.py": "from pkg.geometry import area\nfrom pkg.page import render\n"
    "from pkg.text import shout\nfrom pkg.util import clamp\n",
    "pkg/util.py": "def clamp(x, lo, hi):\n    return max(lo, min(hi, x))\n",
    "pkg/geometry.py": "from pkg.util import clamp\n\n\ndef area(w, h):\n"
    "    return clamp(w, 0, 100) * clamp(h, 0, 100)\n",
    "pkg/text.py": "def shout(s):\n    return s.upper() + '!'\n",
    "pkg/page.py": "from pkg.text import shout\n\n\ndef render(title):\n"
    "    return '<h1>' + shout(title) + '</h1>'\n",
    "tests/test_util.py": "from pkg.util import clamp\n\n\ndef test_clamp():\n"
    "    assert clamp(5, 0, 3) == 3\n",
    "tests/test_geometry.py": "from pkg.geometry import area\n\n\ndef test_area():\n"
    "    assert area(2, 3) == 6\n",
    "tests/test_text.py": "from pkg.text import shout\n\n\ndef test_shout():\n"
    "    assert shout('a') == 'A!'\n",
    "tests/test_api.py": "import pkg\n\n\ndef test_render():\n"
    "    assert pkg.render('hi there') == '<h1>HI THERE!</h1>'\n",
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
    "VERIFY.md": "## step\n- `pytest -q -p no:cacheprovider {affected_tests}`\n"
    "## task\n- `pytest -q -p no:cacheprovider`\n",
}


def make_pkg(repo: Path) -> Path:
    for rel, text in PKG.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pkg")
    return repo


def selected(repo: Path, changed: str, **kw: object) -> list[str]:
    return select_tests(repo, repo_files(repo), [changed], **kw).files  # type: ignore[arg-type]


def test_a_leaf_module_selects_only_its_tests(repo: Path) -> None:
    make_pkg(repo)
    assert selected(repo, "pkg/text.py", line_ranges={"pkg/text.py": [(2, 2)]}) == [
        "tests/test_text.py"
    ]


def test_a_shared_module_selects_its_dependents_not_the_rest(repo: Path) -> None:
    make_pkg(repo)
    chosen = selected(repo, "pkg/util.py")
    assert "tests/test_util.py" in chosen and "tests/test_geometry.py" in chosen
    assert "tests/test_text.py" not in chosen
    # test_api imports only the package __init__, which re-exports everything: cut there
    assert "tests/test_api.py" not in chosen


def test_the_time_budget_keeps_the_nearest_tests(repo: Path) -> None:
    make_pkg(repo)
    costs = SuiteCosts(repo / "costs.json", tests={"tests/test_other.py::test_x": 1.0})
    chosen = selected(repo, "pkg/util.py", budget_s=0.0, costs=costs)
    assert chosen == ["tests/test_util.py"]


def test_non_python_changes_select_nothing(repo: Path) -> None:
    make_pkg(repo)
    assert selected(repo, "VERIFY.md") == []


def test_task_tier_catches_what_the_step_tier_missed(
    repo: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    make_pkg(repo)
    buggy = "    return s.split()[0].upper() + '!'"
    script = {
        "default": [
            tool(
                "edit_file", path="pkg/text.py", search="    return s.upper() + '!'", replace=buggy
            ),
            tool("done", summary="simplified shout"),
            tool(
                "edit_file",
                path="pkg/text.py",
                search=buggy,
                replace="    return (s.upper()) + '!'",
            ),
            tool("done", summary="restored shout"),
        ]
    }
    server = scripted(script)
    result = run_tether(
        "do", "Simplify shout()", "--scope", "pkg/**", cwd=repo, env=model_env(server)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    gates = [e for e in events(repo) if e["type"] == "gate"]
    first_step = next(g for g in gates if g["tier"] == "step")
    assert first_step["status"] == "pass"
    assert "test_text.py" in first_step["summary"] and "test_api" not in first_step["summary"]
    task = [g["status"] for g in gates if g["tier"] == "task"]
    assert task == ["fail", "pass"]
    assert "test_api.py::test_render" in server.requests[2]["body"]["messages"][-1]["content"]
