"""Variants on a real Ray cluster: a head started on 127.0.0.1 with `ray start --head`
(two CPUs, no dashboard), the scripted model server over real HTTP, tether's CLI in a
subprocess. The results, gallery and pick are those of the local path; a worker killed
mid-variant fails that variant alone. The head's processes are stopped by PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_tether
from tests.helpers import git_out, model_env, tool
from tests.test_variants import TURNS, briefed
from tether.testing.server import ScriptedServer
from tether.variants.store import RunRecord, list_runs

RAY = Path(sys.executable).with_name("ray")
STYLES = "s1,s2,s3,s4"
SLOW = "sleep 61"  # the command the killed variant is running
SCRIPT = {
    "default": briefed(
        {
            **{style: TURNS[style] for style in STYLES.split(",")},
            "slow": [tool("run", command=SLOW, timeout_s=120), tool("done", summary="x")],
        }
    )
}
# the environment of the head, and so of its workers: loopback only (Ray otherwise binds
# the machine's address), no usage report, and tether's test guard on model URLs
RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "TETHER_LOOPBACK_ONLY": "1",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _head_processes(temp: str) -> list[int]:
    """The head's processes (their command lines name its temp dir) and descendants."""
    parents: dict[int, int] = {}
    mine: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            )
        except (OSError, ValueError, IndexError):
            continue
        if temp.encode() in cmdline:
            mine.add(int(entry.name))
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in mine} - mine
        grew, mine = bool(more), mine | more
    return sorted(mine)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _stop(temp: str) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _head_processes(temp):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while _head_processes(temp) and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    if not RAY.exists():
        pytest.fail(f"{RAY} is missing: `make test` installs Ray with the dev extra")
    temp = tempfile.mkdtemp(prefix="tr-", dir="/tmp")  # Ray's socket paths must be short
    port, client = _free_port(), _free_port()
    started = subprocess.run(
        [
            str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
            f"--ray-client-server-port={client}", "--num-cpus=2", "--include-dashboard=false",
            "--disable-usage-stats", f"--temp-dir={temp}",
        ],
        env={**os.environ, **RAY_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield f"127.0.0.1:{port}|ray://127.0.0.1:{client}"
    finally:
        _stop(temp)
        assert not _head_processes(temp), "the head's processes are gone"


def _variants(repo: Path, server: ScriptedServer, styles: str, *extra: str) -> RunRecord:
    count = str(len(styles.split(",")))
    result = run_tether(
        "variants", "Add mul(a, b) to calc.py", "-n", count, "--scope", "calc.py",
        "--styles", styles, *extra,
        cwd=repo, env={**model_env(server), **RAY_ENV}, timeout=400,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "(raylet)" not in result.stdout + result.stderr, "Ray's messages go to the log"
    if "--cluster" in extra:
        assert "to the Ray cluster at" in result.stdout
        steps = [line for line in result.stdout.splitlines() if line.startswith("[")]
        assert steps, "the workers' steps were shown as they came back"
    runs = list_runs(repo)
    return runs[-1]


def _outcome(run: RunRecord) -> dict[str, Any]:
    return {
        v.style: (v.status, v.metrics.get("gates"), v.diff, v.score, v.violations >= 1)
        for v in run.variants
    }


@pytest.mark.slow
def test_four_variants_on_ray_match_the_local_run(
    calc: Path, scripted: Callable[..., ScriptedServer], ray_head: str
) -> None:
    local = _variants(calc, scripted(SCRIPT), STYLES)
    address = ray_head.split("|")[1]  # through Ray Client, as a laptop reaches a cluster
    server = scripted(SCRIPT)
    remote = _variants(calc, server, STYLES, "--cluster", address)
    assert _outcome(remote) == _outcome(local)
    assert _outcome(remote)["s1"][:2] == ("done", 1) and _outcome(remote)["s4"][0] == "failed"
    for v in remote.variants:
        tree = Path(v.worktree)
        assert tree.is_relative_to(calc / ".tether" / "worktrees" / remote.id), v.worktree
        assert (tree / "notes.txt").read_text() == "my uncommitted notes\n"
        assert v.final_tree == git_out(tree, "rev-parse", "HEAD^{tree}").strip()
        ref = f"refs/tether/results/{remote.id}/{v.k}"
        assert git_out(calc, "rev-parse", ref).strip() == git_out(tree, "rev-parse", "HEAD").strip()
        events = calc / ".tether" / "runs" / remote.id / str(v.k) / "events.jsonl"
        assert '"type": "task_end"' in events.read_text()
        logs = [Path(g.log_path) for g in v.gates]
        assert logs and all(p.is_file() and p.is_relative_to(calc) for p in logs), v.gates
    firsts = [r for r in server.requests if len(r["body"]["messages"]) <= 3]
    assert len({str(r["body"]["messages"][:2]) for r in firsts}) == 1, "one shared prefix"
    gallery = calc / ".tether" / "runs" / remote.id / "index.html"
    assert gallery.read_text().count('class="card') == 4
    head = git_out(calc, "rev-parse", "HEAD").strip()
    k = next(v.k for v in remote.variants if v.style == "s1")
    picked = run_tether("pick", remote.id, str(k), cwd=calc)
    assert picked.returncode == 0, picked.stdout + picked.stderr
    assert git_out(calc, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert "def mul(a, b):\n    return a * b" in (calc / "calc.py").read_text()
    assert (calc / "notes.txt").read_text() == "my uncommitted notes\n"
    assert not (calc / ".tether" / "worktrees" / remote.id).exists()
    assert git_out(calc, "for-each-ref", f"refs/tether/results/{remote.id}/") == ""
    assert "README.md" not in git_out(calc, "status", "--porcelain")


def _kill_worker_running(command: str, stop: threading.Event, killed: list[int]) -> None:
    """When ``command`` runs, SIGKILL the Ray worker above it (``ray::...``)."""
    while not stop.is_set():
        for entry in Path("/proc").iterdir():
            try:
                if not entry.name.isdigit():
                    continue
                if (entry / "cmdline").read_bytes().replace(
                    b"\0", b" "
                ).strip() != command.encode():
                    continue
                pid = int(entry.name)
                while pid > 1:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if title.startswith(b"ray::"):
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
                    pid = _parent(pid)
            except (OSError, ValueError, IndexError):
                continue
        time.sleep(0.1)


@pytest.mark.slow
def test_a_killed_worker_fails_its_variant_and_the_others_finish(
    calc: Path, scripted: Callable[..., ScriptedServer], ray_head: str
) -> None:
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_worker_running, args=(SLOW, stop, killed))
    killer.start()
    try:
        run = _variants(calc, scripted(SCRIPT), "s1,slow,s2", "--cluster", ray_head.split("|")[0])
    finally:
        stop.set()
        killer.join()
    assert killed, "the slow variant's worker was found and killed"
    by_style = {v.style: v for v in run.variants}
    assert by_style["slow"].status == "failed"
    assert "worker running it died" in by_style["slow"].reason, by_style["slow"].reason
    assert by_style["s1"].status == "done" and by_style["s2"].status == "done"
    assert not (calc / ".tether" / "worktrees" / run.id / str(by_style["slow"].k)).exists()
    time.sleep(1)
    assert not any(
        (p / "cmdline").read_bytes().startswith(b"sleep\x0061")
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and (p / "cmdline").exists()
    ), "the killed variant's command did not outlive its worker"
    assert git_out(calc, "status", "--porcelain").split() == ["??", "notes.txt"]


@pytest.mark.slow
def test_ctrl_c_cancels_the_ray_tasks(
    calc: Path, scripted: Callable[..., ScriptedServer], ray_head: str
) -> None:
    server = scripted(SCRIPT)
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tether", "variants", "Add mul", "-n", "2", "--scope", "calc.py",
         "--styles", "slow,slow", "--cluster", ray_head.split("|")[0]],
        cwd=calc, env={**os.environ, **model_env(server), **RAY_ENV, "PATH": path},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not _running(SLOW) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(SLOW), "the variants' commands started on the cluster"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    deadline = time.monotonic() + 20
    while _running(SLOW) and time.monotonic() < deadline:
        time.sleep(0.2)
    shown = subprocess.run(["ps", "-eo", "pid,ppid,etimes,cmd"], capture_output=True, text=True)
    assert not _running(SLOW), "the cancelled variants' commands were stopped\n" + shown.stdout
    assert git_out(calc, "status", "--porcelain").split() == ["??", "notes.txt"]


def _running(command: str) -> bool:
    wanted = command.replace(" ", "\0").encode() + b"\0"
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == wanted:
                return True
    return False


def test_cluster_errors_are_plain(calc: Path, scripted: Callable[..., ScriptedServer]) -> None:
    env = {**model_env(scripted(SCRIPT)), **RAY_ENV, "RAY_ADDRESS": ""}
    auto = run_tether("variants", "x", "--cluster", "auto", cwd=calc, env=env)
    assert auto.returncode == 2 and "RAY_ADDRESS is not set" in auto.stderr, auto.stderr
    bad = run_tether("variants", "x", "--cluster", "my-cluster", cwd=calc, env=env)
    assert bad.returncode == 2 and "is not a Ray address" in bad.stderr, bad.stderr
    port = _free_port()  # nothing listens there
    gone = run_tether("variants", "x", "--cluster", f"ray://127.0.0.1:{port}", cwd=calc, env=env)
    assert gone.returncode == 2, gone.stdout + gone.stderr
    assert f"cannot reach the Ray cluster at ray://127.0.0.1:{port}" in gone.stderr
    assert "Traceback" not in gone.stderr + bad.stderr + auto.stderr
    assert git_out(calc, "worktree", "list").count("\n") == 1, "no worktree was made"
    assert list_runs(calc) == [], "nor a run"


@pytest.mark.slow
def test_certify_on_ray_records_the_pass_rate(
    repo: Path, scripted: Callable[..., ScriptedServer], ray_head: str
) -> None:
    from skills_ref import read_properties

    from tests.test_skills import MODULE, captured, fixing_billing

    folder = captured(repo, scripted)
    server = scripted(fixing_billing())
    result = run_tether(
        "skills", "certify", "fix-typo", "-n", "3", "--param", "module=billing.py",
        "--cluster", ray_head.split("|")[0],
        cwd=repo, env={**model_env(server), **RAY_ENV}, timeout=400,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "openai/exec: 3/3" in result.stdout
    assert read_properties(folder).metadata["tether-certified"].startswith("openai/exec 3/3 ")
    [line] = (folder / "references/certifications.jsonl").read_text().splitlines()
    run_id = json.loads(line)["run"]
    assert json.loads(line)["passed"] == 3
    for k in (1, 2, 3):
        assert (
            "task_end" in (repo / ".tether" / "runs" / run_id / str(k) / "events.jsonl").read_text()
        )
    assert (repo / "billing.py").read_text() == MODULE.format(name="billing")  # untouched
    assert git_out(repo, "worktree", "list").count("\n") == 1, "no worktree here"
