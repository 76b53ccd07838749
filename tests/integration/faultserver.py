"""A loopback HTTP server that misbehaves on cue: each request runs the next step of a script.

Steps can answer, drop the connection, stall, send half a body, redirect or gzip. Every request
is recorded with its headers, so tests can assert what reached this origin (the API key, say).
Stalls end as soon as the server stops, so a test never waits on its own server at teardown.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeAlias

__all__ = [
    "FaultServer",
    "Seen",
    "Step",
    "answer",
    "drop",
    "gzipped",
    "half_body_then_close",
    "json_answer",
    "redirect",
    "running",
    "stall_before_headers",
    "stall_mid_body",
    "trickle_body",
]


@dataclass(frozen=True)
class Seen:
    """One request as it arrived: method, raw path with query, and headers (names lower-case)."""

    method: str
    path: str
    headers: dict[str, str]

    def carries(self, secret: str) -> bool:
        """Whether `secret` appears anywhere in the request line or headers."""
        return secret in self.path or any(
            secret in name or secret in value for name, value in self.headers.items()
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real API servers speak
    server: FaultServer

    def do_GET(self) -> None:
        step = self.server.record(self)
        step(self)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows the server's stderr only as noise."""

    # Helpers for steps.
    def send_head(self, status: int, headers: Mapping[str, str], length: int | None) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.flush()

    def hang(self, seconds: float) -> None:
        """Holds the connection open for `seconds` or until the server stops."""
        self.server.stopping.wait(seconds)

    def abort(self) -> None:
        """Closes the connection at once, with a TCP reset rather than a polite FIN."""
        self.close_connection = True
        try:
            # struct linger {on: 1, seconds: 0}: close() then resets instead of lingering.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            self.connection.close()


Step: TypeAlias = Callable[[_Handler], None]


class FaultServer(ThreadingHTTPServer):
    """Answers request n with script step n (the last step repeats). Port 0: a free port."""

    daemon_threads = True
    # The stdlib's 5 pending connections are too few for concurrent clients.
    request_queue_size = 128

    def __init__(self, *steps: Step) -> None:
        if not steps:
            raise ValueError("a script needs at least one step")
        super().__init__(("127.0.0.1", 0), _Handler)
        self.steps = list(steps)
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def record(self, handler: _Handler) -> Step:
        with self._lock:
            index = min(len(self.seen), len(self.steps) - 1)
            self.seen.append(
                Seen(
                    handler.command,
                    handler.path,
                    {name.lower(): value for name, value in handler.headers.items()},
                )
            )
            return self.steps[index]

    def script(self, *steps: Step) -> None:
        """Replaces the script (for servers whose URL other steps must know first)."""
        with self._lock:
            self.steps = list(steps)

    def any_request_carries(self, secret: str) -> bool:
        return any(seen.carries(secret) for seen in self.seen)


@contextmanager
def running(*steps: Step) -> Iterator[FaultServer]:
    """A started server; stopped, with every stall released, when the block ends."""
    server = FaultServer(*steps)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------
# Steps


def answer(status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Step:
    """A complete response with a Content-Length."""

    def step(handler: _Handler) -> None:
        handler.send_head(status, headers or {}, len(body))
        handler.wfile.write(body)

    return step


def json_answer(status: int, payload: object, headers: Mapping[str, str] | None = None) -> Step:
    return answer(
        status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def gzipped(status: int, body: bytes, *, corrupt: bool = False) -> Step:
    """A gzip-encoded response; `corrupt` flips bytes inside the deflate stream."""
    packed = bytearray(gzip.compress(body))
    if corrupt:
        for at in range(10, min(len(packed) - 8, 30)):
            packed[at] ^= 0xFF
    return answer(
        status,
        bytes(packed),
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )


def drop() -> Step:
    """Closes the connection without a byte of response."""
    return _Handler.abort


def stall_before_headers(seconds: float = 30.0) -> Step:
    """Sends nothing for `seconds` (or until the server stops), then closes."""

    def step(handler: _Handler) -> None:
        handler.hang(seconds)
        handler.abort()

    return step


def stall_mid_body(body: bytes, seconds: float = 30.0) -> Step:
    """Sends the headers and half the body, then nothing for `seconds`, then closes."""

    def step(handler: _Handler) -> None:
        handler.send_head(200, {"Content-Type": "application/json"}, len(body))
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.hang(seconds)
        handler.abort()

    return step


def half_body_then_close(body: bytes) -> Step:
    """Promises the whole body, sends half, and closes the connection."""

    def step(handler: _Handler) -> None:
        handler.send_head(200, {"Content-Type": "application/json"}, len(body))
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.abort()

    return step


def trickle_body(body: bytes, every_s: float, *, gzip: bool = False) -> Step:
    """Sends the body one byte every `every_s` seconds: each read succeeds, the whole crawls.
    With `gzip`, the body is sent as already gzip-compressed bytes."""
    headers = {"Content-Type": "application/json"}
    if gzip:
        headers["Content-Encoding"] = "gzip"

    def step(handler: _Handler) -> None:
        handler.send_head(200, headers, len(body))
        for byte in body:
            if handler.server.stopping.wait(every_s):
                handler.abort()
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    return step


def redirect(location: str, status: int = 307) -> Step:
    return answer(status, b"", {"Location": location})
