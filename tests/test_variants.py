"""Variants end to end: six scripted attempts in parallel worktrees, gated, scored, shown
in a gallery, one picked -- and the gallery in a real headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_tether
from tests.helpers import git_out, model_env, tool
from tether.testing.server import ScriptedServer
from tether.variants.store import list_runs

PYTEST = "python -m pytest -q -p no:cacheprovider"
GOOD = "def mul(a, b):\n    return a * b\n"


def edit(replace: str) -> dict[str, Any]:
    return tool("edit_file", path="calc.py", search="# more\n", replace=replace + "\n\n# more\n")


def briefed(turns_by_style: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Turn i: a `cases` turn choosing by the variant brief."""
    length = max(len(t) for t in turns_by_style.values()) + 3  # done, done, done
    out = []
    for i in range(length):
        cases = [
            {"when": f"Variant brief: {style}", **turns[min(i, len(turns) - 1)]}
            for style, turns in turns_by_style.items()
        ]
        out.append({"cases": cases})
    return out


TURNS = {  # per variant brief: what its model does
    "s1": [edit(GOOD), tool("done", summary="mul")],
    "s2": [
        edit(GOOD + "\n\n# multiplies two numbers\n# (the long way)"),
        tool("done", summary="m"),
    ],
    "s3": [
        tool("run", command="echo sneaky >> README.md"),
        edit(GOOD),
        tool("done", summary="m"),
    ],
    "s4": [edit("def mul(a, b):\n    return a + b"), tool("done", summary="wrong")],
    "s5": [
        edit("def mul(a, b):\n    result = a * b\n    return result"),
        tool("done", summary="m"),
    ],
    "s6": [edit(GOOD), tool("done", summary="mul")],
}
SCRIPT = {"default": briefed(TURNS)}


def run_six(repo: Path, scripted: Callable[..., ScriptedServer]) -> tuple[ScriptedServer, Any]:
    server = scripted(SCRIPT)
    result = run_tether(
        "variants",
        "Add mul(a, b) to calc.py",
        "-n",
        "6",
        "--scope",
        "calc.py",
        "--styles",
        "s1,s2,s3,s4,s5,s6",
        cwd=repo,
        env=model_env(server),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = list_runs(repo)
    return server, run


def test_six_variants_are_gated_scored_and_one_is_picked(
    calc: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    server, run = run_six(calc, scripted)
    by_style = {v.style: v for v in run.variants}
    passing = {s for s, v in by_style.items() if v.metrics["gates"] == 1}
    assert passing == {"s1", "s2", "s3", "s5", "s6"}
    assert by_style["s4"].status == "failed" and "task gates failed" in by_style["s4"].reason
    assert by_style["s3"].violations >= 1, "the out-of-scope write was caught"
    assert "README.md" not in by_style["s3"].diff, "and rolled back"
    assert by_style["s1"].score > by_style["s2"].score > by_style["s4"].score
    assert all(
        (Path(v.worktree) / "notes.txt").read_text() == "my uncommitted notes\n"
        for v in run.variants
    ), "worktrees start from the user's uncommitted work"
    prompts = [
        json.dumps(r["body"]["messages"][:2])
        for r in server.requests
        if len(r["body"]["messages"]) <= 3
    ]
    assert len(set(prompts)) == 1, "all variants share one byte-identical prefix"
    gallery = calc / ".tether" / "runs" / run.id / "index.html"
    assert gallery.read_text().count('class="card') == 6
    head = git_out(calc, "rev-parse", "HEAD").strip()
    picked = run_tether("pick", run.id[:12], str(by_style["s1"].k), cwd=calc)
    assert picked.returncode == 0, picked.stdout + picked.stderr
    assert git_out(calc, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert git_out(calc, "show", "--name-only", "--format=", "HEAD").split() == ["calc.py"]
    assert "def mul(a, b):\n    return a * b" in (calc / "calc.py").read_text()
    assert (calc / "notes.txt").read_text() == "my uncommitted notes\n"
    assert not (calc / ".tether" / "worktrees" / run.id).exists()
    assert "worktree" not in git_out(calc, "worktree", "list").split("\n", 1)[-1]


def test_pick_hunks_and_errors(calc: Path, scripted: Callable[..., ScriptedServer]) -> None:
    _, run = run_six(calc, scripted)
    k = next(v.k for v in run.variants if v.style == "s5")
    bad = run_tether("pick", run.id, str(k), "--hunks", "7", cwd=calc)
    assert bad.returncode == 2 and "has hunks 1..1" in bad.stderr
    missing = run_tether("pick", "nope", "1", cwd=calc)
    assert missing.returncode == 2 and "no variants run" in missing.stderr
    wrong = next(v.k for v in run.variants if v.style == "s4")
    failed = run_tether("pick", run.id, str(wrong), "--keep", cwd=calc)
    assert failed.returncode == 1 and "not committed" in failed.stdout
    listed = run_tether("runs", cwd=calc)
    assert run.id in listed.stdout


def require_browser() -> None:
    from tests.test_browser_gate import require_browser as require

    require()


def test_gallery_in_chromium_offline_sortable_and_pickable(
    calc: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    from tether.gates.browser import CHROMIUM_ARGS, find_chromium

    _, run = run_six(calc, scripted)
    gallery = calc / ".tether" / "runs" / run.id / "index.html"
    requests: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(gallery.as_uri())
        cards = page.locator("article.card")
        assert cards.count() == 6
        scores = [float(s) for s in cards.evaluate_all("cs => cs.map(c => c.dataset.score)")]
        assert scores == sorted(scores, reverse=True), "sorted by score"
        page.get_by_role("button", name="variant", exact=True).click()
        ks = [int(k) for k in cards.evaluate_all("cs => cs.map(c => c.dataset.k)")]
        assert ks == sorted(ks)
        assert not page.locator("button.pick").first.is_visible(), "no Pick from file://"
        assert all(u.startswith(("file:", "data:")) for u in requests), requests
        with _serve(calc) as url:
            k = next(v.k for v in run.variants if v.style == "s6")
            page.goto(f"{url}runs/{run.id}/")
            page.locator(f'article[data-k="{k}"] button.pick').first.click()
            page.wait_for_function(
                "document.getElementById('msg').textContent.startsWith('picked')", timeout=60_000
            )
        browser.close()
    assert git_out(calc, "log", "-1", "--format=%s").startswith("tether: Add mul(a, b)")
    assert f"variant {k} of run {run.id}" in git_out(calc, "log", "-1", "--format=%s")


class _serve:
    def __init__(self, repo: Path):
        self.repo = repo

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tether", "serve", "--port", "0"],
            cwd=self.repo,
            text=True,
            stdout=subprocess.PIPE,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert self.proc.stdout is not None
        url = self.proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        time.sleep(0.2)
        return url

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()


def test_serve_refuses_a_pick_from_another_site_or_without_the_token(
    calc: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    import urllib.error
    import urllib.request

    _, run = run_six(calc, scripted)
    head = git_out(calc, "rev-parse", "HEAD")
    with _serve(calc) as url:
        page = urllib.request.urlopen(f"{url}runs/{run.id}/").read().decode()
        token = page.split('name="tether-token" content="', 1)[1].split('"', 1)[0]
        body = json.dumps({"run": run.id, "k": 1}).encode()
        port = url.rstrip("/").rsplit(":", 1)[1]
        attempts = {
            "no token": {},
            "wrong token": {"X-Tether-Token": "guess"},
            "cross-site": {"X-Tether-Token": token, "Origin": "http://evil.example"},
            "rebound host": {"X-Tether-Token": token, "Host": f"evil.example:{port}"},
        }
        for name, headers in attempts.items():
            request = urllib.request.Request(
                f"{url}api/pick",
                data=body,
                headers={"Content-Type": "application/json", **headers},
                method="POST",
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request)
            assert refused.value.code == 403, name
    assert git_out(calc, "rev-parse", "HEAD") == head, "nothing was picked"


def test_a_failing_reviewer_marks_the_variant_not_the_run(
    calc: Path, scripted: Callable[..., ScriptedServer]
) -> None:
    script = {
        "default": [edit(GOOD), tool("done", summary="mul")],
        "models": {"rev": [{"content": "I will not use the tool."}] * 4},
    }
    server = scripted(script)
    env = {**model_env(server), **model_env(server, role="reviewer", model="rev")}
    result = run_tether(
        "variants", "Add mul(a, b)", "-n", "2", "--review", cwd=calc, env=env, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    (run,) = list_runs(calc)
    assert all("review failed" in v.reason for v in run.variants), [v.reason for v in run.variants]
    assert all(v.metrics.get("gates") == 1 for v in run.variants)
