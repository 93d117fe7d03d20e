"""The thesis of skills, measured: a small fast model replaying a verified trajectory
does what it cannot do alone.

On the demo's sample project, a scripted strong session fixes the greeting typo (T3);
it is captured as a skill with --param module=service/greeting.py. Then, on fresh
copies, the embedded SmolLM2-135M (temperature 0.7) tries the same typo and a second,
similar one in service/welcome.py: without the skill (`tether run`), with a guided
replay, and with an exact replay. Whole processes are timed (spawn to exit).

Run by hand (about 15 minutes on 2 cores):  .venv/bin/python bench/skills.py [--trials 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import TETHER, fake_model
from tether.demo.project import create, pytest_command

SKILL = "fix-greeting-typo"
WELCOME = (
    '"""The welcome shown to new users."""\n\n\ndef welcome(name):\n'
    '    return "Helo, " + name + "!"\n'
)
WELCOME_TEST = (
    "from service.welcome import welcome\n\n\ndef test_welcome():\n"
    '    assert welcome("Ada") == "Hello, Ada!"\n'
)
STRONG = {
    "default": [
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "service/greeting.py"}}]},
        {
            "tool_calls": [
                {
                    "name": "edit_file",
                    "arguments": {
                        "path": "service/greeting.py",
                        "search": '"Helo, "',
                        "replace": '"Hello, "',
                    },
                }
            ]
        },
        {"tool_calls": [{"name": "done", "arguments": {"summary": "Helo → Hello"}}]},
    ]
}


def tether(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [*TETHER, *args], cwd=root, capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=900,
    )  # fmt: skip
    return done.returncode, time.perf_counter() - started, done.stdout + done.stderr


def project(folder: Path, temperature: float) -> Path:
    root = folder / "project"
    create(root, None)
    toml = root / "tether.toml"
    toml.write_text(toml.read_text().replace("temperature = 0.2", f"temperature = {temperature}"))
    (root / "service/welcome.py").write_text(WELCOME)
    (root / "tests/test_welcome.py").write_text(WELCOME_TEST)
    with (root / "PLAN.md").open("a") as plan:
        plan.write(
            '- [ ] T4: Fix the typo in service/welcome.py: "Helo" must be "Hello"\n'
            "  - scope: service/welcome.py\n  - max-diff: 6\n"
            f"  - accept: {pytest_command()} tests/test_welcome.py\n"
            "  - notes: in the return line, the word Helo becomes Hello\n  - max-steps: 8\n"
        )
    for args in (["add", "-A"], ["commit", "-qm", "welcome"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


def capture(temperature: float) -> Path:
    """The strong session (scripted over HTTP), captured; returns the skill folder."""
    root = project(Path(tempfile.mkdtemp(prefix="tether-bench-skill-")), temperature)
    with fake_model(STRONG) as (url, _):
        env = {
            "TETHER_EXECUTOR_PROVIDER": "openai",
            "TETHER_EXECUTOR_MODEL": "strong",
            "TETHER_EXECUTOR_BASE_URL": url,
        }
        code, _, text = tether(root, "run", "T3", env=env)
        assert code == 0, text
    code, _, text = tether(
        root, "skills", "capture", "T3", "--name", SKILL,
        "--param", "module=service/greeting.py", "--no-planner",
    )  # fmt: skip
    assert code == 0, text
    return root / ".agents" / "skills" / SKILL


WAYS = ("without the skill", "guided replay", "exact replay")
TARGETS = {
    "the same typo (greeting.py)": ("T3", []),
    "a similar typo (welcome.py)": ("T4", ["--param", "module=service/welcome.py"]),
}


def command(way: str, task: str, param: list[str]) -> list[str]:
    if way == "without the skill":
        return ["run", task]
    return ["skills", "replay", SKILL, "--way", way.split()[0], *param]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--temperature", type=float, default=0.7)
    options = parser.parse_args()
    skill = capture(options.temperature)
    print(f"captured {SKILL}: {skill}")
    temperature = options.temperature
    print(f"{options.trials} trials each, embedded SmolLM2-135M at temperature {temperature}")
    for target_name, (task, param) in TARGETS.items():
        for way in WAYS:
            passed, walls, calls = 0, [], []
            for _ in range(options.trials):
                root = project(Path(tempfile.mkdtemp(prefix="tether-bench-try-")), temperature)
                if way != "without the skill":
                    shutil.copytree(skill, root / ".agents" / "skills" / SKILL)
                code, wall, _ = tether(root, *command(way, task, param))
                passed += code == 0
                walls.append(wall)
                calls.append(_model_calls(root))
                shutil.rmtree(root.parent, ignore_errors=True)
            print(
                f"{target_name:30} {way:18} {passed:2}/{options.trials} passed · wall median "
                f"{statistics.median(walls):5.1f}s (min {min(walls):.1f}, max {max(walls):.1f}) · "
                f"model calls median {statistics.median(calls):.0f}"
            )
            sys.stdout.flush()


def _model_calls(root: Path) -> int:
    """Calls to a model provider (an exact replay makes none)."""
    return sum(
        1
        for path in (root / ".tether" / "sessions").glob("*/events.jsonl")
        for line in path.read_text().splitlines()
        if json.loads(line).get("type") == "model_call"
    )


if __name__ == "__main__":
    main()
