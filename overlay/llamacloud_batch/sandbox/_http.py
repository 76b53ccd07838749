"""The sandbox's HTTP layer: routing, bearer auth and injected faults on the stdlib's threaded
server, answering as LlamaCloud does (FastAPI-style JSON bodies, HTTP/1.1 keep-alive)."""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from ._faults import Fault, FaultPicker
from ._jobs import JobBoard, JobSpec, JobSpecError

API_PREFIX = "/api/v1/beta/batch-processing/"
# Outside the API's namespace on purpose: LlamaCloud has no such path.
JOBS_PATH = "/_sandbox/jobs"
_MAX_BODY_BYTES = 1 << 20


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threaded server that knows its open connections, so stopping it closes them all and
    leaves no handler thread waiting on a keep-alive socket."""

    daemon_threads = True
    # The default backlog of 5 refuses connections as soon as many clients connect at once.
    request_queue_size = 1024

    def __init__(
        self, address: tuple[str, int], *, api_key: str, board: JobBoard, faults: FaultPicker
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.api_key = api_key
        self.board = board
        self.faults = faults
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a bad resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        assert isinstance(request, socket.socket)  # TCP only
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="llamacloud-sandbox-connection",
            daemon=True,
        )
        # Registered before the thread starts, so close_connections cannot miss it.
        with self._connections_lock:
            self._connections[request] = thread
        thread.start()

    def process_request_thread(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(request, None)  # type: ignore[arg-type]

    def close_connections(self, timeout_s: float = 5.0) -> None:
        """Ends every open connection and waits up to `timeout_s` seconds for each handler."""
        with self._connections_lock:
            connections = list(self._connections.items())
        for connection, _ in connections:
            # OSError: its handler closed it already.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for _, thread in connections:
            thread.join(timeout_s)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-answer is routine here (timeouts, faults, stop()).
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    server: SandboxHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "llamacloud-batch-sandbox"
    # Headers and body leave in one segment, without waiting on Nagle's algorithm.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the sandbox runs inside test suites and demos."""

    def version_string(self) -> str:
        return self.server_version

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests and unknown methods get a JSON detail too, not the stdlib's HTML."""
        self.close_connection = True
        status = HTTPStatus(code)
        self._send(status, {"detail": message or status.phrase}, Connection="close")

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        path = urlsplit(self.path).path
        job_id = path.removeprefix(API_PREFIX)
        if path.startswith(API_PREFIX) and job_id and "/" not in job_id:
            if self._allowed("GET"):
                self._get_status(unquote(job_id))
        elif path == JOBS_PATH:
            if self._allowed("POST") and self._authorized():
                self._create_job(body)
        else:
            self._send(HTTPStatus.NOT_FOUND, {"detail": "Not Found"})

    def _read_body(self) -> bytes | None:
        """The request body, or None once an error answer has been sent."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send_error(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY_BYTES:
            self.send_error(HTTPStatus.BAD_REQUEST, "Invalid Content-Length")
            return None
        return self.rfile.read(length)

    def _allowed(self, method: str) -> bool:
        if self.command == method:
            return True
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {"detail": "Method Not Allowed"}, Allow=method)
        return False

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization")
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.server.api_key.encode()
        ):
            return True
        detail = "Not authenticated" if header is None else "Invalid API key"
        self._send(HTTPStatus.UNAUTHORIZED, {"detail": detail}, **{"WWW-Authenticate": "Bearer"})
        return False

    def _get_status(self, job_id: str) -> None:
        fault, faults = self.server.faults.draw()
        if fault is Fault.RATE_LIMIT:
            headers = {"Retry-After": str(faults.retry_after_s)}
            self._send(HTTPStatus.TOO_MANY_REQUESTS, {"detail": "Too many requests"}, **headers)
            return
        if fault is Fault.UNAVAILABLE:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"detail": "Service unavailable"})
            return
        if fault is Fault.DISCONNECT:
            self.close_connection = True
            return
        if fault is Fault.DELAY:
            time.sleep(faults.delay_s)
        if not self._authorized():
            return
        status_body = self.server.board.status_body(job_id)
        if status_body is None:
            self._send(HTTPStatus.NOT_FOUND, {"detail": "Batch job not found"})
        else:
            self._send(HTTPStatus.OK, status_body)

    def _create_job(self, body: bytes) -> None:
        try:
            spec = JobSpec.from_json(json.loads(body))
        except json.JSONDecodeError as exc:
            problem = {"loc": ["body", exc.pos], "msg": exc.msg, "type": "json_invalid"}
        except JobSpecError as exc:
            loc = ["body"] if exc.field is None else ["body", exc.field]
            problem = {"loc": loc, "msg": exc.message, "type": exc.kind}
        else:
            self._send(HTTPStatus.CREATED, {"id": self.server.board.add(spec)})
            return
        self._send(HTTPStatus.UNPROCESSABLE_ENTITY, {"detail": [problem]})

    def _send(self, status: HTTPStatus, body: Mapping[str, object], **headers: str) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req-{uuid.uuid4().hex}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
