"""Retries of a single request: what is retried and how often, how long between tries
(server hints first, else capped backoff with jitter), and that every decision is logged."""

from __future__ import annotations

import datetime
import email.utils
import logging

import httpx
import pytest
from llamacloud_batch import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    JobStatus,
    RateLimitError,
)
from llamacloud_batch._retry import (
    MAX_BACKOFF_S,
    MAX_RETRY_AFTER_S,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
    retry_delay,
)

from tests.unit.conftest import (
    FakeClock,
    ScriptedServer,
    Step,
    async_client,
    error,
    ok,
    sync_client,
)

NOW = 1_700_000_000.0  # a Unix timestamp, the "now" HTTP dates are compared with


def _http_date(offset_s: float, *, zone: str = "GMT") -> str:
    when = datetime.datetime.fromtimestamp(NOW + offset_s, datetime.UTC)
    text = email.utils.format_datetime(when, usegmt=True)
    return text.replace("GMT", zone)


# Headers the server sends, and the wait they ask for (None: no usable hint).
RETRY_AFTER_TABLE: list[tuple[dict[str, str], float | None]] = [
    ({}, None),
    ({"retry-after": "5"}, 5.0),
    ({"retry-after": "0"}, 0.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after": "  7 "}, 7.0),
    ({"retry-after": "60"}, 60.0),
    ({"retry-after": "61"}, MAX_RETRY_AFTER_S),
    ({"retry-after": "86400"}, MAX_RETRY_AFTER_S),
    ({"retry-after": "1e300"}, MAX_RETRY_AFTER_S),
    ({"retry-after": "-3"}, 0.0),
    ({"retry-after": "soon"}, None),
    ({"retry-after": ""}, None),
    ({"retry-after": "inf"}, None),
    ({"retry-after": "nan"}, None),
    ({"retry-after": _http_date(30)}, 30.0),
    ({"retry-after": _http_date(-30)}, 0.0),
    ({"retry-after": _http_date(-10 * 365 * 86400)}, 0.0),
    ({"retry-after": _http_date(3600)}, MAX_RETRY_AFTER_S),
    ({"retry-after": _http_date(12, zone="-0000")}, 12.0),
    ({"retry-after": _http_date(12, zone="+0000")}, 12.0),
    ({"retry-after": "Wed, 99 Foo 2015 07:28:00 GMT"}, None),
    ({"retry-after": "Mon, 01 Jan 99999 00:00:00 GMT"}, None),
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after-ms": "0"}, 0.0),
    ({"retry-after-ms": "-5"}, 0.0),
    ({"retry-after-ms": "250.5"}, 0.2505),
    ({"retry-after-ms": "999999999"}, MAX_RETRY_AFTER_S),
    ({"retry-after-ms": "200", "retry-after": "9"}, 0.2),
    ({"retry-after-ms": "garbage", "retry-after": "9"}, 9.0),
    ({"retry-after-ms": "garbage"}, None),
]


@pytest.mark.parametrize(("headers", "expected"), RETRY_AFTER_TABLE)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    got = parse_retry_after(httpx.Headers(headers), now=NOW)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert got == pytest.approx(expected)
        assert 0.0 <= got <= MAX_RETRY_AFTER_S


def test_http_date_without_zone_is_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        got = parse_retry_after(
            httpx.Headers({"retry-after": _http_date(20, zone="-0000")}), now=NOW
        )
    finally:
        monkeypatch.undo()
        time.tzset()
    assert got == pytest.approx(20.0)


# Retries already done, the random draw, and the backoff it must give.
BACKOFF_TABLE = [
    (0, 0.0, 0.5),
    (0, 1.0, 0.375),
    (1, 0.0, 1.0),
    (2, 0.5, 2.0 * 0.875),
    (3, 0.0, 4.0),
    (4, 0.0, MAX_BACKOFF_S),
    (5, 1.0, MAX_BACKOFF_S * 0.75),
    (50, 0.0, MAX_BACKOFF_S),
    (5000, 0.0, MAX_BACKOFF_S),
]


@pytest.mark.parametrize(("retries_done", "draw", "expected"), BACKOFF_TABLE)
def test_backoff_is_exponential_capped_and_jittered(
    retries_done: int, draw: float, expected: float
) -> None:
    assert backoff_delay(retries_done, lambda: draw) == pytest.approx(expected)


def test_backoff_jitter_spreads_clients_within_a_quarter() -> None:
    draws = iter([0.0, 0.25, 0.5, 0.75, 0.999])
    delays = [backoff_delay(2, lambda: next(draws)) for _ in range(5)]
    assert len(set(delays)) == 5
    assert all(1.5 < d <= 2.0 for d in delays)


def test_retry_delay_prefers_the_servers_hint() -> None:
    hinted = httpx.Response(429, headers={"retry-after": "3"})
    plain = httpx.Response(503)
    assert retry_delay(0, hinted, now=NOW, rng=lambda: 0.0) == 3.0
    assert retry_delay(0, plain, now=NOW, rng=lambda: 0.0) == 0.5
    assert retry_delay(1, None, now=NOW, rng=lambda: 0.0) == 1.0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (599, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (409, False),
        (422, False),
    ],
)
def test_which_statuses_are_retryable(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


# -- through the client -----------------------------------------------------------------------

# A transient failure, and the error raised once retries run out.
TRANSIENT: list[tuple[Step, type[APIError]]] = [
    (httpx.ConnectError("refused"), APIConnectionError),
    (httpx.ReadError("reset by peer"), APIConnectionError),
    (
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        APIConnectionError,
    ),
    (httpx.ConnectTimeout("slow connect"), APITimeoutError),
    (httpx.ReadTimeout("slow read"), APITimeoutError),
    (httpx.WriteTimeout("slow write"), APITimeoutError),
    (httpx.PoolTimeout("pool exhausted"), APITimeoutError),
    (error(408, "request timeout"), APIStatusError),
    (error(429, "slow down"), RateLimitError),
    (error(500, "oops"), InternalServerError),
    (error(502, "bad gateway"), InternalServerError),
    (error(503, "unavailable"), InternalServerError),
    (error(504, "gateway timeout"), InternalServerError),
]


def _ids(table: list[tuple[Step, type[APIError]]]) -> list[str]:
    return [
        type(step).__name__
        if isinstance(step, Exception)
        else str(getattr(step, "status_code", ""))
        for step, _ in table
    ]


@pytest.mark.parametrize(("failure", "raised"), TRANSIENT, ids=_ids(TRANSIENT))
def test_transient_failures_are_retried_then_succeed(
    failure: Step, raised: type[APIError], clock: FakeClock
) -> None:
    server = ScriptedServer(failure, failure, ok("completed"))
    resp = sync_client(server, clock, max_retries=2).get_status("j")
    assert resp.job.status is JobStatus.COMPLETED
    assert server.calls == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(("failure", "raised"), TRANSIENT, ids=_ids(TRANSIENT))
def test_transient_failures_give_up_after_max_retries(
    failure: Step, raised: type[APIError], clock: FakeClock
) -> None:
    server = ScriptedServer(failure)
    with pytest.raises(raised):
        sync_client(server, clock, max_retries=2).get_status("j")
    assert server.calls == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("max_retries", [0, 1, 4])
def test_max_retries_bounds_the_attempts(max_retries: int, clock: FakeClock) -> None:
    server = ScriptedServer(error(503))
    with pytest.raises(InternalServerError):
        sync_client(server, clock, max_retries=max_retries).get_status("j")
    assert server.calls == max_retries + 1
    assert len(clock.sleeps) == max_retries


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_never_retried(status: int, clock: FakeClock) -> None:
    server = ScriptedServer(error(status), ok())
    with pytest.raises(APIStatusError) as info:
        sync_client(server, clock, max_retries=5).get_status("j")
    assert info.value.status_code == status
    assert server.calls == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [httpx.UnsupportedProtocol("no scheme"), httpx.TooManyRedirects("loop")],
)
def test_request_errors_no_retry_can_cure_are_not_retried(
    failure: httpx.RequestError, clock: FakeClock
) -> None:
    server = ScriptedServer(failure, ok())
    with pytest.raises(APIConnectionError):
        sync_client(server, clock, max_retries=3).get_status("j")
    assert server.calls == 1


def test_invalid_body_is_not_retried(clock: FakeClock) -> None:
    server = ScriptedServer(httpx.Response(200, content=b"not json"), ok())
    with pytest.raises(APIError):
        sync_client(server, clock, max_retries=3).get_status("j")
    assert server.calls == 1


# Headers on a 429 (or 503), and the sleep the client must take before its retry.
HINTED_SLEEPS: list[tuple[int, dict[str, str], float]] = [
    (429, {"retry-after": "3"}, 3.0),
    (429, {"retry-after": "0"}, 0.0),
    (503, {"retry-after": "2.5"}, 2.5),
    (429, {"retry-after-ms": "250"}, 0.25),
    (429, {"retry-after": "100000"}, 60.0),
    (429, {"retry-after": "-1"}, 0.0),
    (503, {"retry-after": "whenever"}, 0.5 * 0.875),  # garbage: backoff, rng fixed at 0.5
]


@pytest.mark.parametrize(("status", "headers", "expected"), HINTED_SLEEPS)
def test_server_hint_sets_the_sleep_before_a_retry(
    status: int, headers: dict[str, str], expected: float, clock: FakeClock
) -> None:
    server = ScriptedServer(httpx.Response(status, json={"detail": "x"}, headers=headers), ok())
    sync_client(server, clock).get_status("j")
    assert clock.sleeps == [pytest.approx(expected)]


def test_http_date_hint_is_measured_against_the_wall_clock(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setattr(time, "time", lambda: NOW)
    server = ScriptedServer(error(429, **{"retry-after": _http_date(7)}), ok())
    sync_client(server, clock).get_status("j")
    assert clock.sleeps == [pytest.approx(7.0)]


def test_backoff_grows_between_retries(clock: FakeClock) -> None:
    server = ScriptedServer(error(503), error(503), error(503), error(503), ok())
    sync_client(server, clock, max_retries=4).get_status("j")
    # rng is fixed at 0.5 by the helper: 12.5 % off 0.5, 1, 2, 4 s.
    assert clock.sleeps == pytest.approx([0.4375, 0.875, 1.75, 3.5])


def test_every_decision_is_logged_at_debug(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = ScriptedServer(httpx.ConnectError("refused"), error(503), error(503))
    with (
        caplog.at_level(logging.DEBUG, logger="llamacloud_batch"),
        pytest.raises(InternalServerError),
    ):
        sync_client(server, clock, max_retries=2).get_status("j")
    records = [r for r in caplog.records if r.name == "llamacloud_batch"]
    assert all(r.levelno == logging.DEBUG for r in records)
    messages = [r.getMessage() for r in records]
    assert len(messages) == 3, messages
    assert "Retrying in 0.44 s (retry 1 of 2)" in messages[0]
    assert "refused" in messages[0]
    assert "Retrying in 0.88 s (retry 2 of 2)" in messages[1]
    assert "503" in messages[1]
    assert "Giving up after 2 retries" in messages[2]


def test_a_refusal_to_retry_is_logged_too(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = ScriptedServer(error(404, "Batch job not found"))
    with (
        caplog.at_level(logging.DEBUG, logger="llamacloud_batch"),
        pytest.raises(APIStatusError),
    ):
        sync_client(server, clock).get_status("j")
    (record,) = [r for r in caplog.records if r.name == "llamacloud_batch"]
    assert record.levelno == logging.DEBUG
    assert "Not retrying" in record.getMessage()
    assert "Batch job not found" in record.getMessage()


async def test_async_retries_use_the_same_policy(clock: FakeClock) -> None:
    server = ScriptedServer(
        httpx.ConnectError("refused"), error(429, **{"retry-after": "2"}), ok("completed")
    )
    client = async_client(server, clock.async_sleep, max_retries=2)
    resp = await client.get_status("j")
    assert resp.job.status is JobStatus.COMPLETED
    assert clock.sleeps == pytest.approx([0.4375, 2.0])


@pytest.mark.parametrize(("failure", "raised"), TRANSIENT[::3], ids=_ids(TRANSIENT[::3]))
async def test_async_gives_up_after_max_retries(
    failure: Step, raised: type[APIError], clock: FakeClock
) -> None:
    server = ScriptedServer(failure)
    with pytest.raises(raised):
        await async_client(server, clock.async_sleep, max_retries=1).get_status("j")
    assert server.calls == 2


async def test_async_client_errors_are_never_retried(clock: FakeClock) -> None:
    server = ScriptedServer(error(401, "bad key"), ok())
    with pytest.raises(APIStatusError):
        await async_client(server, clock.async_sleep, max_retries=3).get_status("j")
    assert server.calls == 1
    assert clock.sleeps == []
