"""The polling policy: bounds that must hold for any input, and estimates that must converge."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llamacloud_batch._polling import PollPlanner, check_poll_arguments
from llamacloud_batch_api.models import BatchGetStatusResponse, Job, JobStatus
from llamacloud_batch_api.types import UNSET, Unset

Count = int | None | Unset


def response(
    *,
    status: JobStatus | str = JobStatus.RUNNING,
    percentage: float = 0.0,
    total: int = 100,
    processed: Count = UNSET,
    failed: Count = UNSET,
    skipped: Count = UNSET,
) -> BatchGetStatusResponse:
    job = Job(
        id="job-1",
        job_type="parse",
        project_id="project-1",
        status=status,
        total_items=total,
        processed_items=processed,
        failed_items=failed,
        skipped_items=skipped,
    )
    return BatchGetStatusResponse(job=job, progress_percentage=percentage)


def items_done(
    done: int, total: int, status: JobStatus | str = JobStatus.RUNNING
) -> BatchGetStatusResponse:
    return response(
        status=status,
        percentage=100.0 * done / total,
        total=total,
        processed=done,
        failed=0,
        skipped=0,
    )


def planner(
    seed: int = 0, *, poll_interval: float = 1.0, max_poll_interval: float = 30.0
) -> PollPlanner:
    return PollPlanner(
        poll_interval=poll_interval,
        max_poll_interval=max_poll_interval,
        rng=random.Random(seed).random,
    )


def linear_job(duration_s: float, total: int) -> Callable[[float], BatchGetStatusResponse]:
    """A job whose items finish at a perfectly steady pace over `duration_s`."""

    def state(now: float) -> BatchGetStatusResponse:
        if now >= duration_s:
            return items_done(total, total, JobStatus.COMPLETED)
        return items_done(min(total - 1, math.floor(total * now / duration_s)), total)

    return state


def run(
    plan: PollPlanner,
    state: Callable[[float], BatchGetStatusResponse],
    *,
    deadline: float | None = None,
    limit: int = 10_000,
) -> Iterator[tuple[float, float]]:
    """Polls `state` the way the wait loop does, yielding (poll time, delay chosen after it)."""
    now = 0.0
    for _ in range(limit):
        current = state(now)
        plan.observe(now, current)
        if current.job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
            return
        if deadline is not None and now >= deadline:
            return
        delay = plan.next_delay(now, deadline)
        yield now, delay
        now += delay
    raise AssertionError("the wait never ended")


# -- argument checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "poll_interval", "max_poll_interval", "message"),
    [
        (10.0, 0.0, 30.0, "poll_interval"),
        (10.0, -1.0, 30.0, "poll_interval"),
        (10.0, math.nan, 30.0, "poll_interval"),
        (10.0, math.inf, math.inf, "poll_interval"),
        (10.0, 1.0, math.nan, "max_poll_interval"),
        (10.0, 1.0, 0.0, "max_poll_interval"),
        (10.0, 5.0, 1.0, "must not be below"),
        (-1.0, 1.0, 30.0, "timeout"),
        (math.nan, 1.0, 30.0, "timeout"),
    ],
)
def test_check_poll_arguments_rejects_nonsense(
    timeout: float, poll_interval: float, max_poll_interval: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_poll_arguments(
            timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )


@pytest.mark.parametrize(
    ("timeout", "poll_interval", "max_poll_interval"),
    [(None, 1.0, 30.0), (0.0, 1.0, 1.0), (7200.0, 0.5, 30.0), (math.inf, 2.0, 60.0)],
)
def test_check_poll_arguments_accepts_sensible_values(
    timeout: float | None, poll_interval: float, max_poll_interval: float
) -> None:
    check_poll_arguments(
        timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
    )


def test_planner_rejects_nonsense_intervals() -> None:
    with pytest.raises(ValueError, match="must not be below"):
        PollPlanner(poll_interval=10.0, max_poll_interval=1.0)


# -- change detection -----------------------------------------------------------------------------


def test_first_observation_is_a_change_and_a_repeat_is_not() -> None:
    plan = planner()
    assert plan.observe(0.0, items_done(3, 10)) is True
    assert plan.observe(1.0, items_done(3, 10)) is False


@pytest.mark.parametrize(
    "changed",
    [
        response(status=JobStatus.RUNNING, percentage=30.0, processed=3, failed=0, skipped=0),
        response(status=JobStatus.PENDING, percentage=20.0, processed=3, failed=0, skipped=0),
        response(status="paused", percentage=20.0, processed=3, failed=0, skipped=0),
        response(status=JobStatus.RUNNING, percentage=20.0, processed=4, failed=0, skipped=0),
        response(status=JobStatus.RUNNING, percentage=20.0, processed=3, failed=1, skipped=0),
        response(status=JobStatus.RUNNING, percentage=20.0, processed=3, failed=0, skipped=2),
        response(status=JobStatus.RUNNING, percentage=20.0, processed=3, failed=0, skipped=None),
        response(
            status=JobStatus.RUNNING, percentage=20.0, total=11, processed=3, failed=0, skipped=0
        ),
    ],
)
def test_any_observable_difference_is_a_change(changed: BatchGetStatusResponse) -> None:
    plan = planner()
    plan.observe(0.0, response(percentage=20.0, processed=3, failed=0, skipped=0))
    assert plan.observe(1.0, changed) is True


def test_nan_percentage_repeated_is_not_a_change() -> None:
    plan = planner()
    plan.observe(0.0, response(percentage=math.nan))
    assert plan.observe(1.0, response(percentage=math.nan)) is False


# -- bounds that hold whatever happens ------------------------------------------------------------

statuses = st.sampled_from([*JobStatus, "paused", "RUNNING", ""])
counts = st.one_of(st.none(), st.just(UNSET), st.integers(min_value=-5, max_value=10_000))
percentages = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=0.0, max_value=100.0)
)
times = st.one_of(st.floats(min_value=-1e6, max_value=1e7), st.sampled_from([math.nan, math.inf]))
responses = st.builds(
    response,
    status=statuses,
    percentage=percentages,
    total=st.integers(min_value=-1, max_value=10_000),
    processed=counts,
    failed=counts,
    skipped=counts,
)
events = st.lists(st.tuples(times, st.one_of(responses, st.none())), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    events=events,
    poll_interval=st.floats(min_value=0.01, max_value=100.0),
    spread=st.floats(min_value=1.0, max_value=100.0),
    deadline_offset=st.one_of(st.none(), st.floats(min_value=-100.0, max_value=1e5)),
    draws=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=5),
)
def test_delay_is_always_finite_within_bounds_and_never_past_the_deadline(
    events: list[tuple[float, BatchGetStatusResponse | None]],
    poll_interval: float,
    spread: float,
    deadline_offset: float | None,
    draws: list[float],
) -> None:
    max_poll_interval = poll_interval * spread
    cycle = iter(draws * 1000)
    plan = PollPlanner(
        poll_interval=poll_interval, max_poll_interval=max_poll_interval, rng=lambda: next(cycle)
    )
    for now, seen in events:
        if seen is None:
            plan.observe_failure(now)
        else:
            plan.observe(now, seen)
        query_time = now if math.isfinite(now) else 0.0
        deadline = None if deadline_offset is None else query_time + deadline_offset
        delay = plan.next_delay(query_time, deadline)
        assert math.isfinite(delay)
        assert 0.0 <= delay <= max_poll_interval
        if deadline is not None:
            assert query_time + delay <= max(deadline, query_time) + 1e-9
        eta = plan.eta(query_time)
        assert eta is None or (math.isfinite(eta) and eta >= 0.0)


def test_absurd_pace_gives_no_estimate_instead_of_overflowing() -> None:
    # Found by hypothesis: a rise of 1e-151 % after 303 s implies a pace whose square
    # overflows a float; such a pace is no estimate at all.
    plan = PollPlanner(poll_interval=1.0, max_poll_interval=1.0, rng=lambda: 0.0)
    plan.observe(0.0, response(status=JobStatus.CANCELLED, percentage=0.0, total=0))
    plan.observe_failure(303.0)
    plan.observe(
        0.0, response(status=JobStatus.CANCELLED, percentage=1.1292554216289304e-151, total=0)
    )
    for now in (0.0, 303.0):
        delay = plan.next_delay(now, None)
        assert math.isfinite(delay) and 0.0 <= delay <= 1.0
        eta = plan.eta(now)
        assert eta is None or math.isfinite(eta)


@pytest.mark.parametrize("deadline", [0.5, 3.0, 17.25, 100.0, 2000.0])
def test_a_wait_never_polls_past_its_deadline(deadline: float) -> None:
    plan = planner()
    stalled = linear_job(duration_s=1e9, total=1000)
    last = 0.0
    for now, delay in run(plan, stalled, deadline=deadline):
        assert now + delay <= deadline + 1e-9
        last = now + delay
    assert last == pytest.approx(deadline)


def test_deadline_already_passed_means_no_sleep() -> None:
    plan = planner()
    plan.observe(10.0, items_done(1, 10))
    assert plan.next_delay(10.0, 5.0) == 0.0


# -- growth, jitter, failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("poll_interval", "max_poll_interval"), [(1.0, 30.0), (0.5, 4.0), (2.0, 2.0)]
)
def test_interval_grows_toward_the_maximum_while_nothing_changes(
    poll_interval: float, max_poll_interval: float
) -> None:
    plan = planner(poll_interval=poll_interval, max_poll_interval=max_poll_interval)
    pending = response(status=JobStatus.PENDING)
    delays = [
        delay for _, (_, delay) in zip(range(40), run(plan, lambda now: pending), strict=False)
    ]
    assert delays[0] == pytest.approx(poll_interval)
    assert all(d <= max_poll_interval for d in delays)
    assert max(delays[-5:]) > 0.85 * max_poll_interval
    # Growing: each delay is at least the one before it, give or take the jitter.
    assert all(later >= 0.85 * earlier for earlier, later in itertools.pairwise(delays))


def test_growth_starts_over_when_something_changes() -> None:
    plan = planner()
    now = 0.0
    for _ in range(15):
        plan.observe(now, response(status=JobStatus.PENDING))
        now += plan.next_delay(now, None)
    assert plan.next_delay(now, None) > 10.0
    plan.observe(now, response(status=JobStatus.RUNNING))
    assert plan.next_delay(now, None) == pytest.approx(1.0)


def test_jitter_varies_delays_but_keeps_them_within_a_tenth() -> None:
    delays = set()
    for seed in range(20):
        plan = planner(seed)
        for step in range(12):
            plan.observe(float(step), response(status=JobStatus.PENDING))
        delays.add(plan.next_delay(12.0, None))
    assert len(delays) > 10  # pollers started together drift apart
    assert min(delays) >= 0.9 * 30.0 - 1e-9
    assert max(delays) <= 30.0


def test_failures_back_off_up_to_the_maximum_and_success_resets() -> None:
    plan = planner()
    plan.observe(0.0, items_done(0, 10))
    backoffs = []
    for attempt in range(1, 9):
        plan.observe_failure(float(attempt))
        backoffs.append(plan.next_delay(float(attempt), None))
    assert backoffs[0] >= 2.0
    assert backoffs == sorted(backoffs)
    assert backoffs[-1] == 30.0
    plan.observe(10.0, items_done(0, 10))
    assert plan.next_delay(10.0, None) < 30.0


# -- the estimate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration_s", "total"), [(60.0, 30), (300.0, 150), (1200.0, 600), (3600.0, 1000), (3600.0, 7)]
)
def test_eta_converges_on_steady_progress(duration_s: float, total: int) -> None:
    plan = planner()
    errors = [
        (now, abs(plan.eta(now) - (duration_s - now)))  # type: ignore[operator]
        for now, _ in run(plan, linear_job(duration_s, total))
        if plan.eta(now) is not None
    ]
    assert errors
    item_s = duration_s / total
    # Once more than half the job is seen, the estimate is within a couple of item times.
    late = [error for now, error in errors if now > 0.5 * duration_s]
    assert late and max(late) <= max(2.0 * item_s, 0.05 * duration_s)


@pytest.mark.parametrize(("duration_s", "total"), [(600.0, 300), (3600.0, 1000), (3600.0, 7)])
def test_steady_job_is_polled_sparsely_far_from_its_end_and_closely_near_it(
    duration_s: float, total: int
) -> None:
    schedule = list(run(planner(), linear_job(duration_s, total)))
    polls = [now for now, _ in schedule]
    detected = sum(schedule[-1])  # the poll after the last sleep is the one that sees the end
    assert 0.0 <= detected - duration_s <= 5.0
    assert len(polls) < 0.1 * duration_s
    middle = [now for now in polls if 0.3 * duration_s < now < 0.6 * duration_s]
    assert len(middle) <= 0.3 * duration_s / 20.0  # mostly long sleeps there


def test_pending_phase_is_not_taken_for_slow_progress() -> None:
    start_s, run_s, total = 600.0, 600.0, 300

    def late(now: float) -> BatchGetStatusResponse:
        if now < start_s:
            return items_done(0, total, JobStatus.PENDING)
        return linear_job(run_s, total)(now - start_s)

    plan = planner()
    schedule = list(run(plan, late))
    assert 0.0 <= sum(schedule[-1]) - (start_s + run_s) <= 5.0
    plan = planner()
    for now, _ in run(plan, late):
        if now > start_s + 0.6 * run_s:
            eta = plan.eta(now)
            assert eta is not None
            assert eta == pytest.approx(start_s + run_s - now, abs=10.0)
            break
    else:
        raise AssertionError("never polled late in the run")


def test_stall_lets_the_interval_grow_back_to_the_maximum() -> None:
    plan = planner()
    now = 0.0
    for step in range(60):
        now = float(step)
        plan.observe(now, items_done(step, 100))
    # Then nothing moves for ten minutes.
    delays = []
    while now < 660.0:
        plan.observe(now, items_done(59, 100))
        delay = plan.next_delay(now, None)
        delays.append(delay)
        now += delay
    assert max(delays[-3:]) > 0.85 * 30.0
    assert plan.eta(now) is None  # overdue by far: no honest ETA


def test_backwards_progress_forgets_the_old_pace() -> None:
    plan = planner()
    for step in range(50):
        plan.observe(float(step), items_done(step, 100))
    plan.observe(50.0, items_done(5, 100))  # the job started over
    assert plan.eta(50.0) is None
    for step in range(1, 20):
        plan.observe(50.0 + 10.0 * step, items_done(5 + step, 100))
    eta = plan.eta(240.0)
    assert eta is not None
    assert eta == pytest.approx(10.0 * 76, rel=0.2)  # the new, slower pace


def test_a_jump_does_not_break_the_bounds() -> None:
    plan = planner()
    for step in range(20):
        plan.observe(10.0 * step, items_done(step, 1000))
    plan.observe(200.0, items_done(900, 1000))
    delay = plan.next_delay(200.0, None)
    assert 0.0 < delay <= 30.0
    eta = plan.eta(200.0)
    assert eta is not None and 0.0 <= eta < 2000.0


@pytest.mark.parametrize(
    "seen",
    [
        response(percentage=math.nan, total=0, processed=None, failed=None, skipped=None),
        response(percentage=math.inf, total=0),
        response(percentage=-20.0, total=-1, processed=-3),
        response(status="mystery", percentage=50.0),
    ],
)
def test_unusable_progress_gives_no_eta_and_a_plain_interval(seen: BatchGetStatusResponse) -> None:
    plan = planner()
    plan.observe(0.0, seen)
    plan.observe(1.0, seen)
    assert plan.eta(1.0) is None
    assert 1.0 <= plan.next_delay(1.0, None) <= 30.0


def test_counters_stand_in_for_a_missing_percentage() -> None:
    plan = planner()
    for step in range(10):
        plan.observe(10.0 * step, response(percentage=math.nan, total=100, processed=step))
    eta = plan.eta(90.0)
    assert eta is not None
    assert eta == pytest.approx(910.0, rel=0.1)


def test_time_going_backwards_is_ignored() -> None:
    plan = planner()
    for step in range(10):
        plan.observe(10.0 * step, items_done(step, 100))
    plan.observe(5.0, items_done(10, 100))
    delay = plan.next_delay(5.0, None)
    assert 0.0 <= delay <= 30.0
    eta = plan.eta(5.0)
    assert eta is not None and math.isfinite(eta)


def test_terminal_status_gives_zero_eta() -> None:
    plan = planner()
    plan.observe(0.0, items_done(10, 10, JobStatus.COMPLETED))
    assert plan.eta(0.0) == 0.0
