"""``tether serve``: the galleries on 127.0.0.1, with working Pick buttons.

A pick changes the user's branch, so a state-changing request must come from a page
this server served: its Host must be this server (no DNS rebinding), its Origin (when
sent) this server's (no cross-site request), and it must carry the per-server token
that only pages served here hold (``X-Tether-Token``; a custom header also forces a
CORS preflight, which this server never grants)."""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import re
import secrets
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from tether.errors import TetherError
from tether.localhttp import LoopbackHandler
from tether.variants.pick import pick
from tether.variants.store import list_runs, runs_dir
from tether.workspace import Workspace

RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$")
FILE = re.compile(r"^(index\.html|[0-9]+\.png)$")


class GalleryServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ws: Workspace, port: int):
        super().__init__(("127.0.0.1", port), _Handler)
        self.ws = ws
        self.pick_lock = threading.Lock()
        self.token = secrets.token_urlsafe(24)

    def trusted(self, headers: Any) -> str:
        """Why a state-changing request is refused ('' when it is not)."""
        port = self.server_address[1]
        hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        if headers.get("Host") not in hosts:
            return "wrong Host header"
        origin = headers.get("Origin")
        if origin is not None and origin not in {f"http://{h}" for h in hosts}:
            return "cross-site request"
        if not hmac.compare_digest(headers.get("X-Tether-Token") or "", self.token):
            return "missing or wrong token; reload the page from this server"
        return ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(LoopbackHandler):
    server: GalleryServer

    def do_GET(self) -> None:
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if not parts:
            self._send(200, "text/html; charset=utf-8", self._index().encode())
        elif len(parts) in (2, 3) and parts[0] == "runs" and RUN_ID.match(parts[1]):
            name = parts[2] if len(parts) == 3 else "index.html"
            path = runs_dir(self.server.ws.root) / parts[1] / name
            if FILE.match(name) and path.is_file():
                kind = "image/png" if name.endswith(".png") else "text/html; charset=utf-8"
                data = path.read_bytes()
                if kind.startswith("text/html"):
                    meta = f'<meta name="tether-token" content="{self.server.token}">'
                    data = data.replace(b"<head>", b"<head>" + meta.encode(), 1)
                self._send(200, kind, data)
                return
            self._send(404, "text/plain", b"not found")
        else:
            self._send(404, "text/plain", b"not found")

    def do_POST(self) -> None:
        if self.path != "/api/pick":
            self._send(404, "text/plain", b"not found")
            return
        refused = self.server.trusted(self.headers)
        if refused:
            self._json(403, {"ok": False, "message": f"refused: {refused}"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
            run, k = str(body["run"]), int(body["k"])
            hunks = {int(h) for h in body.get("hunks") or []} or None
        except (ValueError, KeyError, TypeError):
            self._json(400, {"ok": False, "message": "expected {run, k, hunks}"})
            return
        with self.server.pick_lock:
            try:
                result = asyncio.run(pick(self.server.ws, run, k, hunks))
            except TetherError as exc:
                self._json(409, {"ok": False, "message": exc.render()})
                return
        if result.ok:
            message = f"picked variant {k}: commit {str(result.committed)[:10]}"
        else:
            failing = ", ".join(g.gate for g in result.gates if not g.ok)
            message = f"applied variant {k}, but task gates failed ({failing}); not committed"
        self._json(200, {"ok": result.ok, "message": message, "commit": result.committed})

    def _index(self) -> str:
        rows = "".join(
            f'<li><a href="/runs/{run.id}/">{html.escape(run.id)}</a> — '
            f"{html.escape(run.title)} · {len(run.variants)} variants"
            + (f" · picked {run.picked}" if run.picked else "")
            + "</li>"
            for run in reversed(list_runs(self.server.ws.root))
        )
        return (
            f"<!doctype html><meta charset='utf-8'><title>tether runs</title>"
            f"<h1>tether variants runs</h1><ul>{rows or '<li>no runs yet</li>'}</ul>"
        )

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(payload).encode())

    def _send(self, status: int, kind: str, data: bytes) -> None:
        self.send_body(status, kind, data)
