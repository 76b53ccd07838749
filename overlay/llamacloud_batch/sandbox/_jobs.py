"""The sandbox's jobs: what each was asked to do, and the status body it shows at any instant."""

from __future__ import annotations

import dataclasses
import math
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, get_args

Outcome = Literal["completed", "failed", "cancelled"]
OUTCOMES: Final[tuple[str, ...]] = get_args(Outcome)

SEED_JOB_ID: Final = "bjb-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
# Every sandbox job belongs to the seed example's project, so a client bound to one project
# sees all of them.
SANDBOX_PROJECT_ID: Final = "proj-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
_SEED_TIME: Final = "2019-12-27T18:11:19.117Z"

# Share of a job's duration it spends pending before it starts running.
_PENDING_SHARE: Final = 0.1
# Share of its items a failed or cancelled job has handled when it stops.
_INTERRUPTED_SHARE: Final = 0.5
_DEFAULT_ERROR_MESSAGE: Final = "Sandbox job failed as requested"
_INT64_MAX: Final = 2**63 - 1
# Keeps every timestamp within what datetime can represent.
_MAX_DURATION_S: Final = 366 * 24 * 3600.0

JSONObject = dict[str, object]


def seed_body() -> JSONObject:
    """The endpoint documentation's example response, served as is under SEED_JOB_ID."""
    return {
        "job": {
            "id": SEED_JOB_ID,
            "job_type": "parse",
            "project_id": SANDBOX_PROJECT_ID,
            "status": "pending",
            "total_items": 0,
            "completed_at": _SEED_TIME,
            "created_at": _SEED_TIME,
            "directory_id": "dir-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "effective_at": _SEED_TIME,
            "error_message": "error_message",
            "failed_items": 0,
            "job_record_id": "job_record_id",
            "processed_items": 0,
            "skipped_items": 0,
            "started_at": _SEED_TIME,
            "updated_at": _SEED_TIME,
            "workflow_id": "workflow_id",
        },
        "progress_percentage": 0,
    }


class JobSpecError(ValueError):
    """A job argument is missing or invalid; `field` names it (None: the whole body)."""

    def __init__(self, field: str | None, message: str, *, kind: str = "value_error") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.kind = kind


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class JobSpec:
    """What a sandbox job does. `failed_items` and `skipped_items` are the counters it ends with;
    `duration` is in seconds, from creation to its outcome."""

    total_items: int
    duration: float
    outcome: Outcome = "completed"
    job_type: str = "parse"
    failed_items: int = 0
    skipped_items: int = 0
    error_message: str | None = None

    def __post_init__(self) -> None:
        # Checked at run time too: specs also arrive as JSON over HTTP.
        for name in ("total_items", "failed_items", "skipped_items"):
            value = getattr(self, name)
            if not _is_int(value) or not 0 <= value <= _INT64_MAX:
                raise JobSpecError(name, "must be a whole number >= 0 (int64)")
        duration = self.duration
        if not isinstance(duration, int | float) or isinstance(duration, bool):
            raise JobSpecError("duration", "must be a number of seconds")
        if not 0 <= duration <= _MAX_DURATION_S:  # also rejects NaN
            raise JobSpecError("duration", f"must be between 0 and {_MAX_DURATION_S:.0f} seconds")
        if self.outcome not in OUTCOMES:
            raise JobSpecError("outcome", f"must be one of {', '.join(OUTCOMES)}")
        # Any non-empty job_type is allowed, so clients can be tested on values they don't know.
        if not isinstance(self.job_type, str) or not self.job_type:
            raise JobSpecError("job_type", "must be a non-empty string")
        if self.error_message is not None and not isinstance(self.error_message, str):
            raise JobSpecError("error_message", "must be a string or null")
        if self.failed_items + self.skipped_items > self.total_items:
            raise JobSpecError("failed_items", "failed_items + skipped_items exceed total_items")

    @classmethod
    def from_json(cls, body: object) -> JobSpec:
        """A spec from a decoded JSON object holding add_job's keyword arguments."""
        if not isinstance(body, Mapping):
            raise JobSpecError(None, "the body must be a JSON object", kind="model_attributes_type")
        fields = {field.name: field for field in dataclasses.fields(cls)}
        for key in body:
            if key not in fields:
                raise JobSpecError(str(key), "unknown field", kind="extra_forbidden")
        for name, field in fields.items():
            if field.default is dataclasses.MISSING and name not in body:
                raise JobSpecError(name, "Field required", kind="missing")
        return cls(**body)

    @property
    def handled_at_end(self) -> int:
        """How many items the job has handled when it ends."""
        if self.outcome == "completed":
            return self.total_items
        stopped_at = math.floor(self.total_items * _INTERRUPTED_SHARE)
        return max(stopped_at, self.failed_items + self.skipped_items)


@dataclass(frozen=True)
class SandboxJob:
    """A job placed on the sandbox, its timeline anchored at `created_s` (sandbox clock, seconds)
    and `created_at` (wall clock, UTC)."""

    id: str
    spec: JobSpec
    created_s: float
    created_at: datetime
    directory_id: str

    def status_body(self, now_s: float) -> JSONObject:
        """The GET response body at sandbox-clock time `now_s`.

        Timeline: pending for the first tenth of `duration`, then running while items are
        handled at a steady rate, then the outcome at `duration`. A failed or cancelled job
        stops once half its items (or at least its failed + skipped ones) are handled.
        processed, failed and skipped items are disjoint counters; progress_percentage is the
        share of items handled, 100 * (processed + failed + skipped) / total_items. A job
        without items shows 0 until it completes, then 100.
        """
        spec = self.spec
        elapsed_s = max(0.0, now_s - self.created_s)
        pending_s = spec.duration * _PENDING_SHARE
        running_s = spec.duration - pending_s
        end = spec.handled_at_end
        started_s: float | None = pending_s
        completed_s: float | None = None
        if elapsed_s >= spec.duration:
            status: str = spec.outcome
            handled = end
            effective_s = updated_s = completed_s = spec.duration
        elif elapsed_s < pending_s:
            status, handled, started_s = "pending", 0, None
            effective_s = updated_s = 0.0
        else:
            status = "running"
            handled = min(end, math.floor(end * (elapsed_s - pending_s) / running_s))
            effective_s = pending_s
            # The record last changed when the latest item was handled.
            reached_s = pending_s + (handled * running_s / end if end else 0.0)
            updated_s = min(reached_s, elapsed_s)
        processed, failed, skipped = _split(handled, end, spec.failed_items, spec.skipped_items)
        if spec.total_items:
            percentage = 100.0 * handled / spec.total_items
        else:
            percentage = 100.0 if status == "completed" else 0.0
        error_message = None
        if completed_s is not None:
            error_message = spec.error_message
            if spec.outcome == "failed" and not error_message:
                error_message = _DEFAULT_ERROR_MESSAGE
        return {
            "job": {
                "id": self.id,
                "job_type": spec.job_type,
                "project_id": SANDBOX_PROJECT_ID,
                "status": status,
                "total_items": spec.total_items,
                "completed_at": self._timestamp(completed_s),
                "created_at": self._timestamp(0.0),
                "directory_id": self.directory_id,
                "effective_at": self._timestamp(effective_s),
                "error_message": error_message,
                "failed_items": failed,
                "job_record_id": None,
                "processed_items": processed,
                "skipped_items": skipped,
                "started_at": self._timestamp(started_s),
                "updated_at": self._timestamp(updated_s),
                "workflow_id": None,
            },
            "progress_percentage": percentage,
        }

    def _timestamp(self, offset_s: float | None) -> str | None:
        if offset_s is None:
            return None
        moment = (self.created_at + timedelta(seconds=offset_s)).astimezone(UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _split(handled: int, end: int, failed: int, skipped: int) -> tuple[int, int, int]:
    """(processed, failed, skipped) once `handled` of `end` items are handled. Integer shares
    of shares, so every counter only grows and reaches its final value exactly at `end`."""
    if end == 0:
        return 0, 0, 0
    unsuccessful = handled * (failed + skipped) // end
    failed_now = unsuccessful * failed // (failed + skipped) if unsuccessful else 0
    return handled - unsuccessful, failed_now, unsuccessful - failed_now


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobBoard:
    """The sandbox's jobs, safe to use from many threads. `clock` gives monotonic seconds and
    drives every job's progress; `wall_clock` gives the aware datetime a job is created at."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime],
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._jobs: dict[str, SandboxJob] = {}
        self._lock = threading.Lock()

    def add(self, spec: JobSpec) -> str:
        job = SandboxJob(
            id=f"bjb-{uuid.uuid4()}",
            spec=spec,
            created_s=self._clock(),
            created_at=self._wall_clock(),
            directory_id=f"dir-{uuid.uuid4()}",
        )
        with self._lock:
            self._jobs[job.id] = job
        return job.id

    def status_body(self, job_id: str) -> JSONObject | None:
        """The job's GET response body now, or None when no such job exists."""
        if job_id == SEED_JOB_ID:
            return seed_body()
        with self._lock:
            job = self._jobs.get(job_id)
        return None if job is None else job.status_body(self._clock())
