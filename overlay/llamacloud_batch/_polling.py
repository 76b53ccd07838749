"""When to poll a batch job next: a pure policy fed with observations, no I/O and no real clock.

All times are seconds on the caller's monotonic clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llamacloud_batch_api.models import BatchGetStatusResponse

__all__ = ["PollPlanner", "check_poll_arguments"]

# Without an estimate of the finish, each poll that shows nothing new stretches the interval.
_IDLE_GROWTH = 1.5
# While far from the estimated finish, sleep this share of the time left before it: every poll
# refines the estimate, so the schedule closes in geometrically instead of at a fixed pace.
_APPROACH_SHARE = 0.6
# At most this share of the time left may be written off as "the job might end any moment".
_PLAUSIBLE_SHARE = 0.9
# Within this many poll intervals of the band, stop stretching sleeps: close polls there pin down
# the last rises, and those decide where the aimed poll lands.
_ENDGAME = 10.0
# Inside the window where the job may end, never wait longer than this many poll intervals;
# with the default 1 s this keeps the worst detection delay near 4 s however wide the window.
_WINDOW_INTERVALS = 3.5
# Once past the window without an end, assume a stall and let the interval grow by this many
# seconds per second overdue, up to max_poll_interval.
_OVERDUE_GROWTH = 0.05
# Share of a delay removed at random, so pollers started together drift apart.
_JITTER_SHARE = 0.1
# Land a little over half a standard deviation after the predicted finish (the spread is two):
# the margin that gave the lowest median delay in bench/bench_polling.py; a miss costs one
# more poll interval.
_AIM_MARGIN_SPREADS = 0.3
# Before the job has shown how regular it is, assume an estimate may be off by this share of
# the time it extrapolates over; afterwards the fit's own scatter says, never less than the floor.
_PRIOR_RELATIVE_ERROR = 0.05
_MIN_RELATIVE_ERROR = 0.01
_MAX_PACE_S = 100 * 365 * 24 * 3600.0
# Half-widths of the band around the estimated finish, in standard deviations of the fit.
_SPREAD_Z = 2.0
# A rise's time is never trusted to better than this many poll intervals (the clock, the server).
_RESOLUTION_FLOOR_INTERVALS = 0.25
# How many rises' worth of evidence the prior on the walk's variance counts for.
_PRIOR_WEIGHT = 2.0
# How many of the latest rises vote on where the job stands.
_ANCHORS = 6
# Enough rises to average over; older ones fall out of the fit's window anyway.
_MAX_POINTS = 256

_TERMINAL = frozenset({"completed", "failed", "cancelled"})
# States in which the job has not begun processing items.
_NOT_STARTED = frozenset({"pending", "dispatched"})


def check_poll_arguments(
    *, timeout: float | None, poll_interval: float, max_poll_interval: float
) -> None:
    """Raises ValueError for a timeout or intervals no wait could honour (all in seconds)."""
    if not _is_positive_finite(poll_interval):
        raise ValueError(
            f"poll_interval must be a positive number of seconds, got {poll_interval!r}"
        )
    if not _is_positive_finite(max_poll_interval):
        raise ValueError(
            f"max_poll_interval must be a positive number of seconds, got {max_poll_interval!r}"
        )
    if max_poll_interval < poll_interval:
        raise ValueError(
            f"max_poll_interval ({max_poll_interval!r}) must not be below "
            f"poll_interval ({poll_interval!r})"
        )
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or math.isnan(timeout)
        or timeout < 0
    ):
        raise ValueError(
            f"timeout must be None or a non-negative number of seconds, got {timeout!r}"
        )


def _is_positive_finite(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _count(value: object) -> int | None:
    """A counter from the response, or None when absent, unset or not a whole number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _status_text(status: object) -> str:
    return str(status).strip().lower()


class _Estimate:
    """A predicted finish time and how far off it may be (both seconds)."""

    __slots__ = ("finish", "spread")

    def __init__(self, finish: float, spread: float) -> None:
        self.finish = finish
        self.spread = spread


class PollPlanner:
    """Decides how long to sleep between polls of one job, from what the polls have shown.

    Progress over time gives an estimated finish: the planner polls sparsely while far from it,
    closely around it, and backs off again if the job stalls. Feed every response to `observe`
    and every transient failure to `observe_failure`; ask `next_delay` before each sleep.
    """

    def __init__(
        self,
        *,
        poll_interval: float,
        max_poll_interval: float,
        rng: Callable[[], float] = random.random,
    ) -> None:
        check_poll_arguments(
            timeout=None, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )
        self._min = float(poll_interval)
        self._max = float(max_poll_interval)
        self._rng = rng
        self._now = -math.inf  # latest clock reading; the clock is trusted never to run back
        self._key: tuple[object, ...] | None = None
        self._terminal = False
        self._idle = self._min
        self._failures = 0
        # Progress model: when each observed level of progress (0..1) was most likely reached,
        # give or take a resolution, as (time, fraction, resolution), oldest first.
        self._level: float | None = None
        self._level_since = -math.inf  # when the current level was last seen
        self._started_at: float | None = None
        self._seen_not_started_at: float | None = None
        self._rises: list[tuple[float, float, float]] = []
        self._estimate: _Estimate | None = None

    # -- observations -----------------------------------------------------------------------------

    def observe(self, now: float, response: BatchGetStatusResponse) -> bool:
        """Records a response seen at `now`; True when status, counters or percentage changed.

        The first observation counts as a change.
        """
        now = self._advance(now)
        self._failures = 0
        job = response.job
        status = _status_text(job.status)
        total = _count(job.total_items)
        processed = _count(job.processed_items)
        failed = _count(job.failed_items)
        skipped = _count(job.skipped_items)
        percentage = _finite_or_none(response.progress_percentage)
        key = (status, total, processed, failed, skipped, percentage)
        changed = key != self._key
        self._key = key
        self._terminal = status in _TERMINAL
        self._idle = self._min if changed else min(self._max, self._idle * _IDLE_GROWTH)
        fraction = _fraction(percentage, total, (processed, failed, skipped))
        quantum = 1.0 / total if total is not None and total > 0 else None
        self._track(now, status, fraction, quantum)
        return changed

    def observe_failure(self, now: float) -> None:
        """Records a poll that failed transiently; the next delay backs off."""
        self._advance(now)
        self._failures += 1

    def _advance(self, now: float) -> float:
        if isinstance(now, int | float) and not math.isnan(now) and now > self._now:
            self._now = float(now)
        return self._now if math.isfinite(self._now) else 0.0

    def _track(
        self, now: float, status: str, fraction: float | None, quantum: float | None
    ) -> None:
        if fraction is None:
            return
        previous_level, previous_time = self._level, self._level_since
        if previous_level is not None and fraction < previous_level:
            # Progress went back (a retry or a recount): what was learnt no longer holds.
            self._rises.clear()
            self._started_at = None
            previous_level = None
        if self._started_at is None and fraction == 0.0:
            if status in _NOT_STARTED:
                self._seen_not_started_at = now
            elif self._seen_not_started_at is not None:
                # It began somewhere between the last "not started" and now.
                half = (now - self._seen_not_started_at) / 2.0
                self._started_at = now - half
                self._rises.append((now - half, 0.0, half))
            else:
                # Running with nothing done when first seen: count from here.
                self._started_at = now
                self._rises.append((now, 0.0, self._min))
        if previous_level is not None and fraction > previous_level:
            # The level was reached somewhere in (previous_time, now]. If several whole items
            # finished in between, the last of them most likely finished near `now`.
            width = max(now - previous_time, 0.0)
            steps = max(1.0, round((fraction - previous_level) / quantum)) if quantum else math.inf
            resolution = width / (2.0 * steps)
            self._rises.append((now - resolution, fraction, resolution))
            if len(self._rises) > _MAX_POINTS:
                del self._rises[: len(self._rises) - _MAX_POINTS]
        self._level = fraction
        self._level_since = now
        try:
            self._estimate = self._fit()
        except (OverflowError, ZeroDivisionError):
            # Observations so extreme that the arithmetic breaks give no usable estimate.
            self._estimate = None

    def _fit(self) -> _Estimate | None:
        """Extrapolates the observed rises to 100 %.

        The pace comes from a least-squares line over the latest half of the progress: long
        enough to average out whole-item steps, short enough to follow a job that sped up or
        resumed after a stall. Where the job now stands comes from the latest rises, because
        item times add up like a random walk: the recent past predicts the end best. How far the
        walk strays per unit of progress is measured from the rises themselves.
        """
        rises = self._rises
        if len(rises) < 2:
            return None
        last_fraction = rises[-1][1]
        first = 0
        for index in range(len(rises) - 1):
            if rises[index][1] <= last_fraction / 2.0:
                first = index
        points = rises[first:]
        floor = _RESOLUTION_FLOOR_INTERVALS * self._min
        # A rise known to within +-r seconds has a timing variance of r^2 / 3 (uniform).
        noise = [(r * r + floor * floor) / 3.0 for _, _, r in points]
        weights = [1.0 / v for v in noise]
        total = sum(weights)
        mean_f = sum(w * f for w, (_, f, _) in zip(weights, points, strict=True)) / total
        mean_t = sum(w * t for w, (t, _, _) in zip(weights, points, strict=True)) / total
        sum_ff = sum(w * (f - mean_f) ** 2 for w, (_, f, _) in zip(weights, points, strict=True))
        if not sum_ff > 0.0:
            return None
        sum_ft = sum(
            w * (f - mean_f) * (t - mean_t) for w, (t, f, _) in zip(weights, points, strict=True)
        )
        pace = sum_ft / sum_ff  # seconds per unit of progress
        # Beyond a century per job there is nothing to plan around, and squaring such a pace
        # below would overflow a float.
        if not (0.0 < pace <= _MAX_PACE_S):
            return None

        # Random-walk variance per unit of progress, beyond what timing resolution explains,
        # blended with a prior while there are few rises to measure it from.
        excess, covered = 0.0, 0.0
        for (t0, f0, _), (t1, f1, _), v0, v1 in zip(
            points, points[1:], noise, noise[1:], strict=False
        ):
            step = f1 - f0
            excess += ((t1 - t0) - pace * step) ** 2 - (v0 + v1)
            covered += step
        measured = max(excess, 0.0) / covered if covered > 0.0 else 0.0
        prior = (_PRIOR_RELATIVE_ERROR * pace) ** 2 / 2.0
        pairs = len(points) - 1
        walk = (pairs * measured + _PRIOR_WEIGHT * prior) / (pairs + _PRIOR_WEIGHT)

        # Each recent rise predicts the finish; weigh them by how much each has yet to stray.
        finish_sum, precision = 0.0, 0.0
        for (t, f, _), v in zip(points[-_ANCHORS:], noise[-_ANCHORS:], strict=True):
            variance = v + walk * (1.0 - f)
            finish_sum += (t + pace * (1.0 - f)) / variance
            precision += 1.0 / variance
        finish = finish_sum / precision
        remaining = max(finish - rises[-1][0], 0.0)
        # The pace itself is uncertain too; its error grows with the distance extrapolated.
        # Conservatively, as if it came from the window's two ends alone.
        pace_variance = (noise[0] + noise[-1] + walk * covered) / covered**2
        variance = 1.0 / precision + pace_variance * (1.0 - last_fraction) ** 2
        spread = _SPREAD_Z * math.sqrt(variance) + _MIN_RELATIVE_ERROR * remaining
        if not (math.isfinite(finish) and math.isfinite(spread)):
            return None
        return _Estimate(finish, spread)

    # -- decisions --------------------------------------------------------------------------------

    def next_delay(self, now: float, deadline: float | None) -> float:
        """Seconds to sleep before the next poll: within [0, max_poll_interval], never past
        `deadline`."""
        checked = _finite_or_none(now)
        if checked is None:
            checked = self._now if math.isfinite(self._now) else 0.0
        now = checked
        delay = self._planned_delay(max(now, self._now))
        if self._failures:
            backoff = self._min * 2.0 ** min(self._failures, 30)
            delay = max(delay, backoff)
        delay = min(max(delay, 0.0), self._max)
        if deadline is not None and not math.isnan(deadline):
            delay = min(delay, max(deadline - now, 0.0))
        return delay if math.isfinite(delay) else self._min

    def _planned_delay(self, now: float) -> float:
        estimate = self._estimate
        if self._terminal or estimate is None:
            return self._jitter(self._idle)
        lead = estimate.finish - now
        window = self._window_interval(estimate, abs(lead))
        if lead > 0.0:
            # Sleep a share of the time left before the earliest plausible finish. A band wider
            # than the lead itself only says the estimate is young; not that the job may end now.
            early = max(lead - estimate.spread, (1.0 - _PLAUSIBLE_SHARE) * lead)
            delay = window + _APPROACH_SHARE * early * min(1.0, early / (_ENDGAME * self._min))
            if lead <= delay:
                # The predicted finish comes before the next poll would: land just after it.
                return lead + self._aim_margin(estimate)
            return self._jitter(min(delay, self._max))
        overdue = max(-lead - estimate.spread, 0.0)
        return self._jitter(min(window + _OVERDUE_GROWTH * overdue, self._max))

    def _window_interval(self, estimate: _Estimate, distance: float) -> float:
        """The interval inside the band where the job may end: shortest at the predicted finish,
        where an end is likeliest, longest at the band's edges."""
        widest = min(max(estimate.spread / 2.0, self._min), _WINDOW_INTERVALS * self._min)
        if estimate.spread <= 0.0:
            return widest
        return self._min + (widest - self._min) * min(distance / estimate.spread, 1.0)

    def _aim_margin(self, estimate: _Estimate) -> float:
        return min(max(_AIM_MARGIN_SPREADS * estimate.spread, 0.05 * self._min), self._min)

    def _jitter(self, delay: float) -> float:
        floor = min(self._min, delay)
        draw = self._rng()
        if not (isinstance(draw, float | int) and 0.0 <= draw <= 1.0):
            draw = 0.5
        return max(floor, delay * (1.0 - _JITTER_SHARE * draw))

    def eta(self, now: float) -> float | None:
        """Estimated seconds until the job ends; 0 once it has, None when unknown."""
        if self._terminal:
            return 0.0
        estimate = self._estimate
        checked = _finite_or_none(now)
        if estimate is None or checked is None:
            return None
        lead = estimate.finish - max(checked, self._now)
        if lead < -estimate.spread:
            return None  # overdue beyond what the estimate allowed for: a stall, not an ETA
        return max(lead, 0.0)


def _finite_or_none(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _fraction(
    percentage: float | None, total: int | None, counters: tuple[int | None, ...]
) -> float | None:
    """Share of the job done, 0..1, from the percentage or else from the item counters."""
    if percentage is not None:
        return min(max(percentage / 100.0, 0.0), 1.0)
    known = [count for count in counters if count is not None]
    if total is None or total <= 0 or not known:
        return None
    return min(max(sum(known) / total, 0.0), 1.0)
