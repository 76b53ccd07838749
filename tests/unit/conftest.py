"""Shared unit-test helpers: response bodies, a fake clock, virtual async time, scripted servers
behind `httpx.MockTransport`, and clients wired to them. Nothing here sleeps for real."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import TypeAlias

import httpx
import pytest
from llamacloud_batch import AsyncBatchClient, BatchClient

API_KEY = "llx-unit-test-secret-key-7f3a9c"
BASE_URL = "https://api.test.invalid"
STATUS_PATH = "/api/v1/beta/batch-processing/"

JSONObject: TypeAlias = dict[str, object]


def job_body(
    status: str = "running",
    *,
    job_id: str = "bjb-1",
    progress: float = 0.0,
    total: int = 10,
    processed: int | None = None,
    error_message: str | None = None,
) -> JSONObject:
    """A valid status body, as the server sends it."""
    job: JSONObject = {
        "id": job_id,
        "job_type": "parse",
        "project_id": "proj-1",
        "status": status,
        "total_items": total,
    }
    if processed is not None:
        job["processed_items"] = processed
    if error_message is not None:
        job["error_message"] = error_message
    return {"job": job, "progress_percentage": progress}


def ok(
    status: str = "running",
    *,
    job_id: str = "bjb-1",
    progress: float = 0.0,
    total: int = 10,
    processed: int | None = None,
    error_message: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A 200 answer carrying `job_body(...)` with the same arguments."""
    body = job_body(
        status,
        job_id=job_id,
        progress=progress,
        total=total,
        processed=processed,
        error_message=error_message,
    )
    return httpx.Response(200, json=body, headers=headers)


def error(status_code: int, detail: object = "nope", **headers: str) -> httpx.Response:
    """An error answer in FastAPI's shape."""
    return httpx.Response(status_code, json={"detail": detail}, headers=headers)


def job_id_of(request: httpx.Request) -> str:
    """The (decoded) job id a status request asks for."""
    return request.url.path.removeprefix(STATUS_PATH)


Step: TypeAlias = httpx.Response | BaseException | Callable[[httpx.Request], httpx.Response]


class ScriptedServer:
    """A fake API answering from a script, one step per request; the last step repeats.

    A step is a response, an exception to raise as a transport would (KeyboardInterrupt too),
    or a function of the request. Every request is recorded, so tests can assert on it.
    """

    def __init__(self, *steps: Step) -> None:
        if not steps:
            raise ValueError("a script needs at least one step")
        self._steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        index = min(len(self.requests), len(self._steps) - 1)
        self.requests.append(request)
        step = self._steps[index]
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, httpx.Response):
            # A Response can be read once; hand out a fresh copy each time the step repeats.
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        return step(request)

    @property
    def calls(self) -> int:
        return len(self.requests)


class PerJobServer:
    """A fake API where each job id has its own script (see `ScriptedServer`)."""

    def __init__(self, scripts: dict[str, list[Step]]) -> None:
        self.servers = {job_id: ScriptedServer(*steps) for job_id, steps in scripts.items()}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        server = self.servers.get(job_id_of(request))
        if server is None:
            return error(404, "Batch job not found")
        return server(request)


class FakeClock:
    """A monotonic clock that moves only when `sleep` is called; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.t += seconds

    async def async_sleep(self, seconds: float) -> None:
        """For one task only: concurrent sleepers would add up (use VirtualTime for those)."""
        self.sleep(seconds)
        await asyncio.sleep(0)

    @property
    def elapsed(self) -> float:
        return self.t - self.start


class VirtualTime:
    """Virtual time for many asyncio tasks: `sleep` parks the task, and time jumps to the
    earliest wake-up once no task can run, as if the loop had slept. Tests that use it must
    not wait on real I/O (MockTransport only)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self.t = start
        self.sleeps: list[float] = []
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (self.t + seconds, next(self._seq), future))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.ensure_future(self._drive())
        await future

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiters:
            # Let every runnable task run until all of them wait on something.
            for _ in range(10_000):
                await asyncio.sleep(0)
                if not getattr(loop, "_ready", ()):
                    break
            while self._waiters and self._waiters[0][2].done():  # cancelled sleepers
                heapq.heappop(self._waiters)
            if not self._waiters:
                return
            when, _, future = heapq.heappop(self._waiters)
            self.t = max(self.t, when)
            future.set_result(None)

    async def aclose(self) -> None:
        if self._driver is not None and not self._driver.done():
            self._driver.cancel()
            await asyncio.gather(self._driver, return_exceptions=True)

    @property
    def elapsed(self) -> float:
        return self.t - self.start


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def vtime() -> AsyncIterator[VirtualTime]:
    virtual = VirtualTime()
    yield virtual
    await virtual.aclose()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's real LlamaCloud settings."""
    for name in (
        "LLAMA_CLOUD_API_KEY",
        "LLAMA_PARSE_API_KEY",
        "LLAMA_CLOUD_BASE_URL",
        "LLAMA_CLOUD_PROJECT_ID",
        "LLAMA_CLOUD_ORGANIZATION_ID",
    ):
        monkeypatch.delenv(name, raising=False)


Handler: TypeAlias = Callable[[httpx.Request], httpx.Response]
AsyncHandler: TypeAlias = Handler | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


def sync_client(
    handler: Handler,
    clock: FakeClock | None = None,
    *,
    max_retries: int = 2,
    project_id: str | None = None,
    organization_id: str | None = None,
) -> BatchClient:
    """A BatchClient on the user's-own-client path, its retry sleeps on `clock`."""
    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = BatchClient(
        API_KEY,
        base_url=BASE_URL,
        project_id=project_id,
        organization_id=organization_id,
        max_retries=max_retries,
        http_client=http,
    )
    client._rng = lambda: 0.5
    if clock is not None:
        client._sleep = clock.sleep
    return client


def async_client(
    handler: AsyncHandler,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    *,
    max_retries: int = 2,
    http: httpx.AsyncClient | None = None,
) -> AsyncBatchClient:
    """An AsyncBatchClient on the user's-own-client path, its retry sleeps on `sleep`."""
    if http is None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = AsyncBatchClient(API_KEY, base_url=BASE_URL, max_retries=max_retries, http_client=http)
    client._rng = lambda: 0.5
    if sleep is not None:
        client._sleep = sleep
    return client


@pytest.fixture
def route_default(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[AsyncHandler], None]]:
    """Sends requests of clients that own their httpx pool to a handler instead of the network."""

    def install(handler: AsyncHandler) -> None:
        mock = httpx.MockTransport(handler)

        def handle(_: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            return mock.handle_request(request)

        async def handle_async(
            _: httpx.AsyncHTTPTransport, request: httpx.Request
        ) -> httpx.Response:
            return await mock.handle_async_request(request)

        monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle)
        monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle_async)

    yield install
