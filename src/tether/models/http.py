"""The wire under both model clients: JSON over ``httpx`` (async, pooled connections)
and server-sent events through ``httpx-sse``. tether builds the request bodies itself
(``openai_chat.py``, ``anthropic_messages.py``); here they are only sent.

No TLS context is prepared for an ``http://`` URL (a loopback model), and nothing runs
per call but the request. A non-2xx answer becomes ``StatusError`` with the provider's
own message and headers (for ``Retry-After``)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# httpx imports its command-line tool (click, rich.syntax, pygments: 25 ms) when it
# can; tether never runs it, so that import is made to fail and httpx skips it
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402
from httpx_sse import ServerSentEvent, aconnect_sse  # noqa: E402

from tether.localhttp import is_loopback  # noqa: E402


class StatusError(Exception):
    """The provider answered with an HTTP error status."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str]):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.headers = dict(headers)


class StreamBroke(Exception):
    """The stream carried something that is not its format (an error event, bad JSON)."""


@dataclass
class WireClient:
    """One connection pool for one role's endpoint."""

    base_url: str
    headers: dict[str, str]
    timeout_s: float

    def __post_init__(self) -> None:
        self._client = httpx.AsyncClient(
            headers={"content-type": "application/json", **self.headers},
            timeout=httpx.Timeout(self.timeout_s),
            verify=self.base_url.startswith("https:"),  # http: no CA bundle is read
            follow_redirects=False,
            # a remote provider may sit behind HTTPS_PROXY; a loopback model never does
            trust_env=not is_loopback(urlsplit(self.base_url).hostname or ""),
        )

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.post(self.url(path), content=_dumps(body))
        if response.status_code >= 400:
            raise StatusError(response.status_code, _message(response.content), response.headers)
        data = response.json()
        if not isinstance(data, dict):
            raise StreamBroke("the answer is not a JSON object")
        return data

    @asynccontextmanager
    async def events(self, path: str, body: dict[str, Any]) -> AsyncIterator[_Events]:
        """The answer's server-sent events, once the status says they are coming."""
        async with aconnect_sse(
            self._client, "POST", self.url(path), content=_dumps(body)
        ) as source:
            response = source.response
            if response.status_code >= 400:
                raise StatusError(
                    response.status_code, _message(await response.aread()), response.headers
                )
            yield _Events(source.aiter_sse())

    async def aclose(self) -> None:
        await self._client.aclose()


class _Events:
    """Each event's data as JSON (OpenAI's ``[DONE]`` ends the stream)."""

    def __init__(self, source: AsyncIterator[ServerSentEvent]):
        self._source = source

    def __aiter__(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        return self._read()

    async def _read(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        async for event in self._source:
            if not event.data or event.data == "[DONE]":
                continue
            try:
                data = json.loads(event.data)
            except json.JSONDecodeError as exc:
                raise StreamBroke(f"an event that is not JSON ({exc})") from exc
            if isinstance(data, dict):
                yield event.event, data


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _message(raw: bytes) -> str:
    """The provider's error message (OpenAI and Anthropic both use ``error.message``)."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return " ".join(raw.decode("utf-8", "replace").split())[:200] or "(no body)"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return " ".join(str(error["message"]).split())[:200]
    if isinstance(error, str):
        return error[:200]
    return " ".join(json.dumps(data).split())[:200]
