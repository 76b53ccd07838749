"""Fault injection over real loopback sockets: for each way a server or network can misbehave,
the client ends in bounded time with the documented outcome, and the key stays at its origin.

Retry waits go to a recorder (`client._sleep`), so the delays the client chose are asserted
without being slept; only the client's own request timeouts (fractions of a second) run for real.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx
import pytest
from llamacloud_batch import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncBatchClient,
    AuthenticationError,
    BatchClient,
    BatchGetStatusResponse,
    InternalServerError,
    JobStatus,
    RateLimitError,
    WaitTimeoutError,
)
from llamacloud_batch._retry import MAX_RETRY_AFTER_S

from tests.integration.faultserver import (
    FaultServer,
    Step,
    answer,
    drop,
    gzipped,
    half_body_then_close,
    json_answer,
    redirect,
    running,
    stall_before_headers,
    stall_mid_body,
    trickle_body,
)
from tests.spec_schema import seed_example

T = TypeVar("T")

API_KEY = "sk-fault-canary-0123456789"
JOB_ID = "bjb-faults"
PATH = f"/api/v1/beta/batch-processing/{JOB_ID}"
BODY = json.dumps(seed_example()).encode()
OK = answer(200, BODY, {"Content-Type": "application/json"})
# Short enough that timeouts cost little, long enough for a loaded 2-core machine to answer.
REQUEST_TIMEOUT_S = 0.5
# A safety net only: every outcome below is expected well inside it.
WALL_LIMIT_S = 20.0
RNG = 0.5  # backoff jitter fixed: with it, retry n waits 0.5 * 2**n * 0.875 s
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def bounded(call: Callable[[], T], limit_s: float = WALL_LIMIT_S) -> T:
    """`call()`, run in a thread so that a hang fails the test instead of stalling the run."""
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # handed back to the test thread below
            outcome.append((False, exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit_s)
    if thread.is_alive():
        pytest.fail(f"no outcome within {limit_s} s: the client hung")
    ok, value = outcome[0]
    if not ok:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]  # call's own result


class Client:
    """A BatchClient on `server`, its retry waits recorded instead of slept."""

    def __init__(
        self, server: FaultServer, *, max_retries: int, http_client: httpx.Client | None
    ) -> None:
        self.delays: list[float] = []
        self.api = BatchClient(
            API_KEY,
            base_url=server.origin,
            timeout=REQUEST_TIMEOUT_S,
            max_retries=max_retries,
            http_client=http_client,
        )
        self.api._sleep = self.delays.append
        self.api._rng = lambda: RNG

    def get_status(self) -> BatchGetStatusResponse:
        return bounded(lambda: self.api.get_status(JOB_ID))


class Lab:
    """Fault servers and clients for one test, all stopped and closed at its end."""

    def __init__(self) -> None:
        self._closers: list[Callable[[], object]] = []

    def serve(self, *steps: Step) -> FaultServer:
        context = running(*steps)
        server = context.__enter__()
        self._closers.append(lambda: context.__exit__(None, None, None))
        return server

    def client(
        self, server: FaultServer, *, max_retries: int = 2, http_client: httpx.Client | None = None
    ) -> Client:
        client = Client(server, max_retries=max_retries, http_client=http_client)
        self._closers.append(client.api.close)
        return client

    def batch_client(self, server: FaultServer, *, timeout: float) -> BatchClient:
        api = BatchClient(API_KEY, base_url=server.origin, timeout=timeout)
        self._closers.append(api.close)
        return api

    def close(self) -> None:
        for close in reversed(self._closers):
            close()


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = Lab()
    yield lab
    lab.close()


def backoff(n: int) -> float:
    return 0.5 * 2.0**n * (1 - 0.25 * RNG)


# ---------------------------------------------------------------------------------------------
# Connections that break


def test_dropped_connection_is_retried_then_a_connection_error(
    lab: Lab,
) -> None:
    server = lab.serve(drop())
    client = lab.client(server)
    with pytest.raises(APIConnectionError) as caught:
        client.get_status()
    assert type(caught.value) is APIConnectionError
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert len(server.seen) == 3
    assert client.delays == [backoff(0), backoff(1)]


def test_dropped_connection_then_an_answer_recovers(lab: Lab) -> None:
    server = lab.serve(drop(), OK)
    result = lab.client(server).get_status()
    assert result.job.id == seed_example()["job"]["id"]
    assert len(server.seen) == 2


def test_stall_before_headers_is_a_timeout(lab: Lab) -> None:
    server = lab.serve(stall_before_headers())
    client = lab.client(server, max_retries=1)
    with pytest.raises(APITimeoutError) as caught:
        client.get_status()
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(server.seen) == 2


def test_stall_mid_body_is_a_timeout(lab: Lab) -> None:
    server = lab.serve(stall_mid_body(BODY))
    client = lab.client(server, max_retries=1)
    with pytest.raises(APITimeoutError) as caught:
        client.get_status()
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(server.seen) == 2


def test_half_a_body_then_close_is_a_connection_error(lab: Lab) -> None:
    server = lab.serve(half_body_then_close(BODY))
    client = lab.client(server, max_retries=1)
    with pytest.raises(APIConnectionError) as caught:
        client.get_status()
    assert not isinstance(caught.value, APITimeoutError)
    assert len(server.seen) == 2


def test_refused_connection_is_a_connection_error(lab: Lab) -> None:
    server = lab.serve(OK)
    origin = server.origin
    server.stopping.set()
    server.shutdown()
    server.server_close()
    client = lab.client(server, max_retries=1)
    with pytest.raises(APIConnectionError) as caught:
        client.get_status()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert client.delays == [backoff(0)]
    assert origin == server.origin


@pytest.mark.parametrize(
    "step",
    [trickle_body(BODY, every_s=0.05), trickle_body(gzip.compress(BODY), every_s=0.05, gzip=True)],
    ids=["plain", "gzip"],
)
def test_a_trickling_body_cannot_hold_a_wait_past_its_deadline(lab: Lab, step: Step) -> None:
    """Each byte arrives inside the read timeout, so only the wait's deadline can end this."""
    server = lab.serve(step)
    api = lab.batch_client(server, timeout=REQUEST_TIMEOUT_S)
    wait_s = 1.0
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError):
        bounded(lambda: api.wait_until_done(JOB_ID, timeout=wait_s, poll_interval=0.1))
    # The trickle alone would take 0.05 s a byte (tens of seconds); the deadline must win.
    assert time.monotonic() - started < wait_s + 2 * REQUEST_TIMEOUT_S + 2.0


def test_a_wait_on_a_server_that_only_stalls_ends_at_its_deadline(
    lab: Lab,
) -> None:
    server = lab.serve(stall_before_headers())
    api = lab.batch_client(server, timeout=30.0)
    wait_s = 1.0
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        bounded(lambda: api.wait_until_done(JOB_ID, timeout=wait_s, poll_interval=0.1))
    # The request timeout (30 s) is cut to what is left of the wait.
    assert time.monotonic() - started < wait_s + 2.0
    assert caught.value.job_id == JOB_ID
    assert server.seen


# ---------------------------------------------------------------------------------------------
# 429 and its hints


def _http_dates(headers: dict[str, str]) -> dict[str, str]:
    """`http-date:<seconds from now>` values turned into HTTP dates when the test runs."""
    return {
        name: email.utils.formatdate(time.time() + float(value[10:]), usegmt=True)
        if value.startswith("http-date:")
        else value
        for name, value in headers.items()
    }


@pytest.mark.parametrize(
    ("headers", "expected_s"),
    [
        ({"Retry-After": "2"}, (2.0, 2.0)),
        ({"Retry-After": "0.25"}, (0.25, 0.25)),
        ({"Retry-After": "0"}, (0.0, 0.0)),
        ({"Retry-After": "-5"}, (0.0, 0.0)),
        ({"Retry-After": "http-date:-3600"}, (0.0, 0.0)),
        ({"Retry-After": "http-date:30"}, (27.0, 31.0)),
        ({"retry-after-ms": "1500"}, (1.5, 1.5)),
        ({"retry-after-ms": "250", "Retry-After": "9"}, (0.25, 0.25)),
        ({"retry-after-ms": "soon", "Retry-After": "3"}, (3.0, 3.0)),
        ({"Retry-After": "soon"}, (backoff(0), backoff(0))),
        ({"Retry-After": "nan"}, (backoff(0), backoff(0))),
        ({"Retry-After": "Sun, 99 Foo 2026 99:99:99 GMT"}, (backoff(0), backoff(0))),
        ({"Retry-After": "99999999"}, (MAX_RETRY_AFTER_S, MAX_RETRY_AFTER_S)),
        ({"Retry-After": "1e308"}, (MAX_RETRY_AFTER_S, MAX_RETRY_AFTER_S)),
        ({"Retry-After": "http-date:315360000"}, (MAX_RETRY_AFTER_S, MAX_RETRY_AFTER_S)),
        ({"retry-after-ms": "86400000"}, (MAX_RETRY_AFTER_S, MAX_RETRY_AFTER_S)),
        ({}, (backoff(0), backoff(0))),
    ],
    ids=[
        "seconds",
        "fractional-seconds",
        "zero",
        "negative",
        "http-date-past",
        "http-date-future",
        "milliseconds",
        "milliseconds-win",
        "garbage-ms-falls-back",
        "garbage",
        "nan",
        "malformed-http-date",
        "absurd-seconds",
        "float-overflow-ish",
        "http-date-years-ahead",
        "absurd-milliseconds",
        "no-hint",
    ],
)
def test_429_waits_what_the_hint_says_within_bounds(
    lab: Lab,
    headers: dict[str, str],
    expected_s: tuple[float, float],
) -> None:
    server = lab.serve(json_answer(429, {"detail": "Too many requests"}, _http_dates(headers)), OK)
    client = lab.client(server)
    result = client.get_status()
    assert result.job.status is JobStatus.PENDING
    assert len(client.delays) == 1
    low, high = expected_s
    assert low <= client.delays[0] <= high


def test_429_until_retries_run_out_is_a_rate_limit_error(lab: Lab) -> None:
    server = lab.serve(
        json_answer(
            429, {"detail": "Too many requests"}, {"Retry-After": "1", "x-request-id": "r-1"}
        )
    )
    client = lab.client(server)
    with pytest.raises(RateLimitError) as caught:
        client.get_status()
    assert caught.value.status_code == 429
    assert caught.value.request_id == "r-1"
    assert client.delays == [1.0, 1.0]
    assert len(server.seen) == 3


# ---------------------------------------------------------------------------------------------
# Error pages, encodings


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_with_an_html_body_is_an_internal_server_error(lab: Lab, status: int) -> None:
    server = lab.serve(answer(status, HTML, {"Content-Type": "text/html"}))
    client = lab.client(server)
    with pytest.raises(InternalServerError) as caught:
        client.get_status()
    assert caught.value.status_code == status
    assert caught.value.body == HTML.decode()
    assert "Bad Gateway" in str(caught.value) and "\n" not in str(caught.value)
    assert len(server.seen) == 3


def test_5xx_html_then_an_answer_recovers(lab: Lab) -> None:
    server = lab.serve(answer(503, HTML, {"Content-Type": "text/html"}), OK)
    assert lab.client(server).get_status().job.id == seed_example()["job"]["id"]


def test_a_200_with_an_html_body_is_a_validation_error(lab: Lab) -> None:
    server = lab.serve(answer(200, HTML, {"Content-Type": "text/html"}))
    with pytest.raises(APIResponseValidationError):
        lab.client(server).get_status()
    assert len(server.seen) == 1


def test_a_gzip_body_parses(lab: Lab) -> None:
    server = lab.serve(gzipped(200, BODY))
    result = lab.client(server).get_status()
    assert result.job.id == seed_example()["job"]["id"]


def test_a_corrupt_gzip_body_is_a_typed_error(lab: Lab) -> None:
    server = lab.serve(gzipped(200, BODY, corrupt=True))
    with pytest.raises(APIConnectionError) as caught:
        lab.client(server).get_status()
    assert isinstance(caught.value.__cause__, httpx.DecodingError)
    # Corruption is not a passing network fault: asking again gets the same bytes.
    assert len(server.seen) == 1


def test_a_corrupt_gzip_error_page_is_still_the_status_error(
    lab: Lab,
) -> None:
    server = lab.serve(gzipped(503, b'{"detail": "down"}', corrupt=True))
    with pytest.raises((InternalServerError, APIConnectionError)):
        lab.client(server, max_retries=0).get_status()


# ---------------------------------------------------------------------------------------------
# Redirects: followed within the origin, and the key never leaves it


@pytest.fixture(params=["own-pool", "users-http-client"])
def users_http(request: pytest.FixtureRequest) -> Iterator[httpx.Client | None]:
    """Both ways the key reaches httpx: client headers (own pool) or request headers (user's)."""
    if request.param == "own-pool":
        yield None
        return
    with httpx.Client(follow_redirects=True) as http:
        yield http


def test_redirect_within_the_origin_is_followed_with_the_key(
    lab: Lab, users_http: httpx.Client | None
) -> None:
    server = lab.serve(redirect(f"/api/v1/beta/batch-processing/{JOB_ID}?moved=1"), OK)
    result = lab.client(server, http_client=users_http).get_status()
    assert result.job.id == seed_example()["job"]["id"]
    assert [seen.headers.get("authorization") for seen in server.seen] == [f"Bearer {API_KEY}"] * 2


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_origin_never_carries_the_key(
    lab: Lab, users_http: httpx.Client | None, status: int
) -> None:
    other = lab.serve(json_answer(401, {"detail": "Invalid API key"}))
    server = lab.serve(redirect(other.url(PATH), status))
    with pytest.raises(AuthenticationError):
        lab.client(server, http_client=users_http).get_status()
    assert other.seen, "the redirect was not followed"
    assert not other.any_request_carries(API_KEY)
    assert all("authorization" not in seen.headers for seen in other.seen)


def test_redirect_away_and_back_does_not_restore_the_key(
    lab: Lab, users_http: httpx.Client | None
) -> None:
    """Once a hop left the origin, even a redirect back must not carry the key again."""
    server = lab.serve(OK)
    other = lab.serve(redirect(server.url(PATH + "?back=1")))
    server.script(redirect(other.url(PATH)), json_answer(401, {"detail": "no key"}))
    with pytest.raises(AuthenticationError):
        lab.client(server, http_client=users_http).get_status()
    assert not other.any_request_carries(API_KEY)
    assert len(server.seen) == 2 and not server.seen[1].carries(API_KEY)


def test_a_port_is_an_origin_too(lab: Lab) -> None:
    """Same host, another port: another origin (RFC 6454), so no key."""
    other = lab.serve(OK)
    server = lab.serve(redirect(other.url(PATH)))
    lab.client(server).get_status()
    assert server.origin.rsplit(":", 1)[0] == other.origin.rsplit(":", 1)[0]
    assert not other.any_request_carries(API_KEY)


def test_a_redirect_loop_ends_in_a_typed_error(lab: Lab) -> None:
    server = lab.serve(redirect(PATH))
    with pytest.raises(APIConnectionError) as caught:
        lab.client(server).get_status()
    assert isinstance(caught.value.__cause__, httpx.TooManyRedirects)
    assert len(server.seen) <= 21  # httpx's limit is 20 redirects


def test_a_redirect_to_another_scheme_ends_in_a_typed_error(
    lab: Lab,
) -> None:
    server = lab.serve(redirect("ftp://127.0.0.1/elsewhere"))
    with pytest.raises(APIConnectionError):
        lab.client(server).get_status()
    assert len(server.seen) == 1


def test_a_redirect_the_users_client_does_not_follow_is_a_status_error(
    lab: Lab,
) -> None:
    other = lab.serve(OK)
    server = lab.serve(redirect(other.url(PATH), 302))
    # follow_redirects is off by default in httpx
    with httpx.Client() as http, pytest.raises(APIStatusError) as caught:
        lab.client(server, http_client=http).get_status()
    assert caught.value.status_code == 302
    assert not other.seen


async def test_a_trickling_body_cannot_hold_an_async_wait_past_its_deadline(lab: Lab) -> None:
    server = lab.serve(trickle_body(BODY, every_s=0.05))
    wait_s = 1.0
    started = time.monotonic()
    async with AsyncBatchClient(API_KEY, base_url=server.origin, timeout=REQUEST_TIMEOUT_S) as api:
        with pytest.raises(WaitTimeoutError):
            await asyncio.wait_for(
                api.wait_until_done(JOB_ID, timeout=wait_s, poll_interval=0.1), WALL_LIMIT_S
            )
    assert time.monotonic() - started < wait_s + 2 * REQUEST_TIMEOUT_S + 2.0
