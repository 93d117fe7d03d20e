"""What tether's two loopback HTTP servers (the scripted model, the gallery) share, and
whether a host is loopback (the tests' guard, the model client's proxy choice)."""

from __future__ import annotations

import ipaddress
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any


class LoopbackHandler(BaseHTTPRequestHandler):
    """Quiet, and with TCP_NODELAY: without it Nagle's algorithm and delayed ACKs add
    ~40 ms to small replies, which a benchmark would wrongly charge to the client."""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def send_head(
        self, status: int, kind: str, length: int, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def send_body(
        self, status: int, kind: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_head(status, kind, len(data), headers)
        self.wfile.write(data)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.1``, ``::1``, ``[::1]``)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
