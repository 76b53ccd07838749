"""Waiting on the fake clock: first poll at once, terminal states, a deadline never overshot,
transient failures ridden out, callbacks, interrupts and cancellation, and many jobs at once
(sync scheduler and async fan-out within the connection pool)."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable

import httpx
import llamacloud_batch
import pytest
from llamacloud_batch import (
    TERMINAL_STATUSES,
    APIConnectionError,
    APIStatusError,
    AsyncBatchClient,
    AuthenticationError,
    BatchGetStatusResponse,
    JobCancelledError,
    JobFailedError,
    JobStatus,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WaitTimeoutError,
)
from llamacloud_batch_api.client import AuthenticatedClient
from llamacloud_batch_api.types import UNSET

from tests.unit.conftest import (
    API_KEY,
    BASE_URL,
    AsyncHandler,
    FakeClock,
    PerJobServer,
    ScriptedServer,
    Step,
    VirtualTime,
    async_client,
    error,
    job_id_of,
    ok,
    sync_client,
)

Timeline = list[tuple[float, str, float]]


def timeline(now: Callable[[], float], start: float, events: Timeline) -> Callable[..., object]:
    """A handler answering with the latest (elapsed_s, status, progress) event reached."""

    def handler(request: httpx.Request) -> httpx.Response:
        elapsed = now() - start
        current = [event for event in events if event[0] <= elapsed][-1]
        _, status, progress = current
        return ok(status, job_id=job_id_of(request), progress=progress)

    return handler


class Recorder:
    """A handler wrapper that notes the clock reading at each request."""

    def __init__(self, inner: Callable[[httpx.Request], httpx.Response], now: Callable[[], float]):
        self.inner = inner
        self.now = now
        self.times: list[float] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(self.now())
        self.requests.append(request)
        return self.inner(request)


def test_terminal_statuses_are_exactly_the_three_endings() -> None:
    assert frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}) == (
        TERMINAL_STATUSES
    )


# -- one job, sync ----------------------------------------------------------------------------


def test_first_poll_happens_at_once(clock: FakeClock) -> None:
    server = Recorder(ScriptedServer(ok("completed", progress=100)), clock.now)
    resp = sync_client(server).wait_until_done("j", clock=clock.now, sleep=clock.sleep)
    assert resp.job.status is JobStatus.COMPLETED
    assert server.times == [clock.start]
    assert clock.sleeps == []


def test_polls_until_completed_and_returns_the_final_state(clock: FakeClock) -> None:
    server = ScriptedServer(
        ok("pending"), ok("running", progress=20), ok("running", progress=70), ok("completed")
    )
    resp = sync_client(server).wait_until_done("j", clock=clock.now, sleep=clock.sleep)
    assert resp.job.status is JobStatus.COMPLETED
    assert server.calls == 4
    assert len(clock.sleeps) == 3
    assert all(0 < s <= 30.0 for s in clock.sleeps)


@pytest.mark.parametrize("status", ["failed", "FAILED", "Failed"])
def test_failed_raises_with_the_jobs_error_message(clock: FakeClock, status: str) -> None:
    server = ScriptedServer(ok("running"), ok(status, error_message="3 files were corrupt"))
    with pytest.raises(JobFailedError) as info:
        sync_client(server).wait_until_done("bjb-42", clock=clock.now, sleep=clock.sleep)
    assert "3 files were corrupt" in str(info.value)
    assert "bjb-42" in str(info.value)
    assert info.value.job_id == "bjb-42"
    assert info.value.status is not None
    assert info.value.status.job.status is JobStatus.FAILED


def test_failed_without_a_message_still_says_so(clock: FakeClock) -> None:
    server = ScriptedServer(ok("failed"))
    with pytest.raises(JobFailedError, match="failed"):
        sync_client(server).wait_until_done("j", clock=clock.now, sleep=clock.sleep)


def test_cancelled_raises_job_cancelled(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"), ok("cancelled"))
    with pytest.raises(JobCancelledError) as info:
        sync_client(server).wait_until_done("bjb-7", clock=clock.now, sleep=clock.sleep)
    assert info.value.job_id == "bjb-7"
    assert info.value.status is not None
    assert info.value.status.job.status is JobStatus.CANCELLED
    assert "bjb-7" in str(info.value)


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_raise_on_failure_false_returns_every_ending(clock: FakeClock, status: str) -> None:
    server = ScriptedServer(ok("running"), ok(status, error_message="why"))
    resp = sync_client(server).wait_until_done(
        "j", raise_on_failure=False, clock=clock.now, sleep=clock.sleep
    )
    assert resp.job.status == status
    assert resp.job.status in TERMINAL_STATUSES


# (timeout, poll_interval, max_poll_interval) on a job that never ends.
DEADLINES = [
    (0.0, 1.0, 30.0),
    (0.3, 1.0, 30.0),
    (1.0, 1.0, 1.0),
    (2.5, 1.0, 30.0),
    (10.0, 1.0, 30.0),
    (10.0, 3.0, 3.0),
    (61.3, 1.0, 30.0),
    (600.0, 0.5, 10.0),
    (3600.0, 1.0, 30.0),
]


@pytest.mark.parametrize(("timeout", "interval", "max_interval"), DEADLINES)
def test_deadline_is_never_overshot(
    clock: FakeClock, timeout: float, interval: float, max_interval: float
) -> None:
    server = Recorder(ScriptedServer(ok("running", progress=12)), clock.now)
    with pytest.raises(WaitTimeoutError) as info:
        sync_client(server).wait_until_done(
            "bjb-slow",
            timeout=timeout,
            poll_interval=interval,
            max_poll_interval=max_interval,
            clock=clock.now,
            sleep=clock.sleep,
        )
    assert sum(clock.sleeps) <= timeout + 1e-9
    assert clock.elapsed == pytest.approx(timeout), "the whole allowance is used"
    assert all(t <= clock.start + timeout + 1e-9 for t in server.times)
    assert all(s <= max_interval + 1e-9 for s in clock.sleeps)
    if len(clock.sleeps) >= 2:
        assert clock.sleeps[-1] <= max(clock.sleeps[:-1]), "the last sleep is cut to fit"
    error = info.value
    assert error.job_id == "bjb-slow"
    assert "bjb-slow" in str(error)
    assert "may still be running" in str(error)
    assert error.status is not None
    assert error.status.job.status is JobStatus.RUNNING
    assert error.status.progress_percentage == 12.0
    assert error.statuses == {"bjb-slow": error.status}


def test_interval_grows_toward_the_maximum_while_nothing_changes(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running", progress=5))
    with pytest.raises(WaitTimeoutError):
        sync_client(server).wait_until_done(
            "j",
            timeout=600,
            poll_interval=1.0,
            max_poll_interval=20.0,
            clock=clock.now,
            sleep=clock.sleep,
        )
    assert clock.sleeps[0] <= 1.0
    assert max(clock.sleeps) > 10.0
    assert all(s <= 20.0 for s in clock.sleeps)
    assert server.calls < 100, "an idle job is not polled every second for ten minutes"


def test_no_deadline_waits_as_long_as_it_takes(clock: FakeClock) -> None:
    day = 86_400.0
    handler = timeline(clock.now, clock.start, [(0, "running", 1), (day, "completed", 100)])
    server = Recorder(handler, clock.now)  # type: ignore[arg-type]
    resp = sync_client(server).wait_until_done(
        "j", timeout=None, max_poll_interval=60.0, clock=clock.now, sleep=clock.sleep
    )
    assert resp.job.status is JobStatus.COMPLETED
    assert clock.elapsed >= day
    assert len(server.times) < 3000


def test_wait_timeout_before_any_answer_carries_none(clock: FakeClock) -> None:
    server = ScriptedServer(error(503))
    with pytest.raises(WaitTimeoutError) as info:
        sync_client(server).wait_until_done("j", timeout=20, clock=clock.now, sleep=clock.sleep)
    assert info.value.status is None
    assert info.value.statuses == {"j": None}
    assert "may still be running" in str(info.value)
    assert sum(clock.sleeps) <= 20 + 1e-9


TRANSIENT_STEPS: list[Step] = [
    error(503),
    error(502),
    error(500),
    error(429),
    error(408),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("slow"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
]


@pytest.mark.parametrize("failure", TRANSIENT_STEPS)
def test_transient_failures_keep_the_wait_going(clock: FakeClock, failure: Step) -> None:
    # Ten failures in a row outlast the per-request retries several times over.
    steps: list[Step] = [ok("running"), *[failure] * 10, ok("completed")]
    server = ScriptedServer(*steps)
    resp = sync_client(server, max_retries=2).wait_until_done(
        "j", timeout=3600, clock=clock.now, sleep=clock.sleep
    )
    assert resp.job.status is JobStatus.COMPLETED
    assert server.calls == 12


@pytest.mark.parametrize("failure", TRANSIENT_STEPS[:6])
def test_transient_failures_until_the_deadline_end_in_wait_timeout(
    clock: FakeClock, failure: Step
) -> None:
    server = Recorder(ScriptedServer(ok("running", progress=40), failure), clock.now)
    with pytest.raises(WaitTimeoutError) as info:
        sync_client(server).wait_until_done("j", timeout=120, clock=clock.now, sleep=clock.sleep)
    assert sum(clock.sleeps) <= 120 + 1e-9
    assert clock.elapsed == pytest.approx(120)
    assert info.value.status is not None
    assert info.value.status.progress_percentage == 40.0
    assert all(t <= clock.start + 120 + 1e-9 for t in server.times)


def test_server_hint_longer_than_the_time_left_is_not_slept(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"), error(429, **{"retry-after": "60"}))
    with pytest.raises(WaitTimeoutError):
        sync_client(server, max_retries=5).wait_until_done(
            "j", timeout=30, clock=clock.now, sleep=clock.sleep
        )
    assert sum(clock.sleeps) <= 30 + 1e-9


def test_request_timeouts_shrink_to_fit_the_deadline(clock: FakeClock) -> None:
    sent: list[tuple[float, dict[str, float | None]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((clock.now(), request.extensions["timeout"]))
        return ok("running")

    with pytest.raises(WaitTimeoutError):
        sync_client(handler).wait_until_done("j", timeout=90, clock=clock.now, sleep=clock.sleep)
    deadline = clock.start + 90
    for sent_at, timeout in sent:
        phases = [t for t in timeout.values() if t is not None]
        assert len(phases) == 4
        assert max(phases) <= max(deadline - sent_at, 0.05) + 1e-9
    assert sent[0][1]["read"] == 60.0, "far from the deadline the client's own timeout holds"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, UnprocessableEntityError),
        (400, APIStatusError),
        (409, APIStatusError),
    ],
)
def test_non_transient_failures_end_the_wait_at_once(
    clock: FakeClock, status: int, cls: type[APIStatusError]
) -> None:
    server = ScriptedServer(ok("running"), error(status, "no"), ok("completed"))
    with pytest.raises(cls) as info:
        sync_client(server).wait_until_done("j", clock=clock.now, sleep=clock.sleep)
    assert info.value.status_code == status
    assert server.calls == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.TooManyRedirects("Exceeded maximum allowed redirects."),
        httpx.UnsupportedProtocol("Request URL has an unsupported protocol."),
        httpx.LocalProtocolError("Illegal header value."),
    ],
)
def test_connection_errors_that_waiting_cannot_cure_end_the_wait_at_once(
    clock: FakeClock, failure: httpx.RequestError
) -> None:
    server = ScriptedServer(ok("running"), failure, ok("completed"))
    with pytest.raises(APIConnectionError) as info:
        sync_client(server).wait_until_done("j", clock=clock.now, sleep=clock.sleep)
    assert info.value.__cause__ is failure
    assert server.calls == 2, "neither retried nor polled again"


def test_unknown_status_keeps_polling_and_warns_once(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = ScriptedServer(
        ok("paused"), ok("paused", progress=10), ok("paused", progress=20), ok("completed")
    )
    with caplog.at_level(logging.DEBUG, logger="llamacloud_batch"):
        resp = sync_client(server).wait_until_done("j", clock=clock.now, sleep=clock.sleep)
    assert resp.job.status is JobStatus.COMPLETED
    assert server.calls == 4
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].name == "llamacloud_batch"
    assert "paused" in warnings[0].getMessage()


def test_unknown_status_never_ends_a_wait_by_itself(clock: FakeClock) -> None:
    server = ScriptedServer(ok("archived"))
    with pytest.raises(WaitTimeoutError):
        sync_client(server).wait_until_done("j", timeout=50, clock=clock.now, sleep=clock.sleep)


# Arguments no wait can honour.
NONSENSE: list[dict[str, float | None]] = [
    {"poll_interval": 0},
    {"poll_interval": -1},
    {"poll_interval": math.nan},
    {"poll_interval": math.inf},
    {"max_poll_interval": 0},
    {"max_poll_interval": math.nan},
    {"poll_interval": 5, "max_poll_interval": 2},
    {"timeout": -1},
    {"timeout": -0.001},
    {"timeout": math.nan},
]


def _wait_kwargs(args: dict[str, float | None]) -> dict[str, float | None]:
    return {"timeout": 10.0, "poll_interval": 1.0, "max_poll_interval": 30.0, **args}


@pytest.mark.parametrize("args", NONSENSE)
def test_nonsense_arguments_are_refused_before_any_request(
    clock: FakeClock, args: dict[str, float | None]
) -> None:
    server = ScriptedServer(ok("completed"))
    client = sync_client(server)
    kw = _wait_kwargs(args)
    timeout, interval, max_interval = kw["timeout"], kw["poll_interval"], kw["max_poll_interval"]
    assert interval is not None
    assert max_interval is not None
    calls: list[Callable[[], object]] = [
        lambda: client.wait_until_done(
            "j", timeout=timeout, poll_interval=interval, max_poll_interval=max_interval
        ),
        lambda: client.iter_status(
            "j", timeout=timeout, poll_interval=interval, max_poll_interval=max_interval
        ),
        lambda: client.wait_all(
            ["j"], timeout=timeout, poll_interval=interval, max_poll_interval=max_interval
        ),
        lambda: client.as_completed(
            ["j"], timeout=timeout, poll_interval=interval, max_poll_interval=max_interval
        ),
        lambda: llamacloud_batch.wait_until_done(
            client, "j", timeout=timeout, poll_interval=interval, max_poll_interval=max_interval
        ),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
    assert server.calls == 0


def test_on_progress_sees_each_change_once(clock: FakeClock) -> None:
    server = ScriptedServer(
        ok("pending"),
        ok("pending"),
        ok("running", progress=0),
        ok("running", progress=0),
        ok("running", progress=50, processed=5),
        ok("running", progress=50, processed=5),
        ok("running", progress=50, processed=6),
        ok("completed", progress=100, processed=10),
    )
    seen: list[tuple[str, float, object]] = []

    def on_progress(resp: BatchGetStatusResponse) -> None:
        seen.append((str(resp.job.status), resp.progress_percentage, resp.job.processed_items))

    sync_client(server).wait_until_done(
        "j", on_progress=on_progress, clock=clock.now, sleep=clock.sleep
    )
    statuses = [s for s, _, _ in seen]
    assert statuses == [
        str(JobStatus.PENDING),
        str(JobStatus.RUNNING),
        str(JobStatus.RUNNING),
        str(JobStatus.RUNNING),
        str(JobStatus.COMPLETED),
    ]
    assert [(p, n) for _, p, n in seen][1:] == [(0.0, UNSET), (50.0, 5), (50.0, 6), (100.0, 10)]


class CallbackBoom(Exception):
    pass


def test_on_progress_exception_propagates_and_stops_polling(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running", progress=10), ok("running", progress=20))

    def on_progress(resp: BatchGetStatusResponse) -> None:
        if resp.progress_percentage >= 20:
            raise CallbackBoom

    with pytest.raises(CallbackBoom):
        sync_client(server).wait_until_done(
            "j", on_progress=on_progress, clock=clock.now, sleep=clock.sleep
        )
    assert server.calls == 2


def test_keyboard_interrupt_in_sleep_ends_the_wait(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"))

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync_client(server).wait_until_done("j", clock=clock.now, sleep=sleep)
    assert server.calls == 3


def test_keyboard_interrupt_in_a_retry_sleep_ends_the_wait(clock: FakeClock) -> None:
    server = ScriptedServer(error(503))

    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync_client(server, max_retries=3).wait_until_done("j", clock=clock.now, sleep=sleep)
    assert server.calls == 1


def test_keyboard_interrupt_during_a_request_ends_the_wait(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"), KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        sync_client(server).wait_until_done("j", clock=clock.now, sleep=clock.sleep)
    assert server.calls == 2


def test_iter_status_yields_each_change_up_to_the_end(clock: FakeClock) -> None:
    server = ScriptedServer(
        ok("pending"),
        ok("pending"),
        ok("running", progress=30),
        ok("running", progress=30),
        ok("completed", progress=100),
    )
    states = list(sync_client(server).iter_status("j", clock=clock.now, sleep=clock.sleep))
    assert [(s.job.status, s.progress_percentage) for s in states] == [
        (JobStatus.PENDING, 0.0),
        (JobStatus.RUNNING, 30.0),
        (JobStatus.COMPLETED, 100.0),
    ]
    assert server.calls == 5


def test_iter_status_yields_the_failure_then_raises(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"), ok("failed", error_message="bad pdf"))
    states: list[BatchGetStatusResponse] = []
    with pytest.raises(JobFailedError, match="bad pdf"):
        for state in sync_client(server).iter_status("j", clock=clock.now, sleep=clock.sleep):
            states.append(state)
    assert [s.job.status for s in states] == [JobStatus.RUNNING, JobStatus.FAILED]


def test_iter_status_is_lazy(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"))
    iterator = sync_client(server).iter_status("j", clock=clock.now, sleep=clock.sleep)
    assert server.calls == 0
    assert next(iterator).job.status is JobStatus.RUNNING
    assert server.calls == 1


def test_wait_passes_per_call_ids(clock: FakeClock) -> None:
    server = ScriptedServer(ok("completed"))
    sync_client(server, project_id="p0").wait_until_done(
        "j", organization_id="o1", clock=clock.now, sleep=clock.sleep
    )
    assert dict(server.requests[0].url.params) == {"project_id": "p0", "organization_id": "o1"}


# -- module-level helper, with the generated client ------------------------------------------


def test_module_helper_accepts_the_generated_client(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"), ok("completed"))
    generated = AuthenticatedClient(
        base_url=BASE_URL, token="gen-token", httpx_args={"transport": httpx.MockTransport(server)}
    )
    resp = llamacloud_batch.wait_until_done(generated, "bjb-5", clock=clock.now, sleep=clock.sleep)
    assert resp.job.status is JobStatus.COMPLETED
    request = server.requests[0]
    assert str(request.url) == f"{BASE_URL}/api/v1/beta/batch-processing/bjb-5"
    assert request.headers["authorization"] == "Bearer gen-token"
    assert request.headers["user-agent"].startswith("llamacloud-batch/")
    # The generated client sets no timeout; the helper must not wait forever on one request.
    assert all(t is not None for t in request.extensions["timeout"].values())
    assert not generated.get_httpx_client().is_closed


def test_module_helper_keeps_a_timeout_the_generated_client_set(clock: FakeClock) -> None:
    server = ScriptedServer(ok("completed"))
    generated = AuthenticatedClient(
        base_url=BASE_URL,
        token="gen-token",
        timeout=httpx.Timeout(12.0),
        httpx_args={"transport": httpx.MockTransport(server)},
    )
    llamacloud_batch.wait_until_done(generated, "j", clock=clock.now, sleep=clock.sleep)
    assert server.requests[0].extensions["timeout"]["read"] == 12.0


def test_module_helper_raises_like_the_method(clock: FakeClock) -> None:
    server = ScriptedServer(ok("failed", error_message="quota"))
    with pytest.raises(JobFailedError, match="quota"):
        llamacloud_batch.wait_until_done(
            sync_client(server), "j", clock=clock.now, sleep=clock.sleep
        )
    generated = AuthenticatedClient(
        base_url=BASE_URL, token="t", httpx_args={"transport": httpx.MockTransport(server)}
    )
    resp = llamacloud_batch.wait_until_done(
        generated, "j", raise_on_failure=False, clock=clock.now, sleep=clock.sleep
    )
    assert resp.job.error_message == "quota"


# -- many jobs, sync --------------------------------------------------------------------------


def test_wait_all_returns_every_ending_without_raising(clock: FakeClock) -> None:
    server = PerJobServer(
        {
            "a": [ok("running", job_id="a"), ok("completed", job_id="a")],
            "b": [ok("failed", job_id="b", error_message="boom")],
            "c": [
                ok("running", job_id="c"),
                ok("running", job_id="c"),
                ok("cancelled", job_id="c"),
            ],
        }
    )
    result = sync_client(server).wait_all(["a", "b", "c"], clock=clock.now, sleep=clock.sleep)
    assert set(result) == {"a", "b", "c"}
    assert result["a"].job.status is JobStatus.COMPLETED
    assert result["b"].job.status is JobStatus.FAILED
    assert result["b"].job.error_message == "boom"
    assert result["c"].job.status is JobStatus.CANCELLED


def test_wait_all_of_nothing_is_empty_and_sends_nothing(clock: FakeClock) -> None:
    server = ScriptedServer(ok())
    assert sync_client(server).wait_all([], clock=clock.now, sleep=clock.sleep) == {}
    assert server.calls == 0


def test_wait_all_polls_a_repeated_id_once(clock: FakeClock) -> None:
    server = ScriptedServer(ok("completed"))
    result = sync_client(server).wait_all(["j", "j", "j"], clock=clock.now, sleep=clock.sleep)
    assert list(result) == ["j"]  # keyed by the id the caller gave, once
    assert server.calls == 1


def _three_jobs(clock: FakeClock) -> PerJobServer:
    """a ends at 40 s, b at 5 s, c at 15 s (elapsed on `clock`)."""
    ends = {"a": 40.0, "b": 5.0, "c": 15.0}

    def script(job_id: str) -> list[Step]:
        def answer(request: httpx.Request) -> httpx.Response:
            done = clock.now() - clock.start >= ends[job_id]
            return ok("completed" if done else "running", job_id=job_id)

        return [answer]

    return PerJobServer({job_id: script(job_id) for job_id in ends})


def test_as_completed_yields_in_the_order_jobs_end(clock: FakeClock) -> None:
    server = _three_jobs(clock)
    order: list[tuple[str, float]] = []
    for resp in sync_client(server).as_completed(
        ["a", "b", "c"], max_poll_interval=2.0, clock=clock.now, sleep=clock.sleep
    ):
        order.append((resp.job.id, clock.elapsed))
    assert [job_id for job_id, _ in order] == ["b", "c", "a"]
    # Each ending is noticed within one (maximum) interval of happening.
    for (_, seen_at), ended_at in zip(order, [5.0, 15.0, 40.0], strict=True):
        assert ended_at <= seen_at <= ended_at + 2.0 + 1e-9


def test_wait_all_runs_on_the_callers_thread_alone(clock: FakeClock) -> None:
    threads: set[int] = set()
    inner = _three_jobs(clock)

    def handler(request: httpx.Request) -> httpx.Response:
        threads.add(threading.get_ident())
        return inner(request)

    before = threading.active_count()
    sync_client(handler).wait_all(["a", "b", "c"], clock=clock.now, sleep=clock.sleep)
    assert threads == {threading.get_ident()}
    assert threading.active_count() == before


def test_wait_all_shared_deadline_reports_every_job(clock: FakeClock) -> None:
    server = PerJobServer(
        {
            "done": [ok("completed", job_id="done")],
            "slow": [ok("running", job_id="slow", progress=33)],
            "dark": [error(503)],
        }
    )
    with pytest.raises(WaitTimeoutError) as info:
        sync_client(server).wait_all(
            ["done", "slow", "dark"], timeout=45, clock=clock.now, sleep=clock.sleep
        )
    statuses = info.value.statuses
    assert set(statuses) == {"done", "slow", "dark"}
    done, slow = statuses["done"], statuses["slow"]
    assert done is not None
    assert done.job.status is JobStatus.COMPLETED
    assert slow is not None
    assert slow.progress_percentage == 33.0
    assert statuses["dark"] is None
    assert info.value.job_id in {"slow", "dark"}
    assert "may still be running" in str(info.value)
    assert sum(clock.sleeps) <= 45 + 1e-9


def test_wait_all_on_progress_and_non_transient_errors(clock: FakeClock) -> None:
    server = PerJobServer({"a": [ok("running", job_id="a"), ok("completed", job_id="a")]})
    seen: list[str] = []
    with pytest.raises(NotFoundError):
        sync_client(server).wait_all(
            ["a", "missing"],
            on_progress=lambda r: seen.append(r.job.id),
            clock=clock.now,
            sleep=clock.sleep,
        )
    assert "a" in seen


# -- async ------------------------------------------------------------------------------------


async def test_async_wait_until_done(clock: FakeClock) -> None:
    server = Recorder(
        ScriptedServer(ok("pending"), ok("running", progress=50), ok("completed")), clock.now
    )
    client = async_client(server)
    resp = await client.wait_until_done("j", clock=clock.now, sleep=clock.async_sleep)
    assert resp.job.status is JobStatus.COMPLETED
    assert server.times[0] == clock.start
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    ("status", "cls"), [("failed", JobFailedError), ("cancelled", JobCancelledError)]
)
async def test_async_endings_raise_unless_asked_not_to(
    clock: FakeClock, status: str, cls: type[Exception]
) -> None:
    server = ScriptedServer(ok(status, error_message="why"))
    client = async_client(server)
    with pytest.raises(cls):
        await client.wait_until_done("j", clock=clock.now, sleep=clock.async_sleep)
    resp = await client.wait_until_done(
        "j", raise_on_failure=False, clock=clock.now, sleep=clock.async_sleep
    )
    assert resp.job.status == status


async def test_async_deadline_is_never_overshot(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"), error(503), ok("running"))
    with pytest.raises(WaitTimeoutError) as info:
        await async_client(server).wait_until_done(
            "bjb-a", timeout=75, clock=clock.now, sleep=clock.async_sleep
        )
    assert sum(clock.sleeps) <= 75 + 1e-9
    assert clock.elapsed == pytest.approx(75)
    assert "bjb-a" in str(info.value)


async def test_async_non_transient_failure_ends_at_once(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"), error(403))
    with pytest.raises(PermissionDeniedError):
        await async_client(server).wait_until_done("j", clock=clock.now, sleep=clock.async_sleep)
    assert server.calls == 2


async def test_async_on_progress_may_be_a_coroutine_and_its_error_propagates(
    clock: FakeClock,
) -> None:
    server = ScriptedServer(ok("running", progress=10), ok("running", progress=60))
    seen: list[float] = []

    async def on_progress(resp: BatchGetStatusResponse) -> None:
        seen.append(resp.progress_percentage)
        if resp.progress_percentage > 50:
            raise CallbackBoom

    with pytest.raises(CallbackBoom):
        await async_client(server).wait_until_done(
            "j", on_progress=on_progress, clock=clock.now, sleep=clock.async_sleep
        )
    assert seen == [10.0, 60.0]


async def test_async_iter_status(clock: FakeClock) -> None:
    server = ScriptedServer(ok("running"), ok("running"), ok("completed"))
    states = [
        s.job.status
        async for s in async_client(server).iter_status(
            "j", clock=clock.now, sleep=clock.async_sleep
        )
    ]
    assert states == [JobStatus.RUNNING, JobStatus.COMPLETED]


@pytest.mark.parametrize("args", NONSENSE[::2])
async def test_async_nonsense_arguments_are_refused_before_any_request(
    args: dict[str, float | None],
) -> None:
    server = ScriptedServer(ok("completed"))
    client = async_client(server)
    kw = _wait_kwargs(args)
    timeout, interval, max_interval = kw["timeout"], kw["poll_interval"], kw["max_poll_interval"]
    assert interval is not None
    assert max_interval is not None
    with pytest.raises(ValueError):
        await client.wait_until_done(
            "j", timeout=timeout, poll_interval=interval, max_poll_interval=max_interval
        )
    with pytest.raises(ValueError):
        await client.wait_all(
            ["j"], timeout=timeout, poll_interval=interval, max_poll_interval=max_interval
        )
    assert server.calls == 0


async def test_cancelling_a_sleeping_wait_propagates(vtime: VirtualTime) -> None:
    server = ScriptedServer(ok("running"))
    client = async_client(server)
    task = asyncio.ensure_future(
        client.wait_until_done("j", timeout=None, clock=vtime.now, sleep=vtime.sleep)
    )
    await vtime.sleep(100.0)  # a hundred virtual seconds into the wait
    assert server.calls >= 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    calls = server.calls
    await asyncio.sleep(0)
    assert server.calls == calls


async def test_cancelling_during_a_request_propagates(clock: FakeClock) -> None:
    started = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    client = async_client(hang)
    task = asyncio.ensure_future(
        client.wait_until_done("j", clock=clock.now, sleep=clock.async_sleep)
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelling_during_a_retry_sleep_propagates(vtime: VirtualTime) -> None:
    server = ScriptedServer(error(503))
    client = async_client(server, max_retries=5)
    task = asyncio.ensure_future(client.wait_until_done("j", clock=vtime.now, sleep=vtime.sleep))
    await vtime.sleep(0.3)  # the first answer failed; its retry sleeps until 0.44 s
    assert server.calls == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelling_wait_all_propagates_and_stops_every_poller(vtime: VirtualTime) -> None:
    server = ScriptedServer(ok("running"))
    client = async_client(server)
    task = asyncio.ensure_future(
        client.wait_all([f"j{i}" for i in range(5)], clock=vtime.now, sleep=vtime.sleep)
    )
    await vtime.sleep(100.0)
    assert server.calls >= 10
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    calls = server.calls
    for _ in range(50):
        await asyncio.sleep(0)
    assert server.calls == calls


async def test_async_wait_all_returns_every_ending(vtime: VirtualTime) -> None:
    server = PerJobServer(
        {
            "a": [ok("running", job_id="a"), ok("completed", job_id="a")],
            "b": [ok("failed", job_id="b", error_message="boom")],
            "c": [ok("running", job_id="c"), ok("cancelled", job_id="c")],
        }
    )
    result = await async_client(server).wait_all(
        ["a", "b", "c"], clock=vtime.now, sleep=vtime.sleep
    )
    assert {k: v.job.status for k, v in result.items()} == {
        "a": JobStatus.COMPLETED,
        "b": JobStatus.FAILED,
        "c": JobStatus.CANCELLED,
    }


async def test_async_as_completed_yields_in_the_order_jobs_end(vtime: VirtualTime) -> None:
    ends = {"a": 40.0, "b": 5.0, "c": 15.0}

    def handler(request: httpx.Request) -> httpx.Response:
        job_id = job_id_of(request)
        done = vtime.elapsed >= ends[job_id]
        return ok("completed" if done else "running", job_id=job_id)

    order = [
        resp.job.id
        async for resp in async_client(handler).as_completed(
            ["a", "b", "c"], max_poll_interval=2.0, clock=vtime.now, sleep=vtime.sleep
        )
    ]
    assert order == ["b", "c", "a"]
    assert vtime.elapsed <= 40.0 + 2.0 + 1e-9


async def test_async_wait_all_shared_deadline_reports_every_job(vtime: VirtualTime) -> None:
    server = PerJobServer(
        {
            "done": [ok("completed", job_id="done")],
            "slow": [ok("running", job_id="slow", progress=33)],
            "dark": [httpx.ConnectError("refused")],
        }
    )
    with pytest.raises(WaitTimeoutError) as info:
        await async_client(server).wait_all(
            ["done", "slow", "dark"], timeout=45, clock=vtime.now, sleep=vtime.sleep
        )
    statuses = info.value.statuses
    assert set(statuses) == {"done", "slow", "dark"}
    assert statuses["dark"] is None
    slow = statuses["slow"]
    assert slow is not None
    assert slow.progress_percentage == 33.0
    assert vtime.elapsed <= 45 + 1e-9


async def test_async_first_polls_are_spread_over_one_interval(vtime: VirtualTime) -> None:
    first: dict[str, float] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        first.setdefault(job_id_of(request), vtime.elapsed)
        return ok("completed", job_id=job_id_of(request))

    ids = [f"j{i}" for i in range(20)]
    await async_client(handler).wait_all(ids, poll_interval=2.0, clock=vtime.now, sleep=vtime.sleep)
    times = sorted(first.values())
    assert len(times) == 20
    assert len(set(times)) == 20, "no two jobs fire at the same instant"
    assert times[0] == 0.0
    assert times[-1] < 2.0


class InFlight:
    """An async handler that counts concurrent requests, each taking a virtual second."""

    def __init__(
        self, answer: Callable[[httpx.Request], httpx.Response], vtime: VirtualTime
    ) -> None:
        self.answer = answer
        self.vtime = vtime
        self.now = 0
        self.peak = 0
        self.total = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.total += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.vtime.sleep(1.0)
            return self.answer(request)
        finally:
            self.now -= 1


def _ends_after_polls(polls: int) -> Callable[[httpx.Request], httpx.Response]:
    counts: dict[str, int] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        job_id = job_id_of(request)
        counts[job_id] = counts.get(job_id, 0) + 1
        return ok("completed" if counts[job_id] >= polls else "running", job_id=job_id)

    return answer


async def test_async_wait_all_stays_within_the_users_pool_limit(
    vtime: VirtualTime, route_default: Callable[[AsyncHandler], None]
) -> None:
    # httpx ignores `limits` when given a `transport`, so the pool is real and its network
    # layer routed to the handler instead.
    counter = InFlight(_ends_after_polls(3), vtime)
    route_default(counter)
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=5))
    client = AsyncBatchClient(API_KEY, base_url=BASE_URL, http_client=http)
    ids = [f"j{i}" for i in range(40)]
    # A zero-ish interval makes every job due at once, the worst case for the pool.
    result = await client.wait_all(
        ids, poll_interval=1e-6, max_poll_interval=1e-6, clock=vtime.now, sleep=vtime.sleep
    )
    assert len(result) == 40
    assert counter.total == 120
    assert counter.peak == 5
    await http.aclose()


async def test_async_wait_all_stays_within_the_default_pool_limit(
    vtime: VirtualTime, route_default: Callable[[AsyncHandler], None]
) -> None:
    counter = InFlight(_ends_after_polls(2), vtime)
    route_default(counter)
    async with AsyncBatchClient(API_KEY, base_url=BASE_URL) as client:
        ids = [f"j{i}" for i in range(130)]
        result = await client.wait_all(
            ids, poll_interval=1e-6, max_poll_interval=1e-6, clock=vtime.now, sleep=vtime.sleep
        )
    assert len(result) == 130
    assert counter.peak == 100  # httpx's default max_connections


async def test_async_module_level_helper_is_sync_only() -> None:
    # The module-level helper serves the sync generated client; async users call the method.
    assert not asyncio.iscoroutinefunction(llamacloud_batch.wait_until_done)


async def test_async_retry_backoff_does_not_hold_a_place_in_flight() -> None:
    # With many jobs, a place in the gate is a connection's worth of capacity; a job that
    # backs off after a 503 must hand its place back while it sleeps.
    held: list[bool] = []
    inside = False

    class Gate:
        async def __aenter__(self) -> None:
            nonlocal inside
            inside = True

        async def __aexit__(self, *exc: object) -> None:
            nonlocal inside
            inside = False

    async def sleep(seconds: float) -> None:
        held.append(inside)

    server = ScriptedServer(error(503), error(503), ok("completed"))
    client = async_client(server, sleep, max_retries=2)
    resp = await client._get_status("j", None, None, gate=Gate())
    assert resp.job.status is JobStatus.COMPLETED
    assert held == [False, False]
    assert server.calls == 3


def test_one_jobs_error_does_not_stop_the_wait_on_the_others(clock: FakeClock) -> None:
    # A mistyped id must not cost the outcomes of the jobs that exist: they are waited for,
    # and the error is raised once they have ended.
    server = PerJobServer(
        {
            "a": [
                ok("running", job_id="a"),
                ok("running", job_id="a"),
                ok("completed", job_id="a"),
            ],
            "b": [ok("running", job_id="b"), ok("failed", job_id="b", error_message="boom")],
        }
    )
    ended: list[str] = []
    with pytest.raises(NotFoundError) as info:
        for final in sync_client(server).as_completed(
            ["a", "missing", "b"], clock=clock.now, sleep=clock.sleep
        ):
            ended.append(final.job.id)
    assert sorted(ended) == ["a", "b"]
    assert any("missing" in note for note in getattr(info.value, "__notes__", []))


async def test_async_one_jobs_error_does_not_stop_the_wait_on_the_others(
    vtime: VirtualTime,
) -> None:
    server = PerJobServer(
        {
            "a": [ok("running", job_id="a"), ok("completed", job_id="a")],
            "b": [ok("running", job_id="b"), ok("cancelled", job_id="b")],
        }
    )
    ended: list[str] = []
    with pytest.raises(NotFoundError):
        async for final in async_client(server).as_completed(
            ["a", "missing", "b"], clock=vtime.now, sleep=vtime.sleep
        ):
            ended.append(final.job.id)
    assert sorted(ended) == ["a", "b"]


@pytest.mark.parametrize("use_async", [False, True])
async def test_wait_all_is_keyed_by_the_ids_the_caller_gave(
    clock: FakeClock, vtime: VirtualTime, use_async: bool
) -> None:
    # A server that normalises ids (here: reports them in upper case) must not make the
    # caller's lookups miss.
    def handler(request: httpx.Request) -> httpx.Response:
        return ok("completed", job_id=job_id_of(request).upper())

    if use_async:
        result = await async_client(handler).wait_all(
            ["bjb-x", "bjb-y"], clock=vtime.now, sleep=vtime.sleep
        )
    else:
        result = sync_client(handler).wait_all(
            ["bjb-x", "bjb-y"], clock=clock.now, sleep=clock.sleep
        )
    assert sorted(result) == ["bjb-x", "bjb-y"]
    assert result["bjb-x"].job.id == "BJB-X"


def test_wait_all_timeout_chains_the_failure_still_going_on(clock: FakeClock) -> None:
    server = PerJobServer({"a": [ok("running", job_id="a"), error(429, "slow down")]})
    with pytest.raises(WaitTimeoutError) as info:
        sync_client(server).wait_all(["a"], timeout=60, clock=clock.now, sleep=clock.sleep)
    assert isinstance(info.value.__cause__, RateLimitError)
