"""How the CLI shows job states as text: plain lines, NDJSON or nothing (the live display is in
`_live`, which alone imports rich), and the words and numbers all of them share."""

from __future__ import annotations

import datetime
import enum
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TextIO

from llamacloud_batch_api.models import BatchGetStatusResponse

from .._polling import PollPlanner
from .._states import TERMINAL_STATUSES

__all__ = [
    "Display",
    "JsonDisplay",
    "PlainDisplay",
    "Tracker",
    "counters_text",
    "duration_text",
    "json_text",
    "safe",
    "status_name",
    "status_report",
    "summary_lines",
]


def safe(text: object) -> str:
    """The text with control characters escaped: a server's strings must not drive the terminal."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in value)


def status_name(value: object) -> str:
    """An open enum's value (JobStatus, JobType, or a str the client did not know) as text."""
    return safe(value.value if isinstance(value, enum.Enum) else value)


def _count(value: object) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


def counters_text(resp: BatchGetStatusResponse) -> str:
    """'16 of 40 processed, 2 failed, 0 skipped' (a '?' for each counter the server left out)."""
    job = resp.job
    return (
        f"{_count(job.processed_items)} of {_count(job.total_items)} processed, "
        f"{_count(job.failed_items)} failed, {_count(job.skipped_items)} skipped"
    )


def duration_text(seconds: float) -> str:
    """A short duration for people: '8s', '2m05s', '1h02m'."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _percent(resp: BatchGetStatusResponse) -> str:
    return f"{resp.progress_percentage:.1f}%"


def _timestamp_text(moment: object) -> str | None:
    if not isinstance(moment, datetime.datetime):
        return None
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _error_message(resp: BatchGetStatusResponse) -> str | None:
    message = resp.job.error_message
    return safe(message) if isinstance(message, str) and message else None


def json_text(resp: BatchGetStatusResponse) -> str:
    """The response as one line of JSON, the same shape the API sent (timestamps in ISO 8601)."""
    return json.dumps(resp.to_dict(), ensure_ascii=False, default=str)


def status_report(resp: BatchGetStatusResponse) -> list[str]:
    """The `status` command's summary of one job, one 'Label: value' per line."""
    job = resp.job
    rows: list[tuple[str, str | None]] = [
        ("Job", safe(job.id)),
        ("Type", status_name(job.job_type)),
        ("Project", safe(job.project_id)),
        ("Status", f"{status_name(job.status)}, {_percent(resp)} done"),
        ("Items", counters_text(resp)),
        ("Created", _timestamp_text(job.created_at)),
        ("Started", _timestamp_text(job.started_at)),
        ("Completed", _timestamp_text(job.completed_at)),
        ("Updated", _timestamp_text(job.updated_at)),
        ("Error", _error_message(resp)),
    ]
    width = max(len(label) for label, _ in rows) + 2
    return [f"{label + ':':<{width}}{value}" for label, value in rows if value is not None]


_SUMMARY_ORDER = ("completed", "failed", "cancelled", "unfinished", "never read")


def _outcome_label(resp: BatchGetStatusResponse | None) -> str:
    if resp is None:
        return "never read"
    if resp.job.status in TERMINAL_STATUSES:
        return status_name(resp.job.status)
    return "unfinished"


def summary_lines(
    finals: Mapping[str, BatchGetStatusResponse | None], *, with_errors: bool
) -> list[str]:
    """'3 jobs: 1 completed, 1 failed, 1 cancelled', then each failed job's error if asked."""
    tally = dict.fromkeys(_SUMMARY_ORDER, 0)
    for resp in finals.values():
        label = _outcome_label(resp)
        tally[label] = tally.get(label, 0) + 1
    noun = "job" if len(finals) == 1 else "jobs"
    parts = ", ".join(f"{count} {label}" for label, count in tally.items() if count)
    lines = [f"{len(finals)} {noun}: {parts}"]
    if with_errors:
        for job_id, resp in finals.items():
            message = _error_message(resp) if resp is not None else None
            if message is not None and resp is not None and resp.job.status in TERMINAL_STATUSES:
                lines.append(f"{safe(job_id)} {status_name(resp.job.status)}: {message}")
    return lines


class Tracker:
    """What the displays know of each watched job: its last state, time since the wait began,
    and an ETA from a `PollPlanner` fed the same observations the wait sees, so the estimate
    shown is the one the polling acts on. Thread-safe: a live display reads it while it is fed.
    """

    def __init__(
        self,
        job_ids: Iterable[str],
        *,
        poll_interval: float,
        max_poll_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.started = clock()
        self._lock = threading.Lock()
        self._poll_interval = poll_interval
        self._max_poll_interval = max_poll_interval
        self.job_ids = list(dict.fromkeys(job_ids))
        self._planners = {job_id: self._planner() for job_id in self.job_ids}
        self.last: dict[str, BatchGetStatusResponse | None] = dict.fromkeys(self.job_ids)

    def _planner(self) -> PollPlanner:
        return PollPlanner(
            poll_interval=self._poll_interval, max_poll_interval=self._max_poll_interval
        )

    def observe(self, resp: BatchGetStatusResponse) -> str:
        """Records a state the wait reported; returns the job's id."""
        job_id = resp.job.id
        now = self._clock()
        with self._lock:
            planner = self._planners.get(job_id)
            if planner is None:  # a server that renamed the job: follow it under its new id
                planner = self._planners[job_id] = self._planner()
                self.job_ids.append(job_id)
            planner.observe(now, resp)
            self.last[job_id] = resp
        return job_id

    def eta(self, job_id: str) -> float | None:
        """Estimated seconds until the job ends; None while unknown."""
        with self._lock:
            planner = self._planners.get(job_id)
            return None if planner is None else planner.eta(self._clock())

    def elapsed(self) -> float:
        return self._clock() - self.started

    def is_done(self, job_id: str) -> bool:
        resp = self.last.get(job_id)
        return resp is not None and resp.job.status in TERMINAL_STATUSES


class Display:
    """Shows a wait's progress; this base shows nothing (`--quiet`)."""

    def __init__(self, tracker: Tracker, out: TextIO | None = None) -> None:
        self.tracker = tracker
        self.out = out if out is not None else sys.stdout

    def __enter__(self) -> Display:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def changed(self, job_id: str) -> None:
        """The job's state changed (the new state is in `tracker.last`)."""

    def summary(self, finals: Mapping[str, BatchGetStatusResponse | None]) -> None:
        """The wait ended with these last states (None: never read)."""

    def _line(self, text: str) -> None:
        # Flushed line by line: CI logs and pipes must see each change when it happens.
        self.out.write(text + "\n")
        self.out.flush()


class JsonDisplay(Display):
    """`--json`: each observed state as one line of JSON (NDJSON), nothing else on stdout."""

    def changed(self, job_id: str) -> None:
        resp = self.tracker.last[job_id]
        assert resp is not None
        self._line(json_text(resp))


class PlainDisplay(Display):
    """One line per change, for logs and terminals without the live display."""

    def changed(self, job_id: str) -> None:
        resp = self.tracker.last[job_id]
        assert resp is not None
        text = (
            f"{safe(job_id)}: {status_name(resp.job.status)} {_percent(resp)} "
            f"({counters_text(resp)}), elapsed {duration_text(self.tracker.elapsed())}"
        )
        if self.tracker.is_done(job_id):
            message = _error_message(resp)
            if message is not None:
                text += f" - {message}"
        else:
            eta = self.tracker.eta(job_id)
            text += f", ETA {duration_text(eta) if eta is not None else 'unknown'}"
        self._line(text)

    def summary(self, finals: Mapping[str, BatchGetStatusResponse | None]) -> None:
        # Error messages are already on each job's last line.
        for line in summary_lines(finals, with_errors=False):
            self._line(line)
