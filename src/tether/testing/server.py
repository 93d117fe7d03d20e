"""The scripted model server: stdlib HTTP, one thread per connection, HTTP/1.1
keep-alive, chunked SSE streaming paced at ``tps`` after ``ttft_ms``.

Sockets set TCP_NODELAY: without it Nagle's algorithm and delayed ACKs add ~40 ms per
call, which a benchmark would wrongly charge to the client.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tether.localhttp import LoopbackHandler
from tether.testing import wire
from tether.testing.faults import FaultPlan, PrefixCache
from tether.testing.script import Script, ScriptedCall, Turn
from tether.testing.tokens import (
    CHARS_PER_TOKEN,
    count_assistant_turns,
    count_tokens,
    message_text,
    prompt_text,
)

BATCH_S = 0.002  # pieces due within this window go out in one write


@dataclass
class ServerState:
    script: Script
    tps: float
    ttft_s: float
    faults: FaultPlan
    log_path: Path | None
    hang_s: float
    retry_after_ms: int
    cache: PrefixCache = field(default_factory=PrefixCache)
    requests: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    serial: int = 0

    def timed(self, arrived: float, answered: float) -> None:
        """When a request arrived and its answer was sent (epoch seconds), beside the
        request log as ``<log>.times.jsonl``: whole-process benches read the gaps."""
        if self.log_path is not None:
            with self.lock, self.log_path.with_suffix(".times.jsonl").open("a") as handle:
                handle.write(json.dumps({"arrived": arrived, "answered": answered}) + "\n")

    def record(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> int:
        with self.lock:
            self.serial += 1
            self.requests.append({"path": path, "body": body, "headers": headers or {}})
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(body, ensure_ascii=False) + "\n")
            return self.serial


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    state: ServerState

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-reply (a killed run, a timeout) is not an error."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(LoopbackHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    # --- routing ---------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") in ("/v1/models", "/models"):
            state = self.server.state
            names = sorted(state.script.models) or ["scripted"]
            self._json(200, wire.models_list(names))
        else:
            self._json(404, wire.openai_error(404, f"no route {self.path}"))

    def parse_request(self) -> bool:
        """A request arrives with its first line: the stamp is taken before the headers
        are parsed (http.server's email parser takes ~0.3 ms, the server's time)."""
        self.arrived_at = time.time()
        return super().parse_request()

    def do_POST(self) -> None:
        arrived_at = self.arrived_at
        try:
            self._post()
        finally:
            self.server.state.timed(arrived_at, time.time())

    def _post(self) -> None:
        arrived = time.perf_counter()
        path = self.path.split("?")[0].rstrip("/")
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if path in ("/v1/chat/completions", "/chat/completions"):
            kind = "openai"
        elif path == "/v1/messages":
            kind = "anthropic"
        else:
            self._json(404, wire.openai_error(404, f"no route {self.path}"))
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
        except ValueError as exc:
            self._error(kind, 400, f"invalid JSON body: {exc}")
            return
        self._answer(kind, body, arrived)

    # --- answering -------------------------------------------------------------------

    def _answer(self, kind: str, body: dict[str, Any], arrived: float) -> None:
        state = self.server.state
        serial = state.record(self.path, body, {k.lower(): v for k, v in self.headers.items()})
        fault = state.faults.draw()
        if fault in ("429", "500"):
            self._error(kind, int(fault), f"scripted fault {fault}", retry=fault == "429")
            return
        model = str(body.get("model", ""))
        prompt = prompt_text(body)
        input_tokens = count_tokens(prompt)
        cached = min(state.cache.lookup_and_add(model, prompt) // CHARS_PER_TOKEN, input_tokens)
        if fault == "timeout":
            state.stop.wait(state.hang_s)
            self.close_connection = True
            return
        turn = state.script.reply(model, count_assistant_turns(body), message_text(body))
        if fault == "badjson":
            turn = _break_json(turn)
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        reply = wire.make_reply(turn, int(limit) if limit else None, serial)
        usage = wire.ReplyUsage(input_tokens, cached, reply.output_tokens)
        if body.get("stream"):
            if kind == "openai":
                include = bool((body.get("stream_options") or {}).get("include_usage"))
                pieces = wire.openai_stream(reply, model, usage, serial, include)
            else:
                pieces = wire.anthropic_stream(reply, model, usage, serial)
            self._stream(pieces, arrived, cut=fault == "truncate")
            return
        payload = (wire.openai_body if kind == "openai" else wire.anthropic_body)(
            reply, model, usage, serial
        )
        self._sleep_until(arrived + state.ttft_s + self._gen_seconds(reply.output_tokens))
        self._json(200, payload, cut=fault == "truncate")

    def _gen_seconds(self, tokens: int) -> float:
        tps = self.server.state.tps
        return tokens / tps if tps > 0 else 0.0

    def _sleep_until(self, deadline: float) -> None:
        delay = deadline - time.perf_counter()
        if delay > 0:
            time.sleep(delay)

    def _stream(self, pieces: list[wire.Piece], arrived: float, cut: bool) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        if cut:
            pieces = pieces[: max(1, len(pieces) // 2)]
        state = self.server.state
        first_due = arrived + state.ttft_s
        sent_tokens = 0
        index = 0
        while index < len(pieces):
            batch: list[bytes] = []
            now = time.perf_counter()
            while index < len(pieces):
                piece = pieces[index]
                due = first_due + self._gen_seconds(sent_tokens) if piece.tokens else now
                if due > now + BATCH_S:
                    break
                batch.append(piece.data)
                sent_tokens += piece.tokens
                index += 1
            if batch:
                data = b"".join(batch)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self._sleep_until(first_due + self._gen_seconds(sent_tokens))
        if cut:
            self._drop_connection()
            return
        self.wfile.write(b"0\r\n\r\n")

    def _json(
        self, status: int, payload: Any, *, cut: bool = False, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_head(status, "application/json", len(data), headers)
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self._drop_connection()
            return
        self.wfile.write(data)

    def _error(self, kind: str, status: int, message: str, retry: bool = False) -> None:
        payload = (wire.openai_error if kind == "openai" else wire.anthropic_error)(status, message)
        headers: dict[str, str] = {}
        if retry:
            ms = self.server.state.retry_after_ms
            headers = {"retry-after-ms": str(ms), "retry-after": str(max(1, -(-ms // 1000)))}
        headers["x-should-retry"] = "true" if status >= 429 else "false"
        self._json(status, payload, headers=headers)

    def _drop_connection(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _break_json(turn: Turn) -> Turn:
    """The ``badjson`` fault: the first tool call's arguments lose their closing brace."""
    if not turn.tool_calls:
        return turn
    first, *rest = turn.tool_calls
    broken = ScriptedCall(name=first.name, arguments=first.arguments.rstrip()[:-1] + ",")
    return Turn(content=turn.content, tool_calls=(broken, *rest))


class ScriptedServer:
    """Run the scripted server in a background thread (``with ScriptedServer(...) as s``)."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tps: float = 1200.0,
        ttft_ms: float = 30.0,
        faults: FaultPlan | None = None,
        log_path: Path | None = None,
        hang_s: float = 600.0,
        retry_after_ms: int = 100,
    ):
        self.state = ServerState(
            script=script or Script.unscripted(),
            tps=tps,
            ttft_s=ttft_ms / 1000,
            faults=faults or FaultPlan(),
            log_path=log_path,
            hang_s=hang_s,
            retry_after_ms=retry_after_ms,
        )
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ScriptedServer:
        httpd = _HTTPServer(self._address, _Handler)
        httpd.state = self.state
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for Anthropic clients (they add ``/v1/messages``)."""
        if self._httpd is None:
            raise RuntimeError("the scripted server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_url(self) -> str:
        """Base URL for OpenAI-compatible clients (they add ``/chat/completions``)."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests
