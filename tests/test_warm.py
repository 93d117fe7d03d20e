"""The resident process (`tether warm`): commands handed to it run as they would cold —
the client's folder, environment, streams, exit code and signals — and it steps aside
when it cannot stand in (changed code, an unsafe folder, stopped)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TETHER, run_tether
from tests.helpers import git_out, model_env, processes_with, tool
from tether.testing.server import ScriptedServer

EDIT = {
    "default": [
        tool("edit_file", path="README.md", search="# sample", replace="# warm sample"),
        tool("done", summary="the title says warm"),
    ]
}


@pytest.fixture
def warm_env() -> Iterator[dict[str, str]]:
    """A socket folder of this test's own (short: a socket path has 108 bytes), and the
    warm process in it stopped afterwards."""
    folder = tempfile.mkdtemp(prefix="tw")
    env = {"TETHER_WARM": "on", "TETHER_WARM_DIR": folder}
    yield env
    run_tether("warm", "--stop", cwd=Path(folder), env=env)
    deadline = time.monotonic() + 10
    while list(Path(folder).glob("*.sock")) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in processes_with(folder):
        os.kill(pid, signal.SIGKILL)


def _start(env: dict[str, str], cwd: Path) -> None:
    started = run_tether("warm", cwd=cwd, env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "warm tether: pid" in started.stdout


def _status(env: dict[str, str], cwd: Path) -> str:
    return run_tether("warm", "--status", cwd=cwd, env=env).stdout


def _served(env: dict[str, str], cwd: Path) -> int:
    text = _status(env, cwd)
    assert "commands served" in text, text
    return int(text.split(" commands served")[0].rsplit(" ", 1)[1])


def test_a_task_handed_to_the_warm_process_runs_in_the_clients_folder_and_environment(
    repo: Path, scripted: Callable[..., ScriptedServer], warm_env: dict[str, str]
) -> None:
    _start(warm_env, repo)  # started without the model's settings
    server = scripted(EDIT)
    result = run_tether("do", "Say warm", "--scope", "README.md", cwd=repo,
                        env={**warm_env, **model_env(server)})  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "done" in result.stdout.splitlines()[-1]  # its stdout is the client's pipe
    assert (repo / "README.md").read_text() == "# warm sample\n"
    assert len(server.requests) == 2
    assert _served(warm_env, repo) == 1
    assert re.search(r"modules loaded, \d+ MB resident", _status(warm_env, repo))
    assert "running now: none" in _status(warm_env, repo)


def test_a_user_mistake_keeps_its_message_and_exit_code(
    tmp_path: Path, warm_env: dict[str, str]
) -> None:
    _start(warm_env, tmp_path)
    cold = run_tether("status", cwd=tmp_path, env={"TETHER_WARM": "off"})
    warm = run_tether("status", cwd=tmp_path, env=warm_env)
    assert _served(warm_env, tmp_path) == 1
    said = (warm.returncode, warm.stdout, warm.stderr)
    assert said == (cold.returncode, cold.stdout, cold.stderr)
    assert warm.returncode == 2 and "not inside a git repository" in warm.stderr


@pytest.mark.parametrize("mode", ["off", "on"])
def test_ctrl_c_reaches_the_task_as_it_does_cold(
    repo: Path, scripted: Callable[..., ScriptedServer], warm_env: dict[str, str], mode: str
) -> None:
    marker = f"warm-ctrl-c-{mode}-{os.getpid()}"
    script = {"default": [tool("run", command=f"sleep 60 # {marker}"), tool("done", summary="x")]}
    server = scripted(script)
    if mode == "on":
        _start(warm_env, repo)
    proc = _popen(["do", "Wait", "--scope", "README.md"], repo,
                  {**warm_env, "TETHER_WARM": mode, **model_env(server)})  # fmt: skip
    _wait_for(lambda: processes_with(marker), "the command started")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    _wait_for(lambda: not processes_with(marker), "the command was stopped")
    assert git_out(repo, "status", "--porcelain") == ""
    if mode == "on":
        assert _served(warm_env, repo) == 1


def test_ctrl_c_typed_at_a_terminal_reaches_the_warm_task(
    repo: Path, scripted: Callable[..., ScriptedServer], warm_env: dict[str, str]
) -> None:
    """A real pseudo-terminal: the terminal sends SIGINT to its foreground group (the
    client), which hands it on; the child writes to the terminal itself (Rich sees one)."""
    import pexpect

    marker = f"warm-pty-{os.getpid()}"
    script = {"default": [tool("run", command=f"sleep 60 # {marker}"), tool("done", summary="x")]}
    server = scripted(script)
    _start(warm_env, repo)
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    env = {**os.environ, **warm_env, **model_env(server), "TERM": "xterm-256color", "PATH": path}
    child = pexpect.spawn(sys.executable, ["-m", "tether", "do", "Wait", "--scope", "README.md"],
                          cwd=str(repo), env=env, encoding="utf-8", timeout=60)  # fmt: skip
    child.expect(r"\x1b\[")  # styled output: the child's stdout is the terminal
    _wait_for(lambda: processes_with(marker), "the command started")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, child.before
    assert "Traceback" not in str(child.before)
    _wait_for(lambda: not processes_with(marker), "the command was stopped")
    assert _served(warm_env, repo) == 1


def test_a_client_killed_outright_takes_its_task_with_it(
    repo: Path, scripted: Callable[..., ScriptedServer], warm_env: dict[str, str]
) -> None:
    proc, child, marker = _waiting_task(repo, scripted, warm_env, "killed")
    proc.kill()
    proc.communicate(timeout=10)
    _wait_for(lambda: not Path(f"/proc/{child}").exists(), "the warm child was killed")
    _wait_for(lambda: not processes_with(marker), "its command was stopped")
    assert "running now: none" in _status(warm_env, repo)


def test_ctrl_z_stops_the_task_with_its_client_and_fg_resumes_both(
    repo: Path, scripted: Callable[..., ScriptedServer], warm_env: dict[str, str]
) -> None:
    proc, child, _ = _waiting_task(repo, scripted, warm_env, "ctrl-z")
    proc.send_signal(signal.SIGTSTP)
    _wait_for(lambda: _state(proc.pid) == "T" and _state(child) == "T", "both stopped")
    proc.send_signal(signal.SIGCONT)
    _wait_for(lambda: _state(proc.pid) != "T" and _state(child) != "T", "both resumed")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err


def _state(pid: int) -> str:
    """The process's state letter (T: stopped) from /proc."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_changed_code_is_run_cold_and_the_warm_process_reloads(
    repo: Path, tmp_path: Path, warm_env: dict[str, str]
) -> None:
    extra = tmp_path / "extra"  # an import folder: installing a package changes it
    extra.mkdir()
    env = {**warm_env, "PYTHONPATH": str(extra)}
    _start(env, repo)
    first = _status(env, repo).split(",")[0]
    assert run_tether("checkpoints", cwd=repo, env=env).returncode == 0
    assert _served(env, repo) == 1
    (extra / "newly_installed.py").write_text("")
    again = run_tether("checkpoints", cwd=repo, env=env)
    assert again.returncode == 0, again.stderr  # refused, so it ran cold
    _wait_for(lambda: "0 commands served" in _status(env, repo), "a fresh process answers")
    assert _status(env, repo).split(",")[0] == first  # the same pid, re-executed
    assert run_tether("checkpoints", cwd=repo, env=env).returncode == 0
    assert _served(env, repo) == 1


def test_the_task_has_its_clients_limits_and_niceness(
    repo: Path, scripted: Callable[..., ScriptedServer], warm_env: dict[str, str]
) -> None:
    probe = "echo nofile=$(ulimit -n) nice=$(nice)"
    server = scripted({"default": [tool("run", command=probe), *EDIT["default"]]})
    _start(warm_env, repo)
    inner = " ".join([*TETHER, "do", "Probe", "--scope", "README.md"])
    shell = ["nice", "-n", "3", "sh", "-c", f"ulimit -n 400 && exec {inner}"]
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    env = {**os.environ, "PATH": path, **warm_env, **model_env(server)}
    done = subprocess.run(shell, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _served(warm_env, repo) == 1
    told = json.dumps(server.requests[1]["body"]["messages"][-1])
    assert "nofile=400 nice=3" in told, told


def test_a_client_with_limits_above_the_servers_runs_cold(
    repo: Path, warm_env: dict[str, str]
) -> None:
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    env = {**os.environ, "PATH": path, **warm_env}
    low = f"ulimit -n 256 && exec {' '.join([*TETHER, 'warm'])}"
    subprocess.run(["sh", "-c", low], cwd=repo, env=env, check=True, capture_output=True)
    cold = run_tether("checkpoints", cwd=repo, env=warm_env)
    assert cold.returncode == 0, cold.stderr
    assert _served(warm_env, repo) == 0
    said = _status(warm_env, repo)
    assert "last ran a command cold" in said and "RLIMIT_NOFILE is above" in said, said


def test_auto_starts_one_after_a_cold_command_and_only_one(
    repo: Path, warm_env: dict[str, str]
) -> None:
    auto = {**warm_env, "TETHER_WARM": "auto"}
    together = [_popen(["checkpoints"], repo, auto) for _ in range(3)]  # all find none
    for proc in together:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
    _wait_for(lambda: "commands served" in _status(auto, repo), "one was started")
    assert _served(auto, repo) == 0  # those three ran cold
    assert run_tether("checkpoints", cwd=repo, env=auto).returncode == 0
    assert _served(auto, repo) == 1
    folder = warm_env["TETHER_WARM_DIR"]
    _wait_for(lambda: len(processes_with(folder)) == 1, "the other starters gave way")


def test_another_interpreter_path_is_not_served(repo: Path, warm_env: dict[str, str]) -> None:
    _start(warm_env, repo)
    other = run_tether("checkpoints", cwd=repo, env={**warm_env, "PYTHONPATH": str(repo)})
    assert other.returncode == 0, other.stderr
    assert _served(warm_env, repo) == 0


def test_a_folder_others_can_enter_holds_no_socket(tmp_path: Path, repo: Path) -> None:
    folder = tmp_path / "open"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    env = {"TETHER_WARM": "on", "TETHER_WARM_DIR": str(folder)}
    refused = run_tether("warm", cwd=repo, env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "others may use it (mode 755)" in refused.stderr
    assert "chmod 700" in refused.stderr and "Traceback" not in refused.stderr
    assert list(folder.iterdir()) == []
    assert run_tether("checkpoints", cwd=repo, env=env).returncode == 0  # cold


def test_stop_ends_it_and_commands_run_cold(repo: Path, warm_env: dict[str, str]) -> None:
    _start(warm_env, repo)
    again = run_tether("warm", cwd=repo, env=warm_env)
    assert "Already warm." in again.stdout
    stopped = run_tether("warm", "--stop", cwd=repo, env=warm_env)
    assert "Stopped 1 warm tether(s)" in stopped.stdout, stopped.stdout
    folder = Path(warm_env["TETHER_WARM_DIR"])
    _wait_for(lambda: not list(folder.glob("*.sock")), "the socket is gone")
    status = run_tether("warm", "--status", cwd=repo, env=warm_env)
    assert status.returncode == 1 and "No warm tether" in status.stdout
    assert run_tether("checkpoints", cwd=repo, env=warm_env).returncode == 0


def _waiting_task(
    repo: Path, scripted: Callable[..., ScriptedServer], warm_env: dict[str, str], name: str
) -> tuple[subprocess.Popen[str], int, str]:
    """A warm `tether do` whose model runs `sleep 60`: its client, the warm child's pid
    and the command's marker, once the command runs."""
    marker = f"warm-{name}-{os.getpid()}"
    server = scripted({"default": [tool("run", command=f"sleep 60 # {marker}")]})
    _start(warm_env, repo)
    proc = _popen(["do", "Wait", "--scope", "README.md"], repo, {**warm_env, **model_env(server)})
    _wait_for(lambda: processes_with(marker), "the command started")
    child = int(_status(warm_env, repo).split("running now: ")[1].split()[0])
    return proc, child, marker


def _popen(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    full = {**os.environ, "PATH": path, "NO_COLOR": "1", **env}
    return subprocess.Popen([*TETHER, *args], cwd=cwd, env=full, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.05)


def test_a_child_the_server_could_not_record_never_runs(
    tmp_path: Path, warm_env: dict[str, str]
) -> None:
    """If anything fails between the fork and the client hearing the pid, the client
    runs the command cold; the forked child must then not run it too. The server here
    fails its first pid reply, two seconds after the fork."""
    fail_once = (
        "send, failed = w._send, []\n"
        "def flaky(conn, answer):\n"
        "    if set(answer) == {'pid'} and not failed:  # a command's pid, not a status\n"
        "        failed.append(1); time.sleep(2); raise OSError(32, 'Broken pipe')\n"
        "    send(conn, answer)\n"
        "w._send = flaky\n"
    )
    with _patched_server(warm_env, tmp_path, fail_once):
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        made = run_tether("init", cwd=tmp_path, env=warm_env)
        assert made.returncode == 0, made.stderr
        # the cold run found nothing there: the child the server forked did not run
        assert made.stdout.startswith("wrote tether.toml, VERIFY.md, AGENTS.md"), made.stdout
        assert _served(warm_env, tmp_path) == 0
        assert "running now: none" in _status(warm_env, tmp_path)


def test_ctrl_c_while_the_server_refuses_stops_the_command_instead_of_running_it_cold(
    tmp_path: Path, warm_env: dict[str, str]
) -> None:
    """A Ctrl-C that comes before the client has a child to hand it to is kept; when the
    server then refuses, it stops the command, as it would have cold. --status says why
    the last command did not run warm."""
    asked = tmp_path / "asked"
    slow_refusal = (
        "def slow(self, request, fds):\n"
        f"    open({str(asked)!r}, 'w').close(); time.sleep(2); return 'busy (the test)'\n"
        "w.Server._refusal = slow\n"
    )
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    with _patched_server(warm_env, tmp_path, slow_refusal):
        proc = _popen(["init"], repo, warm_env)
        _wait_for(asked.exists, "the server has the request")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, out + err
        assert "Traceback" not in err, err
        assert [p.name for p in repo.iterdir()] == [".git"]  # `tether init` never ran
        assert "ago: busy (the test)" in _status(warm_env, tmp_path)


@contextmanager
def _patched_server(warm_env: dict[str, str], cwd: Path, patch: str) -> Iterator[None]:
    """A warm server whose module ``w`` (``warm_server``) the test changed first."""
    code = "import time, tether.cli.warm_server as w\n" + patch + "w.main()\n"
    folder = warm_env["TETHER_WARM_DIR"]
    env = {**os.environ, **warm_env}
    server = subprocess.Popen([sys.executable, "-c", code, folder, "600"], env=env,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        _wait_for(lambda: "commands served" in _status(warm_env, cwd), "it answers")
        yield
    finally:
        server.terminate()  # SIGTERM: it stops as `tether warm --stop` would
        server.wait(timeout=30)
