"""Gates under the sandbox import the project as the developer's shell would: an
editable install in a virtual environment under /tmp (hidden by the sandbox) still
imports, and a variant's gates import the variant's code, not the main checkout's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import git, run_tether
from tests.helpers import model_env, tool
from tether.testing.server import ScriptedServer
from tether.variants.store import list_runs


@pytest.fixture
def installed(repo: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A src-layout package, editable-installed into its own venv under /tmp."""
    (repo / "src" / "pkg").mkdir(parents=True)
    (repo / "src" / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (repo / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "pkg"\nversion = "0"\n[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    )
    (repo / "VERIFY.md").write_text(
        '## task\n\n- `python -c "import pkg; assert pkg.VALUE == 2, pkg.__file__"`\n'
    )
    (repo / ".gitignore").write_text("*.egg-info/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pkg")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # what an editable install leaves (setuptools' path-based mode): a .pth file in the
    # venv naming the checkout's src folder
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "__editable__.pkg-0.pth").write_text(f"{repo / 'src'}\n")
    path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    return repo, {"PATH": path, "VIRTUAL_ENV": str(venv)}


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_variant_gates_import_the_variants_own_code(
    installed: tuple[Path, dict[str, str]],
    scripted: Callable[..., ScriptedServer],
    sandbox: str,
) -> None:
    if sandbox == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (make test installs it)")
    repo, env = installed
    (repo / "tether.toml").write_text(f'[guard]\nsandbox = "{sandbox}"\n')
    edit = tool("edit_file", path="src/pkg/__init__.py", search="VALUE = 1", replace="VALUE = 2")
    server = scripted({"default": [edit, tool("done", summary="two")]})
    done = run_tether(
        "variants", "Make VALUE 2", "-n", "2", cwd=repo, env={**model_env(server), **env}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run = list_runs(repo)[-1]
    assert [v.status for v in run.variants] == ["done", "done"], [v.reason for v in run.variants]
    assert (repo / "src" / "pkg" / "__init__.py").read_text() == "VALUE = 1\n", "main untouched"
