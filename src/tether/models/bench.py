"""``tether models --bench``: the same ~2,000-token prompt twice per role.

The first call shows time to first token and output speed; the second shows how much
of an identical prompt the provider serves from its prefix cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from tether.models.types import Completion, Message, Model, ModelRequest

PROMPT_TOKENS = 2_000
OUTPUT_TOKENS = 400


@dataclass(frozen=True)
class BenchCall:
    ttft_s: float
    output_tps: float
    output_tokens: int
    input_tokens: int
    cached_tokens: int
    seconds: float

    @classmethod
    def of(cls, completion: Completion) -> BenchCall:
        usage, timing = completion.usage, completion.timing
        return cls(
            timing.ttft_s,
            timing.output_tps,
            usage.output_tokens,
            usage.input_tokens,
            usage.cached_tokens,
            timing.seconds,
        )

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.input_tokens if self.input_tokens else 0.0


@dataclass(frozen=True)
class BenchResult:
    role: str
    model: str
    first: BenchCall
    second: BenchCall


def bench_document(tokens: int = PROMPT_TOKENS) -> str:
    """Deterministic code-like text of about ``tokens`` tokens (4 characters each)."""
    lines: list[str] = []
    size = 0
    index = 0
    while size < tokens * 4:
        line = (
            f"def handler_{index}(request, limit={index % 7 + 1}):\n"
            f'    """Return the first {index % 7 + 1} items for route /r/{index}."""\n'
            f"    return request.items[:limit]\n"
        )
        lines.append(line)
        size += len(line)
        index += 1
    return "".join(lines)


def bench_request(max_output_tokens: int = OUTPUT_TOKENS) -> ModelRequest:
    document = bench_document()
    ask = (
        "Here is a Python module.\n\n"
        + document
        + "\nDescribe what these handlers have in common, in about 300 words."
    )
    return ModelRequest(
        system="You are a concise senior engineer.",
        messages=(Message(role="user", content=ask),),
        max_output_tokens=max_output_tokens,
        temperature=0.0,
        stream=True,
        prefix_messages=1,
    )


async def bench_model(model: Model) -> BenchResult:
    request = bench_request()
    first = await model.complete(request)
    second = await model.complete(request)
    return BenchResult(model.info.role, model.info.model, BenchCall.of(first), BenchCall.of(second))
