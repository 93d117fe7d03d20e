"""tether.toml: lookup, validation with file:line errors, env overrides, missing keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_tether
from tether.config import ConfigError, load_config, parse_config
from tether.errors import MissingKeyError

BAD_CONFIGS = [
    # (file text, expected line, words the message must contain)
    ('[executor]\nmodel = "x"\nprovider = \n', 3, "invalid TOML"),
    ('[executor]\nmodel = "x"\nflavour = "spicy"\n', 3, "unknown key 'flavour' in [executor]"),
    ('[executor]\nmodel = "x"\n\n\ntemperature = "hot"\n', 5, "executor.temperature"),
    ('[executor]\nprovider = "bedrock"\nmodel = "x"\n', 2, "unknown provider 'bedrock'"),
    ("[guard]\nmax_diff = -3\n", 2, "guard.max_diff"),
    ("[gaurd]\nmax_diff = 3\n", 1, "unknown key 'gaurd'"),
    ('[executor]\ncontext_window = "big"\n', 2, "executor.context_window"),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD_CONFIGS)
def test_bad_config_exits_2_with_file_and_line(
    repo: Path, text: str, line: int, words: str
) -> None:
    (repo / "tether.toml").write_text(text)
    result = run_tether("models", cwd=repo)
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"tether.toml:{line}:" in message
    assert words in message
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3  # one line, maybe wrapped by Rich


def test_unknown_key_lists_valid_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[executor]\nmodle = "x"\n')
    assert caught.value.where == "tether.toml:2"
    assert "valid keys:" in caught.value.render() and "model" in caught.value.render()


def test_config_found_in_parent_up_to_repo_root(repo: Path) -> None:
    (repo / "tether.toml").write_text(
        '[executor]\nmodel = "m"\nbase_url = "http://127.0.0.1:1/v1"\n'
    )
    sub = repo / "src" / "pkg"
    sub.mkdir(parents=True)
    loaded = load_config(sub)
    assert loaded.path == repo / "tether.toml"
    assert loaded.role("executor").config is not None


def test_env_overrides_file(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "tether.toml").write_text('[executor]\nmodel = "m"\nbase_url = "http://a/v1"\n')
    monkeypatch.setenv("TETHER_EXECUTOR_MODEL", "other")
    monkeypatch.setenv("TETHER_EXECUTOR_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TETHER_PLANNER_PROVIDER", "anthropic")
    monkeypatch.setenv("TETHER_PLANNER_MODEL", "smart")
    loaded = load_config(repo)
    executor = loaded.role("executor")
    assert executor.config is not None
    assert (executor.config.model, executor.config.base_url) == ("other", "http://127.0.0.1:9/v1")
    assert "TETHER_EXECUTOR_MODEL" in executor.source
    planner = loaded.role("planner")
    assert planner.config is not None and planner.config.provider == "anthropic"
    assert planner.key_env == "ANTHROPIC_API_KEY"


def test_env_override_bad_provider(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_EXECUTOR_PROVIDER", "nope")
    with pytest.raises(ConfigError) as caught:
        load_config(repo)
    assert "TETHER_EXECUTOR_PROVIDER" in caught.value.render()


def test_missing_key_is_never_replaced(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "tether.toml").write_text(
        '[executor]\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "TETHER_TEST_MISSING_KEY"\n'
    )
    monkeypatch.delenv("TETHER_TEST_MISSING_KEY", raising=False)
    loaded = load_config(repo)
    with pytest.raises(MissingKeyError) as caught:
        loaded.require("executor")
    assert "$TETHER_TEST_MISSING_KEY" in caught.value.render()
    assert caught.value.exit_code == 2


def test_models_shows_unset_key_and_bench_exits_2(repo: Path) -> None:
    (repo / "tether.toml").write_text(
        '[executor]\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "TETHER_TEST_MISSING_KEY"\n'
    )
    shown = run_tether("models", cwd=repo)
    assert shown.returncode == 0
    assert "TETHER_TEST_MISSING_KEY NOT SET" in shown.stdout
    needed = run_tether("models", "--bench", "--role", "executor", cwd=repo)
    assert needed.returncode == 2
    assert "$TETHER_TEST_MISSING_KEY is not set" in " ".join(needed.stderr.split())


def test_unconfigured_role_says_how_to_fix(repo: Path) -> None:
    result = run_tether("models", cwd=repo)
    assert result.returncode == 0
    assert "tether init" in result.stdout


def test_init_writes_valid_commented_config(repo: Path) -> None:
    first = run_tether("init", cwd=repo)
    assert first.returncode == 0, first.stderr
    text = (repo / "tether.toml").read_text()
    parse_config(text)
    assert (repo / "VERIFY.md").is_file() and (repo / "AGENTS.md").is_file()
    again = run_tether("init", cwd=repo)
    assert again.returncode == 2 and "--force" in again.stderr
    (repo / "tether.toml").write_text("# mine\n")
    forced = run_tether("init", "--force", cwd=repo)
    assert forced.returncode == 0
    assert (repo / "tether.toml").read_text() == text


def test_init_examples_are_valid_when_uncommented(repo: Path) -> None:
    text = run_tether("init", "--print", cwd=repo).stdout
    example = re.compile(r"^# (\[[a-z]+\]|[a-z_]+ = )")
    uncommented = [line[2:] if example.match(line) else line for line in text.splitlines()]
    config = parse_config("\n".join(uncommented))
    assert config.executor is not None and config.executor.base_url
    assert config.planner is not None and config.planner.provider == "anthropic"
    assert config.reviewer is not None and "11434" in (config.reviewer.base_url or "")


@pytest.mark.parametrize(
    ("role", "command"),
    [
        ("executor", ["do", "anything"]),
        ("planner", ["plan", "a goal"]),
        ("executor", ["run", "--all"]),
        ("executor", ["variants", "anything", "-n", "2"]),
    ],
)
def test_every_command_needing_a_role_names_the_missing_key(
    repo: Path, role: str, command: list[str]
) -> None:
    (repo / "tether.toml").write_text(
        f'[{role}]\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "TETHER_TEST_MISSING_KEY"\n'
    )
    (repo / "PLAN.md").write_text("- [ ] T1: something\n  - max-diff: 5\n")
    result = run_tether(*command, cwd=repo)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "$TETHER_TEST_MISSING_KEY is not set" in " ".join(result.stderr.split())
