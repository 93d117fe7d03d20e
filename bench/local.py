"""The embedded model on the demo's tasks: one try against best-of-N variants (chosen by
the gates), and time to first token with and without prefix KV reuse.

Run by hand (about 10 minutes on 2 cores):  .venv/bin/python bench/local.py [--trials 10]
Single tries and variants sample at the same temperature, so the comparison is fair.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from tether.agent.prompt import TaskPrompt
from tether.config import default_model_path
from tether.demo.project import TASKS, create
from tether.guard.contract import Contract
from tether.models.local import engine_for
from tether.tools.specs import EXECUTOR_TOOLS
from tether.variants.run import VariantPlan, run_variants
from tether.workflow.planfile import load_plan
from tether.workflow.run import run_plan
from tether.workflow.tasks import TaskFactory, TaskFlags
from tether.workspace import Workspace


def quiet(event: dict[str, object]) -> None:
    return None


async def trial(temperature: float, variants: int) -> dict[str, tuple[bool, bool]]:
    root = Path(tempfile.mkdtemp(prefix="tether-bench-local-")) / "project"
    create(root, None)
    toml = (
        (root / "tether.toml")
        .read_text()
        .replace("temperature = 0.2", f"temperature = {temperature}")
    )
    (root / "tether.toml").write_text(toml)
    ws = Workspace.open(root)
    report = await run_plan(ws, run_all=True, keep_going=True)
    outcome: dict[str, tuple[bool, bool]] = {}
    for task_id, status, _ in report.results:
        single = status == "done"
        best = single
        if not single and variants:
            factory = TaskFactory(ws.root, ws.config.config)
            task = factory.from_target(task_id, TaskFlags(), lambda: load_plan(ws))
            record = await run_variants(
                ws, VariantPlan(task=task, count=variants, temperature=temperature), lambda k: quiet
            )
            best = any(v.metrics.get("gates") == 1 for v in record.variants)
        outcome[task_id] = (single, best)
    ws.close()
    return outcome


def ttft(calls: int = 6) -> tuple[float, float, int]:
    """Mean TTFT of executor requests that share the stable prefix and differ after it
    (as steps and variants do): with every state dropped first, and with reuse."""
    from tether.models.local import chat_messages

    path = default_model_path()
    assert path is not None, "the embedded model is not installed"
    engine = engine_for(path, 8192)
    prompt = TaskPrompt.for_task(
        TASKS[0][0],
        TASKS[0][0],
        Contract(scope=(TASKS[0][1],)),
        EXECUTOR_TOOLS,
        agents_md="Keep the tests green.",
    )
    turns, prefix_turns = chat_messages(prompt.request(256, 0.2))
    prefix = engine.tokens(engine.render(turns[:prefix_turns], generation=False))

    def request(i: int) -> list[int]:
        extra = [*turns, {"role": "user", "content": f"Step {i}: go on with the task."}]
        return engine.tokens(engine.render(extra, generation=True))

    cold = []
    for i in range(calls):
        engine.reset()
        cold.append(engine.answer(request(i), [], None, 1, 0.0).ttft_s)
    engine.reset()
    engine.answer(request(-1), prefix, None, 1, 0.0)
    warm = [engine.answer(request(100 + i), prefix, None, 1, 0.0).ttft_s for i in range(calls)]
    return statistics.mean(cold), statistics.mean(warm), len(request(0))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.7)
    args = parser.parse_args()
    cold, warm, size = ttft()
    print(
        f"TTFT on the executor's {size}-token prompt: {cold:.3f}s without prefix reuse, "
        f"{warm:.3f}s with it ({cold / warm:.0f}x)",
        flush=True,
    )
    started = time.perf_counter()
    results: dict[str, list[tuple[bool, bool]]] = {}
    for number in range(1, args.trials + 1):
        for task_id, pair in (await trial(args.temperature, args.variants)).items():
            results.setdefault(task_id, []).append(pair)
        print(f"trial {number}: {time.perf_counter() - started:.0f}s", flush=True)
    print(
        f"\n{args.trials} trials at temperature {args.temperature}; best-of-"
        f"{args.variants} = a single try, then {args.variants} variants if it failed"
    )
    total_single = total_best = count = 0
    for task_id, pairs in sorted(results.items()):
        single = sum(s for s, _ in pairs)
        best = sum(b for _, b in pairs)
        total_single, total_best, count = (
            total_single + single,
            total_best + best,
            count + len(pairs),
        )
        print(f"  {task_id}: one try {single}/{len(pairs)}, with variants {best}/{len(pairs)}")
    print(
        f"  all tasks: one try {total_single / count:.0%}, with variants {total_best / count:.0%}"
    )


if __name__ == "__main__":
    asyncio.run(main())
