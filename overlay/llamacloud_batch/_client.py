"""`BatchClient` and `AsyncBatchClient`: configured once, then one cheap call per status read.

Both wrap the generated `AuthenticatedClient` (which owns the httpx client, the bearer
header and the timeout) and the generated operation's request builder; responses are
parsed by `_parsing` instead of the generated `_parse_response`, which calls `.json()` on
HTML error pages and lets wrong types through.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx
from llamacloud_batch_api.client import AuthenticatedClient
from llamacloud_batch_api.models import BatchGetStatusResponse

from ._config import DEFAULT_TIMEOUT, Settings, resolve_settings, user_agent
from ._errors import APIConnectionError, APIError, APITimeoutError, status_error
from ._parsing import parse_status_response
from ._retry import is_retryable_exception, is_retryable_status, retry_delay

if TYPE_CHECKING:
    # Waiting is imported when a wait starts: a single status read should not pay for it.
    from . import _wait

__all__ = ["AsyncBatchClient", "BatchClient", "wait_until_done"]

logger = logging.getLogger("llamacloud_batch")

ProgressCallback = Callable[[BatchGetStatusResponse], object]


def check_job_id(job_id: str) -> str:
    """Rejects ids that cannot name one job; the generator's quoting lets `..` climb the path."""
    if not isinstance(job_id, str):
        raise TypeError(f"job_id must be a str, not {type(job_id).__name__}")
    if not job_id.strip() or job_id in (".", ".."):
        raise ValueError(f"job_id must be a non-blank job identifier, not {job_id!r}")
    if job_id != job_id.strip():
        # Almost always a copy-and-paste slip; sent as it is, it would only come back 404.
        raise ValueError(f"job_id has white space around it: {job_id!r}")
    return job_id


class _BaseClient:
    """What the sync and async clients share: settings, request building, repr."""

    _settings: Settings
    _extra_headers: httpx.Headers | None

    def _configure(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        project_id: str | None,
        organization_id: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        user_client: bool,
    ) -> AuthenticatedClient:
        self._settings = settings = resolve_settings(
            api_key=api_key,
            base_url=base_url,
            project_id=project_id,
            organization_id=organization_id,
            timeout=timeout,
            max_retries=max_retries,
        )
        headers = {"User-Agent": user_agent()}
        # A user's own httpx client keeps its own headers; ours ride on each request instead.
        # httpx.Headers, not a dict: its repr masks the Authorization value.
        self._extra_headers = (
            httpx.Headers({**headers, "Authorization": f"Bearer {settings.api_key}"})
            if user_client
            else None
        )
        self._rng: Callable[[], float] = random.random
        self._status_urls: dict[tuple[str, str | None, str | None], httpx.URL] = {}
        return AuthenticatedClient(
            base_url=settings.base_url,
            token=settings.api_key,
            timeout=settings.timeout,
            headers=headers,
            # Same-origin redirects are followed; httpx drops Authorization on a cross-origin one.
            follow_redirects=True,
            httpx_args={"limits": _POOL_LIMITS},
        )

    def _request_kwargs(
        self, job_id: str, project_id: str | None, organization_id: str | None
    ) -> dict[str, Any]:
        settings = self._settings
        key = (
            check_job_id(job_id),
            project_id if project_id is not None else settings.project_id,
            organization_id if organization_id is not None else settings.organization_id,
        )
        url = self._status_urls.get(key)
        if url is None:
            url = self._status_url(*key)
        # Per request, so `timeout=` also governs a user's own httpx client (whose default
        # would otherwise apply: httpx's 5 s, or none at all for the generated client's).
        kwargs: dict[str, Any] = {"method": "GET", "url": url, "timeout": settings.timeout}
        if self._extra_headers is not None:
            kwargs["headers"] = self._extra_headers
        return kwargs

    def _status_url(
        self, job_id: str, project_id: str | None, organization_id: str | None
    ) -> httpx.URL:
        """The absolute URL of a job's status, from the generated request builder, parsed once.

        httpx parses a relative URL string twice per request (alone, then joined to the base
        URL) and once more to add even empty `params`; a ready `httpx.URL` skips all three.
        Waits poll the same job many times, so each URL is kept (a bounded number of them).
        """
        # Imported here, once per new URL: one status read's import should not pay for it.
        from llamacloud_batch_api.api.batch import get_batch_job_status

        generated = get_batch_job_status._get_kwargs(
            job_id, project_id=project_id, organization_id=organization_id
        )
        url = httpx.URL(self._settings.base_url + generated["url"])
        if generated["params"]:
            url = url.copy_merge_params(generated["params"])
        if len(self._status_urls) >= _STATUS_URL_CACHE_SIZE:
            self._status_urls.clear()
        self._status_urls[(job_id, project_id, organization_id)] = url
        return url

    def _timeout_until(self, deadline: float | None, clock: Callable[[], float]) -> httpx.Timeout:
        """The client's request timeout, shortened to end no later than a wait's deadline."""
        if deadline is None:
            return self._settings.timeout
        remaining = deadline - clock()
        if remaining >= _longest_phase(self._settings.timeout):
            return self._settings.timeout
        return httpx.Timeout(max(remaining, _MIN_REQUEST_TIMEOUT_S))

    def _failure(
        self, exc: httpx.RequestError | None, response: httpx.Response | None
    ) -> tuple[APIError, bool]:
        """The typed error for a failed try, and whether another try may help."""
        if response is not None:
            refused = status_error(response, secret=self._settings.api_key)
            return refused, is_retryable_status(response.status_code)
        assert exc is not None
        error: APIError
        if isinstance(exc, httpx.TimeoutException):
            error = APITimeoutError(request=_request_of(exc))
        else:
            error = APIConnectionError(
                f"Connection error: {exc.__class__.__name__}: {exc}", request=_request_of(exc)
            )
        error.__cause__ = exc
        return error, is_retryable_exception(exc)

    def _next_retry(
        self,
        retries_done: int,
        error: APIError,
        response: httpx.Response | None,
        retryable: bool,
        *,
        deadline: float | None,
        clock: Callable[[], float],
    ) -> float | None:
        """Seconds to wait before trying again, or None to give up with `error`."""
        if not retryable:
            logger.debug("Not retrying: %s", error)
            return None
        if retries_done >= self._settings.max_retries:
            logger.debug("Giving up after %d retries: %s", retries_done, error)
            return None
        delay = retry_delay(retries_done, response, now=time.time(), rng=self._rng)
        if deadline is not None and clock() + delay >= deadline:
            logger.debug("Not retrying (%s): the wait's deadline comes first.", error)
            return None
        logger.debug(
            "Retrying in %.2f s (retry %d of %d) after: %s",
            delay,
            retries_done + 1,
            self._settings.max_retries,
            error,
        )
        return delay

    def __repr__(self) -> str:
        s = self._settings
        return (
            f"{type(self).__name__}(base_url={s.base_url!r}, project_id={s.project_id!r}, "
            f"organization_id={s.organization_id!r})"
        )


_MIN_REQUEST_TIMEOUT_S = 0.05
# Enough for a wait_all over thousands of jobs; past it the cache starts afresh.
_STATUS_URL_CACHE_SIZE = 4096
# httpx's default pool size, but every connection may stay open while idle. httpcore 1.0 closes
# an idle connection whenever the pool holds more than max_keepalive_connections in all, busy
# ones included; with httpx's default of 20, a wait_all with more than 20 requests in flight
# opened a new connection for nearly every request.
_POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


def _longest_phase(timeout: httpx.Timeout) -> float:
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    # A phase without a limit (None) could outlast any deadline.
    return max(float("inf") if p is None else p for p in phases)


# httpx's timeouts bound each socket read, not a whole response: a server that sends a byte
# just inside the read timeout could hold a wait as long as it liked. Under a wait's deadline
# the body is therefore read chunk by chunk (raw, so a gzip body cannot hide its progress
# inside the decompressor), and one still arriving after the deadline is a timeout.
# (Headers are read inside httpcore, out of reach; they are small and bounded by its limits.)


def _send(
    http: httpx.Client,
    kwargs: dict[str, Any],
    deadline: float | None,
    clock: Callable[[], float],
) -> httpx.Response:
    if deadline is None:
        return http.request(**kwargs)
    with http.stream(**kwargs) as streamed:
        if streamed.is_stream_consumed:  # a transport that returns it read (MockTransport)
            return streamed
        raw = bytearray()
        for chunk in streamed.iter_raw():
            _check_deadline(streamed, raw, deadline, clock)
            raw += chunk
    return _complete(streamed, raw)


async def _send_async(
    http: httpx.AsyncClient,
    kwargs: dict[str, Any],
    deadline: float | None,
    clock: Callable[[], float],
) -> httpx.Response:
    if deadline is None:
        return await http.request(**kwargs)
    async with http.stream(**kwargs) as streamed:
        if streamed.is_stream_consumed:
            return streamed
        raw = bytearray()
        async for chunk in streamed.aiter_raw():
            _check_deadline(streamed, raw, deadline, clock)
            raw += chunk
    return _complete(streamed, raw)


def _check_deadline(
    streamed: httpx.Response, received: bytearray, deadline: float, clock: Callable[[], float]
) -> None:
    # The first chunk is always taken: the read timeout, cut to the deadline, bounded its wait,
    # and a wait with no time left still gets the one status its single request brings back.
    if received and clock() >= deadline:
        raise httpx.ReadTimeout(
            "The response body was still arriving when the wait's deadline passed.",
            request=streamed.request,
        )


def _complete(streamed: httpx.Response, raw: bytearray) -> httpx.Response:
    """A read response from a streamed one's raw bytes; decoding (gzip) happens here, once."""
    return httpx.Response(
        streamed.status_code,
        headers=streamed.headers,
        content=bytes(raw),
        request=streamed.request,
        extensions=streamed.extensions,
    )


def _request_of(exc: httpx.RequestError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # httpx raises this when the error was built without a request
        return None


class BatchClient(_BaseClient):
    """Reads batch job status from LlamaCloud and waits for jobs to end.

    Arguments left `None` come from the environment: `LLAMA_CLOUD_API_KEY` (or
    `LLAMA_PARSE_API_KEY`), `LLAMA_CLOUD_BASE_URL`, `LLAMA_CLOUD_PROJECT_ID`,
    `LLAMA_CLOUD_ORGANIZATION_ID`. `timeout` is seconds for every phase of a request, or an
    `httpx.Timeout`; `http_client` is your own `httpx.Client` (proxies, mTLS, transports),
    which this client uses but does not close.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        project_id: str | None = None,
        organization_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
    ) -> None:
        api = self._configure(
            api_key=api_key,
            base_url=base_url,
            project_id=project_id,
            organization_id=organization_id,
            timeout=timeout,
            max_retries=max_retries,
            user_client=http_client is not None,
        )
        if http_client is not None:
            api.set_httpx_client(http_client)
        self._owns_http = http_client is None
        # Only the httpx client is kept: the generated client is needed only to build it.
        self._http = api.get_httpx_client()
        self._sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls) -> Self:
        """A client configured entirely from the environment."""
        return cls()

    def get_status(
        self, job_id: str, *, project_id: str | None = None, organization_id: str | None = None
    ) -> BatchGetStatusResponse:
        """The job's current state. Per-call ids override the client's; unset ones are not sent."""
        return self._get_status(job_id, project_id, organization_id)

    def _get_status(
        self,
        job_id: str,
        project_id: str | None,
        organization_id: str | None,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        deadline: float | None = None,
    ) -> BatchGetStatusResponse:
        kwargs = self._request_kwargs(job_id, project_id, organization_id)
        retries_done = 0
        while True:
            if deadline is not None:
                kwargs["timeout"] = self._timeout_until(deadline, clock)
            answer: httpx.Response | None = None
            try:
                answer = _send(self._http, kwargs, deadline, clock)
            except httpx.RequestError as exc:
                error, retryable = self._failure(exc, None)
            else:
                if 200 <= answer.status_code < 300:
                    return parse_status_response(answer)
                error, retryable = self._failure(None, answer)
            delay = self._next_retry(
                retries_done, error, answer, retryable, deadline=deadline, clock=clock
            )
            if delay is None:
                raise error
            (sleep or self._sleep)(delay)
            retries_done += 1

    def wait_until_done(
        self,
        job_id: str,
        *,
        timeout: float | None = 7200.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
        project_id: str | None = None,
        organization_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> BatchGetStatusResponse:
        """Polls until the job ends, and returns its final state.

        Raises `JobFailedError` / `JobCancelledError` for those endings (unless
        `raise_on_failure=False`), and `WaitTimeoutError` when `timeout` seconds pass first.
        """
        last: BatchGetStatusResponse | None = None
        for state in self.iter_status(
            job_id,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            on_progress=on_progress,
            raise_on_failure=raise_on_failure,
            project_id=project_id,
            organization_id=organization_id,
            clock=clock,
            sleep=sleep,
        ):
            last = state
        assert last is not None  # iter_status yields at least the terminal state
        return last

    def iter_status(
        self,
        job_id: str,
        *,
        timeout: float | None = 7200.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
        project_id: str | None = None,
        organization_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[BatchGetStatusResponse]:
        """Yields each changed state of the job, up to and including the terminal one."""
        from . import _wait

        check_job_id(job_id)
        plan = _wait.WaitPlan.create(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            raise_on_failure=raise_on_failure,
            clock=clock,
            rng=self._rng,
        )
        return self._drive_one(
            plan.steps(job_id), job_id, project_id, organization_id, plan, on_progress, sleep
        )

    def _drive_one(
        self,
        steps: _wait.Steps,
        job_id: str,
        project_id: str | None,
        organization_id: str | None,
        plan: _wait.WaitPlan,
        on_progress: ProgressCallback | None,
        sleep: Callable[[float], None],
    ) -> Iterator[BatchGetStatusResponse]:
        outcome: _wait.Outcome = None
        while True:
            try:
                action = steps.send(outcome)
            except StopIteration:
                return
            outcome = None
            if isinstance(action, float):
                sleep(action)
            elif isinstance(action, BatchGetStatusResponse):
                if on_progress is not None:
                    on_progress(action)
                yield action
            else:
                outcome = self._poll(job_id, project_id, organization_id, plan, sleep)

    def _poll(
        self,
        job_id: str,
        project_id: str | None,
        organization_id: str | None,
        plan: _wait.WaitPlan,
        sleep: Callable[[float], None],
    ) -> BatchGetStatusResponse | APIError:
        try:
            return self._get_status(
                job_id,
                project_id,
                organization_id,
                sleep=sleep,
                clock=plan.clock,
                deadline=plan.deadline,
            )
        except APIError as exc:
            return exc

    def wait_all(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = 7200.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
        project_id: str | None = None,
        organization_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, BatchGetStatusResponse]:
        """Waits for every job; returns each one's terminal state (failed ones included)."""
        return dict(
            self._as_completed(
                job_ids,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                on_progress=on_progress,
                project_id=project_id,
                organization_id=organization_id,
                clock=clock,
                sleep=sleep,
            )
        )

    def as_completed(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = 7200.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
        project_id: str | None = None,
        organization_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[BatchGetStatusResponse]:
        """Yields each job's terminal state as it ends (failed and cancelled ones too).

        An error for one job (a 404, say) does not stop the others: it is raised once they
        have all ended, and before any `WaitTimeoutError`.
        """
        # Not a generator itself, so that bad arguments raise here and not at the first next().
        pairs = self._as_completed(
            job_ids,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            on_progress=on_progress,
            project_id=project_id,
            organization_id=organization_id,
            clock=clock,
            sleep=sleep,
        )
        return (final for _, final in pairs)

    def _as_completed(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None,
        poll_interval: float,
        max_poll_interval: float,
        on_progress: ProgressCallback | None,
        project_id: str | None,
        organization_id: str | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> Iterator[tuple[str, BatchGetStatusResponse]]:
        """(the id the caller gave, its terminal state) for each job, as each ends."""
        from . import _wait

        ids = _wait.unique_job_ids(job_ids, check_job_id)
        plan = _wait.WaitPlan.create(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            raise_on_failure=False,
            clock=clock,
            rng=self._rng,
        )
        return self._drive_many(ids, plan, project_id, organization_id, on_progress, sleep)

    def _drive_many(
        self,
        ids: list[str],
        plan: _wait.WaitPlan,
        project_id: str | None,
        organization_id: str | None,
        on_progress: ProgressCallback | None,
        sleep: Callable[[float], None],
    ) -> Iterator[tuple[str, BatchGetStatusResponse]]:
        from . import _wait

        # One thread, one queue ordered by each job's next poll time.
        board = _wait.Scoreboard(ids, plan)
        while (job_id := board.next_due()) is not None:
            delay = board.seconds_until_due()
            if delay > 0:
                sleep(delay)
            outcome = self._poll(job_id, project_id, organization_id, plan, sleep)
            for event in board.feed(job_id, outcome):
                if isinstance(event, _wait.Changed):
                    if on_progress is not None:
                        on_progress(event.status)
                else:
                    yield event.job_id, event.status
        board.raise_if_unfinished()

    def close(self) -> None:
        """Closes the connection pool (not that of an `http_client` you passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncBatchClient(_BaseClient):
    """The async twin of `BatchClient`: same arguments, same behaviour, awaitable calls."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        project_id: str | None = None,
        organization_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        api = self._configure(
            api_key=api_key,
            base_url=base_url,
            project_id=project_id,
            organization_id=organization_id,
            timeout=timeout,
            max_retries=max_retries,
            user_client=http_client is not None,
        )
        if http_client is not None:
            api.set_async_httpx_client(http_client)
        self._owns_http = http_client is None
        # Only the httpx client is kept: the generated client is needed only to build it.
        self._http = api.get_async_httpx_client()
        self._sleep: Callable[[float], Awaitable[None]] = _asyncio_sleep

    @classmethod
    def from_env(cls) -> Self:
        """A client configured entirely from the environment."""
        return cls()

    async def get_status(
        self, job_id: str, *, project_id: str | None = None, organization_id: str | None = None
    ) -> BatchGetStatusResponse:
        """The job's current state. Per-call ids override the client's; unset ones are not sent."""
        return await self._get_status(job_id, project_id, organization_id)

    async def _get_status(
        self,
        job_id: str,
        project_id: str | None,
        organization_id: str | None,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        deadline: float | None = None,
        gate: AbstractAsyncContextManager[object] | None = None,
    ) -> BatchGetStatusResponse:
        kwargs = self._request_kwargs(job_id, project_id, organization_id)
        retries_done = 0
        while True:
            if deadline is not None:
                kwargs["timeout"] = self._timeout_until(deadline, clock)
            answer: httpx.Response | None = None
            try:
                # Only the request holds a place in the gate: a retry's backoff must not.
                async with gate or _NO_GATE:
                    answer = await _send_async(self._http, kwargs, deadline, clock)
            except httpx.RequestError as exc:
                error, retryable = self._failure(exc, None)
            else:
                if 200 <= answer.status_code < 300:
                    return parse_status_response(answer)
                error, retryable = self._failure(None, answer)
            delay = self._next_retry(
                retries_done, error, answer, retryable, deadline=deadline, clock=clock
            )
            if delay is None:
                raise error
            await (sleep or self._sleep)(delay)
            retries_done += 1

    async def wait_until_done(
        self,
        job_id: str,
        *,
        timeout: float | None = 7200.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
        project_id: str | None = None,
        organization_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> BatchGetStatusResponse:
        """Polls until the job ends, and returns its final state (see `BatchClient`)."""
        last: BatchGetStatusResponse | None = None
        async for state in self.iter_status(
            job_id,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            on_progress=on_progress,
            raise_on_failure=raise_on_failure,
            project_id=project_id,
            organization_id=organization_id,
            clock=clock,
            sleep=sleep,
        ):
            last = state
        assert last is not None
        return last

    def iter_status(
        self,
        job_id: str,
        *,
        timeout: float | None = 7200.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
        project_id: str | None = None,
        organization_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> AsyncIterator[BatchGetStatusResponse]:
        """Yields each changed state of the job, up to and including the terminal one."""
        from . import _wait

        check_job_id(job_id)
        plan = _wait.WaitPlan.create(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            raise_on_failure=raise_on_failure,
            clock=clock,
            rng=self._rng,
        )
        return self._drive_one(
            plan.steps(job_id),
            job_id,
            project_id,
            organization_id,
            plan,
            on_progress,
            sleep or self._sleep,
        )

    async def _drive_one(
        self,
        steps: _wait.Steps,
        job_id: str,
        project_id: str | None,
        organization_id: str | None,
        plan: _wait.WaitPlan,
        on_progress: ProgressCallback | None,
        sleep: Callable[[float], Awaitable[None]],
    ) -> AsyncIterator[BatchGetStatusResponse]:
        from . import _wait

        outcome: _wait.Outcome = None
        while True:
            try:
                action = steps.send(outcome)
            except StopIteration:
                return
            outcome = None
            if isinstance(action, float):
                await sleep(action)
            elif isinstance(action, BatchGetStatusResponse):
                if on_progress is not None:
                    await _wait.call_progress(on_progress, action)
                yield action
            else:
                outcome = await self._poll(job_id, project_id, organization_id, plan, sleep)

    async def _poll(
        self,
        job_id: str,
        project_id: str | None,
        organization_id: str | None,
        plan: _wait.WaitPlan,
        sleep: Callable[[float], Awaitable[None]],
        gate: AbstractAsyncContextManager[object] | None = None,
    ) -> BatchGetStatusResponse | APIError:
        try:
            return await self._get_status(
                job_id,
                project_id,
                organization_id,
                sleep=sleep,
                clock=plan.clock,
                deadline=plan.deadline,
                gate=gate,
            )
        except APIError as exc:
            return exc

    async def wait_all(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = 7200.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
        project_id: str | None = None,
        organization_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> dict[str, BatchGetStatusResponse]:
        """Waits for every job; returns each one's terminal state (failed ones included)."""
        results: dict[str, BatchGetStatusResponse] = {}
        async for job_id, final in self._as_completed(
            job_ids,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            on_progress=on_progress,
            project_id=project_id,
            organization_id=organization_id,
            clock=clock,
            sleep=sleep,
        ):
            results[job_id] = final
        return results

    async def as_completed(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None = 7200.0,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
        project_id: str | None = None,
        organization_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> AsyncIterator[BatchGetStatusResponse]:
        """Yields each job's terminal state as it ends (failed and cancelled ones too).

        Never has more requests in flight than the connection pool allows, and spreads the
        first polls over `poll_interval` so a thousand jobs do not fire at once. An error for
        one job (a 404, say) does not stop the others: it is raised once they have all ended,
        and before any `WaitTimeoutError`.
        """
        async for _, final in self._as_completed(
            job_ids,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            on_progress=on_progress,
            project_id=project_id,
            organization_id=organization_id,
            clock=clock,
            sleep=sleep,
        ):
            yield final

    async def _as_completed(
        self,
        job_ids: Iterable[str],
        *,
        timeout: float | None,
        poll_interval: float,
        max_poll_interval: float,
        on_progress: ProgressCallback | None,
        project_id: str | None,
        organization_id: str | None,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] | None,
    ) -> AsyncIterator[tuple[str, BatchGetStatusResponse]]:
        """(the id the caller gave, its terminal state) for each job, as each ends."""
        from . import _wait

        ids = _wait.unique_job_ids(job_ids, check_job_id)
        plan = _wait.WaitPlan.create(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            raise_on_failure=False,
            clock=clock,
            rng=self._rng,
        )
        async for ended in _wait.fan_out(
            ids,
            plan,
            poll=lambda job_id, sleep_, gate: self._poll(
                job_id, project_id, organization_id, plan, sleep_, gate
            ),
            sleep=sleep or self._sleep,
            on_progress=on_progress,
            max_in_flight=_pool_limit(self._http),
        ):
            yield ended

    async def aclose(self) -> None:
        """Closes the connection pool (not that of an `http_client` you passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


_NO_GATE = contextlib.nullcontext()


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


# httpx's default pool size, used when the pool's own limit cannot be read.
_DEFAULT_POOL_LIMIT = 100


def _pool_limit(http: httpx.AsyncClient) -> int:
    """How many connections the client's pool allows (httpx keeps this on its transport)."""
    pool = getattr(getattr(http, "_transport", None), "_pool", None)
    limit = getattr(pool, "_max_connections", None)
    return limit if isinstance(limit, int) and limit > 0 else _DEFAULT_POOL_LIMIT


def wait_until_done(
    client: BatchClient | AuthenticatedClient,
    job_id: str,
    *,
    timeout: float | None = 7200.0,
    poll_interval: float = 1.0,
    max_poll_interval: float = 30.0,
    on_progress: ProgressCallback | None = None,
    raise_on_failure: bool = True,
    project_id: str | None = None,
    organization_id: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchGetStatusResponse:
    """`BatchClient.wait_until_done` for either client, including the generated one."""
    if isinstance(client, AuthenticatedClient):
        http = client.get_httpx_client()
        # The generated client sets no timeout by default; then use ours, not none at all.
        unbounded = http.timeout == httpx.Timeout(None)
        client = BatchClient(
            api_key=client.token,
            base_url=str(http.base_url),
            timeout=DEFAULT_TIMEOUT if unbounded else http.timeout,
            http_client=http,
        )
    return client.wait_until_done(
        job_id,
        timeout=timeout,
        poll_interval=poll_interval,
        max_poll_interval=max_poll_interval,
        on_progress=on_progress,
        raise_on_failure=raise_on_failure,
        project_id=project_id,
        organization_id=organization_id,
        clock=clock,
        sleep=sleep,
    )
