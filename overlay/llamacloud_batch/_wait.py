"""Waiting for jobs to end, written once as a state machine that sync and async code both drive.

`WaitPlan.steps(job_id)` is a generator that does no I/O: it yields `POLL` when it wants a
fresh status (and is sent the response or the `APIError`), a float when it wants to sleep
that many seconds, and a `BatchGetStatusResponse` whenever the observed state changed. It
returns when the job ends, and raises `JobFailedError`, `JobCancelledError`,
`WaitTimeoutError` or a non-transient `APIError`. The clients run it with real requests
and sleeps; the tests run it with fakes.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Final

import httpx
from llamacloud_batch_api.models import BatchGetStatusResponse, JobStatus

from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    JobCancelledError,
    JobFailedError,
    WaitTimeoutError,
)
from ._polling import PollPlanner, check_poll_arguments
from ._retry import is_retryable_exception, is_retryable_status
from ._states import TERMINAL_STATUSES

__all__ = ["POLL", "WaitPlan"]

logger = logging.getLogger("llamacloud_batch")


class _Poll:
    def __repr__(self) -> str:
        return "POLL"


POLL: Final = _Poll()

Action = _Poll | float | BatchGetStatusResponse
Outcome = BatchGetStatusResponse | APIError | None
Steps = Generator[Action, Outcome, None]


def is_transient(error: APIError) -> bool:
    """Failures that another poll may cure; these never end a wait before its deadline."""
    if isinstance(error, APIConnectionError):
        # A bad URL, a redirect loop or a protocol misuse will not cure itself by waiting.
        cause = error.__cause__
        return not isinstance(cause, httpx.RequestError) or is_retryable_exception(cause)
    return isinstance(error, APIStatusError) and is_retryable_status(error.status_code)


@dataclass(frozen=True)
class WaitPlan:
    """The arguments of one wait, checked, with its deadline fixed on `clock` at the start."""

    poll_interval: float
    max_poll_interval: float
    raise_on_failure: bool
    clock: Callable[[], float]
    rng: Callable[[], float]
    timeout: float | None
    deadline: float | None

    @classmethod
    def create(
        cls,
        *,
        timeout: float | None,
        poll_interval: float,
        max_poll_interval: float,
        raise_on_failure: bool,
        clock: Callable[[], float],
        rng: Callable[[], float] = random.random,
    ) -> WaitPlan:
        check_poll_arguments(
            timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )
        return cls(
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            raise_on_failure=raise_on_failure,
            clock=clock,
            rng=rng,
            timeout=timeout,
            deadline=None if timeout is None else clock() + timeout,
        )

    def steps(self, job_id: str) -> Steps:
        planner = PollPlanner(
            poll_interval=self.poll_interval, max_poll_interval=self.max_poll_interval, rng=self.rng
        )
        last: BatchGetStatusResponse | None = None
        last_error: APIError | None = None
        warned_unknown = False
        while True:
            outcome = yield POLL
            if isinstance(outcome, APIError):
                if not is_transient(outcome):
                    raise outcome
                last_error = outcome
                planner.observe_failure(self.clock())
                logger.info("Polling job %s failed for now (%s); polling on.", job_id, outcome)
            elif outcome is not None:
                last_error = None
                changed = planner.observe(self.clock(), outcome)
                if changed or last is None:
                    yield outcome
                last = outcome
                status = outcome.job.status
                if status in TERMINAL_STATUSES:
                    self._finish(job_id, outcome)
                    return
                if not isinstance(status, JobStatus) and not warned_unknown:
                    warned_unknown = True
                    logger.warning(
                        "Job %s reports status %r, which this client does not know; "
                        "treating it as not finished.",
                        job_id,
                        status,
                    )
            now = self.clock()
            if self.deadline is not None and now >= self.deadline:
                # The transient failure that was still going on, if any, is the likely reason.
                raise self.timeout_error(job_id, last) from last_error
            yield float(planner.next_delay(now, self.deadline))

    def _finish(self, job_id: str, final: BatchGetStatusResponse) -> None:
        if not self.raise_on_failure:
            return
        status = final.job.status
        if status == JobStatus.FAILED:
            reason = final.job.error_message or "the server gave no error message"
            message = f"Batch job {job_id} failed: {reason}"
            raise JobFailedError(message, job_id=job_id, status=final)
        if status == JobStatus.CANCELLED:
            raise JobCancelledError(
                f"Batch job {job_id} was cancelled.", job_id=job_id, status=final
            )

    def timeout_error(
        self,
        job_id: str,
        last: BatchGetStatusResponse | None,
        statuses: dict[str, BatchGetStatusResponse | None] | None = None,
    ) -> WaitTimeoutError:
        seen = f"last seen {_describe(last)}" if last is not None else "no status was read"
        waited = "" if self.timeout is None else f" after {self.timeout:g} s"
        return WaitTimeoutError(
            f"Stopped waiting for batch job {job_id}{waited} ({seen}). The job may still be "
            f"running on the server; check it again with get_status({job_id!r}).",
            job_id=job_id,
            status=last,
            statuses=statuses,
        )


def _describe(resp: BatchGetStatusResponse) -> str:
    status = resp.job.status
    name = status.value if isinstance(status, JobStatus) else status
    return f"{name}, {resp.progress_percentage:.0f}%"


def unique_job_ids(job_ids: Iterable[str], check: Callable[[str], str]) -> list[str]:
    """The ids in order without repeats, each checked; a lone str is refused, not split."""
    if isinstance(job_ids, str):
        raise TypeError("job_ids must be a collection of ids; wrap a single id in a list")
    return list(dict.fromkeys(check(job_id) for job_id in job_ids))


@dataclass(frozen=True)
class Changed:
    status: BatchGetStatusResponse


@dataclass(frozen=True)
class Ended:
    job_id: str
    status: BatchGetStatusResponse


@dataclass
class Scoreboard:
    """Drives one `steps` generator per job from a single thread, by next poll time."""

    ids: list[str]
    plan: WaitPlan
    _steps: dict[str, Steps] = field(default_factory=dict)
    _last: dict[str, BatchGetStatusResponse | None] = field(default_factory=dict)
    _due: list[tuple[float, int, str]] = field(default_factory=list)
    _unfinished: Unfinished = field(default_factory=lambda: Unfinished())
    _seq: int = 0

    def __post_init__(self) -> None:
        now = self.plan.clock()
        for job_id in self.ids:
            steps = self.plan.steps(job_id)
            next(steps)  # always POLL first
            self._steps[job_id] = steps
            self._last[job_id] = None
            self._push(now, job_id)

    def next_due(self) -> str | None:
        return self._due[0][2] if self._due else None

    def seconds_until_due(self) -> float:
        return self._due[0][0] - self.plan.clock()

    def feed(self, job_id: str, outcome: Outcome) -> list[Changed | Ended]:
        """Hands a poll's outcome to the job's generator and runs it to its next request."""
        heapq.heappop(self._due)
        steps = self._steps[job_id]
        events: list[Changed | Ended] = []
        send: Outcome = outcome
        while True:
            try:
                action = steps.send(send)
            except StopIteration:
                last = self._last[job_id]
                assert last is not None
                events.append(Ended(job_id, last))
                return events
            except (WaitTimeoutError, APIError) as exc:
                self._unfinished.add(job_id, exc)
                return events
            send = None
            if action is POLL:
                self._push(self.plan.clock(), job_id)
                return events
            if isinstance(action, float):
                self._push(self.plan.clock() + action, job_id)
                return events
            assert isinstance(action, BatchGetStatusResponse)
            self._last[job_id] = action
            events.append(Changed(action))

    def raise_if_unfinished(self) -> None:
        self._unfinished.raise_first(self.plan, self._last)

    def _push(self, when: float, job_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._due, (when, self._seq, job_id))


@dataclass
class Unfinished:
    """Jobs of a many-job wait that ended without a terminal state, and why.

    One job's error (a 404 for a mistyped id, say) does not stop the wait on the others:
    it is kept, the rest are waited for, and it is raised at the end, before any timeout.
    """

    errors: list[tuple[str, APIError]] = field(default_factory=list)
    timeouts: list[tuple[str, WaitTimeoutError]] = field(default_factory=list)

    def add(self, job_id: str, exc: WaitTimeoutError | APIError) -> None:
        if isinstance(exc, WaitTimeoutError):
            self.timeouts.append((job_id, exc))
        else:
            self.errors.append((job_id, exc))

    def raise_first(self, plan: WaitPlan, last: dict[str, BatchGetStatusResponse | None]) -> None:
        if self.errors:
            job_id, api_error = self.errors[0]
            api_error.add_note(f"While waiting for batch job {job_id}.")
            raise api_error
        if self.timeouts:
            first, first_timeout = self.timeouts[0]
            timeout = plan.timeout_error(first, last[first], dict(last))
            if len(self.timeouts) > 1:
                others = [job_id for job_id, _ in self.timeouts[1:]]
                listed = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
                timeout.args = (f"{timeout.args[0]} Also still unfinished: {listed}.",)
            raise timeout from first_timeout.__cause__


async def call_progress(
    on_progress: Callable[[BatchGetStatusResponse], object], status: BatchGetStatusResponse
) -> None:
    """Calls a progress callback, awaiting it if it is a coroutine function."""
    result = on_progress(status)
    if isinstance(result, Awaitable):
        await result


async def fan_out(
    ids: list[str],
    plan: WaitPlan,
    *,
    poll: Callable[
        [str, Callable[[float], Awaitable[None]], AbstractAsyncContextManager[object]],
        Awaitable[Outcome],
    ],
    sleep: Callable[[float], Awaitable[None]],
    on_progress: Callable[[BatchGetStatusResponse], object] | None,
    max_in_flight: int,
) -> AsyncIterator[tuple[str, BatchGetStatusResponse]]:
    """Runs one task per job, at most `max_in_flight` requests at once; yields endings in order.

    `poll` holds `gate` only while a request is in flight, not while it backs off to retry.
    """
    import asyncio

    if not ids:
        return
    gate = asyncio.Semaphore(max_in_flight)
    finished: asyncio.Queue[tuple[str, BaseException | None]] = asyncio.Queue()
    last: dict[str, BatchGetStatusResponse | None] = dict.fromkeys(ids)
    # Spread the first polls over one interval, but never spend more than it on spreading.
    spread = plan.poll_interval / len(ids) if len(ids) > 1 else 0.0

    async def run(index: int, job_id: str) -> None:
        try:
            if index and spread:
                await sleep(index * spread)
            steps = plan.steps(job_id)
            outcome: Outcome = None
            while True:
                try:
                    action = steps.send(outcome)
                except StopIteration:
                    finished.put_nowait((job_id, None))
                    return
                outcome = None
                if action is POLL:
                    outcome = await poll(job_id, sleep, gate)
                elif isinstance(action, float):
                    await sleep(action)
                else:
                    assert isinstance(action, BatchGetStatusResponse)
                    last[job_id] = action
                    if on_progress is not None:
                        await call_progress(on_progress, action)
        except Exception as exc:  # handed to the consumer, which re-raises it
            finished.put_nowait((job_id, exc))

    tasks = [asyncio.ensure_future(run(i, job_id)) for i, job_id in enumerate(ids)]
    unfinished = Unfinished()
    try:
        for _ in ids:
            job_id, error = await finished.get()
            if isinstance(error, WaitTimeoutError | APIError):
                unfinished.add(job_id, error)
            elif error is not None:  # the caller's on_progress raised: stop everything
                raise error
            else:
                final = last[job_id]
                assert final is not None
                yield job_id, final
        unfinished.raise_first(plan, last)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
