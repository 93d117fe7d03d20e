"""Build a ``Model`` for a role, and record every call in the session's event log.

Built-in providers go through the same ``PROVIDERS`` table a plugin would use. With
``TETHER_LOOPBACK_ONLY=1`` (set by tether's own test suite) any model URL that is not
on the loopback interface is refused before a connection is opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from urllib.parse import urlparse

from tether.config import ResolvedRole, RoleConfig
from tether.errors import ModelError, UsageError
from tether.localhttp import is_loopback
from tether.models.retry import RetryPolicy
from tether.models.types import Completion, Model, ModelInfo, ModelRequest
from tether.telemetry import EventLog, NullLog

ModelFactory = Callable[[ResolvedRole, ModelInfo], Model]


def _openai(role: ResolvedRole, info: ModelInfo) -> Model:
    from tether.models.openai_chat import OpenAIChatModel

    cfg = _cfg(role)
    return OpenAIChatModel(
        info,
        api_key=role.api_key(),
        base_url=cfg.base_url,
        timeout_s=cfg.timeout_s,
        policy=_policy(cfg),
        key_env=role.key_env,
    )


def _anthropic(role: ResolvedRole, info: ModelInfo) -> Model:
    from tether.models.anthropic_messages import AnthropicModel

    cfg = _cfg(role)
    return AnthropicModel(
        info,
        api_key=role.api_key(),
        base_url=cfg.base_url,
        timeout_s=cfg.timeout_s,
        policy=_policy(cfg),
        key_env=role.key_env,
    )


def _local(role: ResolvedRole, info: ModelInfo) -> Model:
    from tether.models.local import load_local_model

    return load_local_model(role, info)


PROVIDERS: dict[str, ModelFactory] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "local": _local,
}


def _cfg(role: ResolvedRole) -> RoleConfig:
    if role.config is None:
        raise UsageError(f"the {role.name} role has no model configured", hint="run `tether init`")
    return role.config


def _policy(cfg: RoleConfig) -> RetryPolicy:
    return RetryPolicy(max_retries=cfg.max_retries, backoff_s=cfg.retry_backoff_s)


def model_info(role: ResolvedRole) -> ModelInfo:
    cfg = _cfg(role)
    name = cfg.model or (_local_name(cfg) if cfg.provider == "local" else "")
    if not name:
        raise UsageError(
            f"the {role.name} role has no model name",
            where=role.source,
            hint=f'set model = "..." in [{role.name}] or TETHER_{role.name.upper()}_MODEL',
        )
    return ModelInfo(
        role=role.name,
        provider=cfg.provider,
        model=name,
        host=role.host,
        context_window=cfg.context_window,
    )


def _local_name(cfg: RoleConfig) -> str:
    from pathlib import Path

    return Path(cfg.model_path).stem if cfg.model_path else "SmolLM2-135M-Instruct"


def check_loopback(role: ResolvedRole) -> None:
    """Refuse non-loopback model URLs when TETHER_LOOPBACK_ONLY is set (tests)."""
    if os.environ.get("TETHER_LOOPBACK_ONLY") != "1":
        return
    cfg = _cfg(role)
    if cfg.provider == "local":
        return
    host = urlparse(cfg.base_url).hostname if cfg.base_url else None
    if host is not None and is_loopback(host):
        return
    raise ModelError(
        f"refusing to call {cfg.base_url or 'the provider default host'} for the "
        f"{role.name} role: TETHER_LOOPBACK_ONLY=1 allows only loopback model URLs",
        hint="point base_url at the scripted server (`tether fake-model`)",
    )


def build_model(role: ResolvedRole, log: EventLog | None = None) -> Model:
    """The model for ``role``, recording each call in ``log``."""
    info = model_info(role)
    check_loopback(role)
    log = log or NullLog()
    if role.fallback:
        log.note_once(
            f"fallback:{role.name}",
            f"no model configured for the {role.name}; using the embedded "
            "SmolLM2-135M — fine for the demo, too small for real work; see "
            "`tether init`",
        )
    factory = PROVIDERS[info.provider]
    return ObservedModel(factory(role, info), log)


class ObservedModel:
    """Wraps a model; appends one ``model_call`` event per call."""

    def __init__(self, inner: Model, log: EventLog):
        self.inner = inner
        self.info = inner.info
        self.log = log

    async def complete(self, request: ModelRequest) -> Completion:
        info = self.info
        try:
            completion = await self.inner.complete(request)
        except ModelError as exc:
            self.log.emit(
                "model_error",
                role=info.role,
                provider=info.provider,
                model=info.model,
                error=exc.render(),
            )
            raise
        usage, timing = completion.usage, completion.timing
        self.log.emit(
            "model_call",
            role=info.role,
            provider=info.provider,
            model=completion.model or info.model,
            input_tokens=usage.input_tokens,
            cached_tokens=usage.cached_tokens,
            output_tokens=usage.output_tokens,
            ttft_s=round(timing.ttft_s, 4),
            output_tps=round(timing.output_tps, 1),
            seconds=round(timing.seconds, 4),
            attempts=completion.attempts,
        )
        return completion

    async def aclose(self) -> None:
        await self.inner.aclose()
