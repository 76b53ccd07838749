"""Parsing a 2xx body: strict about types, lenient where the meaning is clear (timestamps made
UTC-aware, enum letter case, percentage clamped), and nothing but APIResponseValidationError
ever escapes, whatever JSON arrives."""

from __future__ import annotations

import datetime
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llamacloud_batch import APIResponseValidationError, BatchGetStatusResponse, JobStatus, JobType
from llamacloud_batch._parsing import parse_status_response
from llamacloud_batch_api.types import UNSET

from tests.unit.conftest import JSONObject, job_body

UTC = datetime.UTC
REQUEST = httpx.Request("GET", "https://api.test.invalid/api/v1/beta/batch-processing/bjb-1")


def _parse_bytes(content: bytes) -> BatchGetStatusResponse:
    return parse_status_response(httpx.Response(200, content=content, request=REQUEST))


def _parse(body: object) -> BatchGetStatusResponse:
    return _parse_bytes(json.dumps(body).encode())


def _body(**job_fields: object) -> JSONObject:
    body = job_body("running", progress=10.0)
    job = body["job"]
    assert isinstance(job, dict)
    job.update(job_fields)
    return body


# A timestamp as sent, and the aware UTC datetime it must become.
TIMESTAMPS: list[tuple[str, datetime.datetime]] = [
    ("2024-01-02T03:04:05Z", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-02T03:04:05+00:00", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-02T03:04:05", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-02T05:04:05+02:00", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2024-01-01T22:04:05-05:00", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    (
        "2019-12-27T18:11:19.117Z",
        datetime.datetime(2019, 12, 27, 18, 11, 19, 117_000, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(("sent", "expected"), TIMESTAMPS)
def test_timestamps_become_aware_utc(sent: str, expected: datetime.datetime) -> None:
    job = _parse(_body(created_at=sent, completed_at=sent)).job
    for value in (job.created_at, job.completed_at):
        assert isinstance(value, datetime.datetime)
        assert value == expected
        assert value.utcoffset() == datetime.timedelta(0)
        assert value.tzinfo is UTC


def test_absent_and_null_optional_fields_stay_absent_and_null() -> None:
    job = _parse(_body(started_at=None, error_message=None, failed_items=None)).job
    assert job.started_at is None
    assert job.error_message is None
    assert job.failed_items is None
    assert job.updated_at is UNSET
    assert job.workflow_id is UNSET


# A status as sent, and what job.status must be.
STATUSES: list[tuple[str, JobStatus | str]] = [
    ("completed", JobStatus.COMPLETED),
    ("COMPLETED", JobStatus.COMPLETED),
    ("Running", JobStatus.RUNNING),
    (" failed ", JobStatus.FAILED),
    ("CANCELLED", JobStatus.CANCELLED),
    ("dispatched", JobStatus.DISPATCHED),
    ("paused", "paused"),
    ("QUEUED", "QUEUED"),
    ("", ""),
]


@pytest.mark.parametrize(("sent", "expected"), STATUSES)
def test_status_is_an_open_enum_that_ignores_letter_case(
    sent: str, expected: JobStatus | str
) -> None:
    status = _parse(_body(status=sent)).job.status
    assert status == expected
    assert type(status) is type(expected)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("parse", JobType.PARSE), ("EXTRACT", JobType.EXTRACT), ("summarize", "summarize")],
)
def test_job_type_is_an_open_enum_too(sent: str, expected: JobType | str) -> None:
    job_type = _parse(_body(job_type=sent)).job.job_type
    assert job_type == expected
    assert type(job_type) is type(expected)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [(0, 0.0), (50, 50.0), (42.5, 42.5), (100.0000001, 100.0), (150, 100.0), (-0.001, 0.0)],
)
def test_percentage_is_a_float_clamped_to_0_100(sent: float, expected: float) -> None:
    body = _body()
    body["progress_percentage"] = sent
    value = _parse(body).progress_percentage
    assert value == expected
    assert type(value) is float


def test_unknown_fields_are_kept_not_refused() -> None:
    body = _body(estimated_completion_at="2030-01-01T00:00:00Z", priority=3)
    body["server_version"] = "9"
    parsed = _parse(body)
    assert parsed.job.additional_properties == {
        "estimated_completion_at": "2030-01-01T00:00:00Z",
        "priority": 3,
    }
    assert parsed.additional_properties == {"server_version": "9"}


def test_counters_are_ints() -> None:
    job = _parse(_body(processed_items=3, failed_items=1, skipped_items=0)).job
    assert (job.total_items, job.processed_items, job.failed_items, job.skipped_items) == (
        10,
        3,
        1,
        0,
    )


def test_the_error_keeps_the_body_for_inspection() -> None:
    body = _body(total_items="ten")
    with pytest.raises(APIResponseValidationError) as info:
        _parse(body)
    assert info.value.body == body
    assert "job.total_items" in str(info.value)


def test_body_of_a_non_json_answer_is_kept_short() -> None:
    with pytest.raises(APIResponseValidationError) as info:
        _parse_bytes(b"<html>" + b"x" * 10_000)
    assert isinstance(info.value.body, bytes)
    assert len(info.value.body) <= 500


# -- whatever JSON arrives, only the documented error escapes ---------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["2024-01-02T03:04:05Z", "completed", "FAILED", "parse", "", "1"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
JOB_FIELDS = [
    "id",
    "job_type",
    "project_id",
    "status",
    "total_items",
    "completed_at",
    "created_at",
    "started_at",
    "error_message",
    "failed_items",
    "processed_items",
    "skipped_items",
    "directory_id",
]


def _parses_or_refuses(content: bytes) -> None:
    try:
        parsed = _parse_bytes(content)
    except APIResponseValidationError:
        return
    # What does parse must honour the model's promises.
    job = parsed.job
    assert isinstance(job.id, str)
    assert isinstance(job.project_id, str)
    assert isinstance(job.total_items, int)
    assert isinstance(job.status, JobStatus | str)
    assert isinstance(job.job_type, JobType | str)
    assert isinstance(parsed.progress_percentage, float)
    assert 0.0 <= parsed.progress_percentage <= 100.0
    for stamp in (job.created_at, job.completed_at, job.started_at):
        assert (
            stamp is None
            or stamp is UNSET
            or (isinstance(stamp, datetime.datetime) and stamp.tzinfo is UTC)
        )
    for count in (job.failed_items, job.processed_items, job.skipped_items):
        assert count is None or count is UNSET or type(count) is int


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(JOB_FIELDS), value=JSON_VALUES)
def test_any_value_in_any_job_field_parses_or_is_refused(field: str, value: object) -> None:
    body = _body(**{field: value})
    _parses_or_refuses(json.dumps(body, allow_nan=True).encode())


@settings(max_examples=150, deadline=None)
@given(value=JSON_VALUES)
def test_any_percentage_parses_or_is_refused(value: object) -> None:
    body = _body()
    body["progress_percentage"] = value
    _parses_or_refuses(json.dumps(body, allow_nan=True).encode())


@settings(max_examples=150, deadline=None)
@given(value=JSON_VALUES)
def test_any_json_document_parses_or_is_refused(value: object) -> None:
    _parses_or_refuses(json.dumps(value, allow_nan=True).encode())


@settings(max_examples=150, deadline=None)
@given(content=st.binary(max_size=64))
def test_any_bytes_parse_or_are_refused(content: bytes) -> None:
    _parses_or_refuses(content)
