"""The clients over real sockets against a loopback server: retries after 503 and 429,
timeouts when the server stalls, dropped and reset connections, and the async pool limit."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from llamacloud_batch import (
    APIConnectionError,
    APITimeoutError,
    AsyncBatchClient,
    BatchClient,
    InternalServerError,
    JobStatus,
    NotFoundError,
    RateLimitError,
    WaitTimeoutError,
)

API_KEY = "llx-loopback-secret"
PREFIX = "/api/v1/beta/batch-processing/"
SHORT_TIMEOUT_S = 0.2


def _body(job_id: str, status: str) -> bytes:
    body = {
        "job": {
            "id": job_id,
            "job_type": "parse",
            "project_id": "proj-1",
            "status": status,
            "total_items": 1,
        },
        "progress_percentage": 100.0 if status == "completed" else 0.0,
    }
    return json.dumps(body).encode()


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # The default of 5 pending connections is too few for many concurrent clients.
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.release = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self, job_id: str) -> int:
        with self.lock:
            return self.hits.get(job_id, 0)


class _Handler(BaseHTTPRequestHandler):
    """Behaves by the job id's first word, `<behaviour>-<anything>`.

    ok: 200 completed. flaky: 503, then 200. rate: 429 with Retry-After: 0, then 200.
    down: always 503. stall: waits past any short client timeout. drop: closes without
    answering. reset: aborts the connection (RST). slow: 200 after 50 ms. gone: 404.
    countdown: running on the first two polls of the id, then completed.
    """

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for an ACK.
    disable_nagle_algorithm = True
    server: LoopbackServer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        server = self.server
        job_id = self.path.split("?")[0].removeprefix(PREFIX)
        with server.lock:
            server.hits[job_id] = hit = server.hits.get(job_id, 0) + 1
            server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            server.in_flight += 1
            server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
        try:
            self._answer(job_id, hit)
        except OSError:  # the client gave up first
            self.close_connection = True
        finally:
            with server.lock:
                server.in_flight -= 1

    def _answer(self, job_id: str, hit: int) -> None:
        kind = job_id.split("-")[0]
        if (kind == "flaky" and hit == 1) or kind == "down":
            self._send(503, b'{"detail": "Service Unavailable"}')
        elif kind == "rate" and hit == 1:
            self._send(429, b'{"detail": "slow down"}', {"Retry-After": "0"})
        elif kind == "gone":
            self._send(404, b'{"detail": "Batch job not found"}')
        elif kind == "stall":
            self.server.release.wait(5.0)
            self._send(200, _body(job_id, "completed"))
        elif kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif kind == "slow":
            time.sleep(0.05)
            self._send(200, _body(job_id, "completed"))
        elif kind == "countdown":
            self._send(200, _body(job_id, "running" if hit <= 2 else "completed"))
        else:
            self._send(200, _body(job_id, "completed"))

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _client(server: LoopbackServer, *, max_retries: int = 2) -> BatchClient:
    client = BatchClient(
        API_KEY, base_url=server.url, timeout=SHORT_TIMEOUT_S, max_retries=max_retries
    )
    client._rng = lambda: 1.0  # shortest backoff: 0.375 s, then 0.75 s
    return client


def test_owned_client_sends_key_and_user_agent_over_the_wire(server: LoopbackServer) -> None:
    with _client(server) as client:
        resp = client.get_status("ok-1", project_id="p1")
    assert resp.job.status is JobStatus.COMPLETED
    path, headers = server.requests[0]
    assert path == f"{PREFIX}ok-1?project_id=p1"
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["user-agent"].startswith("llamacloud-batch/")


def test_503_then_200_is_retried(server: LoopbackServer) -> None:
    with _client(server) as client:
        assert client.get_status("flaky-1").job.status is JobStatus.COMPLETED
    assert server.count("flaky-1") == 2


def test_503_until_retries_run_out(server: LoopbackServer) -> None:
    with _client(server, max_retries=1) as client, pytest.raises(InternalServerError):
        client.get_status("down-1")
    assert server.count("down-1") == 2


def test_429_with_retry_after_zero_retries_at_once(server: LoopbackServer) -> None:
    with _client(server) as client:
        started = time.monotonic()
        assert client.get_status("rate-1").job.status is JobStatus.COMPLETED
        elapsed = time.monotonic() - started
    assert server.count("rate-1") == 2
    assert elapsed < 0.3, "Retry-After: 0 means no backoff"


def test_429_is_raised_once_retries_are_off(server: LoopbackServer) -> None:
    with _client(server, max_retries=0) as client, pytest.raises(RateLimitError):
        client.get_status("rate-2")


def test_404_is_not_retried(server: LoopbackServer) -> None:
    with _client(server) as client, pytest.raises(NotFoundError, match="Batch job not found"):
        client.get_status("gone-1")
    assert server.count("gone-1") == 1


def test_stalled_server_times_out_after_retries_in_bounded_time(server: LoopbackServer) -> None:
    with _client(server, max_retries=1) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.get_status("stall-1")
        elapsed = time.monotonic() - started
    assert server.count("stall-1") == 2
    # Two tries of 0.2 s and one backoff of 0.375 s, with room for a slow machine.
    assert 0.7 <= elapsed < 2.5


@pytest.mark.parametrize("job_id", ["drop-1", "reset-1"])
def test_dropped_connection_is_a_connection_error_after_retries(
    server: LoopbackServer, job_id: str
) -> None:
    with _client(server, max_retries=1) as client, pytest.raises(APIConnectionError) as info:
        client.get_status(job_id)
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.TransportError)
    assert server.count(job_id) == 2


def test_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = BatchClient(API_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=1)
    client._rng = lambda: 1.0
    with client, pytest.raises(APIConnectionError) as info:
        client.get_status("ok-1")
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_wait_rides_out_a_503_and_finishes(server: LoopbackServer) -> None:
    with _client(server) as client:
        resp = client.wait_until_done(
            "flaky-wait", timeout=5.0, poll_interval=0.01, max_poll_interval=0.05
        )
    assert resp.job.status is JobStatus.COMPLETED


def test_wait_on_a_stalled_server_ends_at_its_deadline(server: LoopbackServer) -> None:
    with _client(server, max_retries=5) as client:
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError):
            client.wait_until_done("stall-2", timeout=0.5, poll_interval=0.01)
        elapsed = time.monotonic() - started
    # Requests are cut to the time left, so the wait ends close to its deadline.
    assert 0.5 <= elapsed < 1.2


def test_wait_all_over_real_sockets(server: LoopbackServer) -> None:
    ids = [f"countdown-{i}" for i in range(8)]
    with _client(server) as client:
        result = client.wait_all(ids, timeout=10.0, poll_interval=0.01, max_poll_interval=0.02)
    assert set(result) == set(ids)
    assert all(server.count(job_id) == 3 for job_id in ids)


# -- async ------------------------------------------------------------------------------------


def _async_client(
    server: LoopbackServer,
    *,
    max_retries: int = 2,
    timeout_s: float = SHORT_TIMEOUT_S,
    http: httpx.AsyncClient | None = None,
) -> AsyncBatchClient:
    client = AsyncBatchClient(
        API_KEY,
        base_url=server.url,
        timeout=timeout_s,
        max_retries=max_retries,
        http_client=http,
    )
    client._rng = lambda: 1.0
    return client


async def test_async_retries_and_timeouts(server: LoopbackServer) -> None:
    async with _async_client(server, max_retries=1) as client:
        assert (await client.get_status("flaky-a")).job.status is JobStatus.COMPLETED
        assert (await client.get_status("rate-a")).job.status is JobStatus.COMPLETED
        with pytest.raises(APITimeoutError):
            await client.get_status("stall-a")
        with pytest.raises(APIConnectionError):
            await client.get_status("drop-a")
    assert server.count("flaky-a") == 2
    assert server.count("stall-a") == 2


async def test_async_cancel_during_a_stalled_request(server: LoopbackServer) -> None:
    async with _async_client(server) as client:
        task = asyncio.ensure_future(client.wait_until_done("stall-c", poll_interval=0.01))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_async_wait_all_stays_within_the_users_pool(server: LoopbackServer) -> None:
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=5))
    # End to end over a real pool of 5 (the client's own queue before the pool is checked
    # exactly in tests/unit/test_wait.py, where the pool cannot hide its absence).
    client = _async_client(server, http=http)
    ids = [f"slow-{i}" for i in range(40)]
    result = await client.wait_all(ids, timeout=20.0, poll_interval=0.01, max_poll_interval=0.02)
    await http.aclose()
    assert set(result) == set(ids)
    assert 1 < server.peak_in_flight <= 5
    assert all(server.count(job_id) == 1 for job_id in ids), "no request was retried"
