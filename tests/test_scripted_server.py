"""The scripted model server: script semantics, logging, the CLI, speed and caching."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TETHER, run_tether
from tether.errors import UsageError
from tether.testing.faults import FaultPlan, common_prefix
from tether.testing.script import Script, load_script
from tether.testing.server import ScriptedServer


def post(server: ScriptedServer, body: dict[str, Any], path: str = "/v1/chat/completions") -> Any:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def chat(*messages: tuple[str, str], model: str = "m") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": r, "content": c} for r, c in messages]}


def text_of(answer: Any) -> str:
    return str(answer["choices"][0]["message"]["content"])


def test_turn_index_is_the_number_of_assistant_messages(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted({"default": [{"content": "zero"}, {"content": "one"}]})
    assert text_of(post(server, chat(("user", "hi")))) == "zero"
    assert (
        text_of(post(server, chat(("user", "hi"), ("assistant", "zero"), ("user", "go")))) == "one"
    )
    past = text_of(post(server, chat(("user", "a"), ("assistant", "b"), ("assistant", "c"))))
    assert "no turn 2" in past


def test_cases_and_per_model_scripts(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(
        {
            "default": [{"cases": [{"when": "bold", "content": "BOLD"}, {"content": "plain"}]}],
            "models": {"planner-x": [{"content": "plan"}]},
        }
    )
    assert text_of(post(server, chat(("system", "be bold"), ("user", "x")))) == "BOLD"
    assert text_of(post(server, chat(("user", "x")))) == "plain"
    assert text_of(post(server, chat(("user", "x"), model="planner-x"))) == "plan"


def test_parallel_conversations_follow_the_script_independently(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(
        {"default": [{"cases": [{"when": f"v{k}", "content": f"answer {k}"} for k in range(8)]}]},
        tps=4000,
        ttft_ms=5,
    )
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda k: text_of(post(server, chat(("user", f"v{k}")))), range(8)))
    assert answers == [f"answer {k}" for k in range(8)]


def test_max_tokens_cuts_the_reply(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"default": [{"content": "y" * 100}]})
    answer = post(server, {**chat(("user", "x")), "max_tokens": 5})
    assert text_of(answer) == "y" * 20
    assert answer["choices"][0]["finish_reason"] == "length"


def test_models_endpoint_and_request_log(
    scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    log = tmp_path / "requests.jsonl"
    server = scripted({"models": {"a": [], "b": []}}, log_path=log)
    with urllib.request.urlopen(server.url + "/v1/models", timeout=5) as response:
        listed = json.loads(response.read())
    assert [m["id"] for m in listed["data"]] == ["a", "b"]
    post(server, chat(("user", "logged")))
    (line,) = log.read_text().splitlines()
    assert json.loads(line)["messages"][0]["content"] == "logged"


def test_anthropic_route_and_unknown_route(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted({"default": [{"content": "hi"}]})
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}
    answer = post(server, body, "/v1/messages")
    assert answer["type"] == "message" and answer["content"][0]["text"] == "hi"
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(server, body, "/v1/nowhere")
    assert caught.value.code == 404


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([], "must be a JSON object"),
        ({"defaults": []}, "unknown key"),
        ({"default": [{"content": 3}]}, "'content' must be a string"),
        ({"default": [{"tool_calls": [{"arguments": {}}]}]}, "needs a 'name'"),
        ({"default": [{"cases": []}]}, "non-empty list"),
    ],
)
def test_bad_scripts_are_explained(data: Any, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        Script.from_data(data, "s.json")
    assert words in caught.value.render() and "s.json" in caught.value.render()


def test_bad_script_json_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{\n  "default": [\n    {"content": "x",}\n  ]\n}\n')
    with pytest.raises(UsageError) as caught:
        load_script(path)
    assert f"{path}:3" in caught.value.render()


def test_fault_spec_parsing() -> None:
    plan = FaultPlan.parse("429:0.1, 500:0.2", seed=3)
    assert plan.rates == {"429": 0.1, "500": 0.2}
    for spec in ("teapot:0.1", "429:x", "429:2", "429:0.6,500:0.6", "429"):
        with pytest.raises(UsageError):
            FaultPlan.parse(spec)
    first, again = FaultPlan.parse("500:0.5", seed=7), FaultPlan.parse("500:0.5", seed=7)
    draws = [first.draw() for _ in range(40)]
    assert draws == [again.draw() for _ in range(40)], "the same seed injects the same faults"
    assert 5 < draws.count("500") < 35 and first.injected["500"] == draws.count("500")


def test_common_prefix() -> None:
    assert common_prefix("abcdef", "abcxyz") == 3
    assert common_prefix("", "abc") == 0
    assert common_prefix("same", "same") == 4


@pytest.fixture
def fake_model_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [*TETHER, "fake-model", "--port", "0", "--tps", "1200", "--ttft-ms", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.strip().rsplit(" ", 1)[-1]
    assert url.startswith("http://127.0.0.1:"), line
    yield proc, url
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_fake_model_cli_stops_cleanly_on_sigterm(
    fake_model_process: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = fake_model_process
    with urllib.request.urlopen(url + "/v1/models", timeout=5) as response:
        assert response.status == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_models_bench_against_fake_model_at_1200_tps(
    fake_model_process: tuple[subprocess.Popen[str], str], repo: Path
) -> None:
    _, url = fake_model_process
    env = {"TETHER_EXECUTOR_MODEL": "fast", "TETHER_EXECUTOR_BASE_URL": url + "/v1"}
    result = run_tether("models", "--bench", "--role", "executor", cwd=repo, env=env)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "executor" in line and " fast " in line]
    second = [cell.strip() for cell in rows[-1].split("│") if cell.strip()]
    # role, model, call, ttft, tok/s, out, in, cached
    tps = float(second[4].replace(",", ""))
    cached = float(second[7].rstrip("%"))
    assert 960 <= tps <= 1440, result.stdout
    assert cached > 90, result.stdout
    logs = (repo / ".tether" / "sessions").glob("*/events.jsonl")
    kinds = [json.loads(line)["type"] for p in logs for line in p.read_text().splitlines()]
    assert kinds == ["session_start", "model_call", "model_call", "session_end"]
