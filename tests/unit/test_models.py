"""The re-exported response models parse the documentation's example field by field, keep open
enums and extra fields, and survive to_dict -> from_dict."""

from __future__ import annotations

import datetime
import json

import llamacloud_batch
import pytest
from llamacloud_batch import BatchGetStatusResponse, Job, JobStatus, JobType
from llamacloud_batch_api.types import UNSET

from tests.spec_schema import JSONDict, seed_example

SEED_TIME = datetime.datetime(2019, 12, 27, 18, 11, 19, 117_000, tzinfo=datetime.UTC)

# Each field of the seed's job: the value from_dict must give and its exact Python type.
EXPECTED_JOB: dict[str, tuple[object, type]] = {
    "id": ("bjb-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", str),
    "job_type": (JobType.PARSE, JobType),
    "project_id": ("proj-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", str),
    "status": (JobStatus.PENDING, JobStatus),
    "total_items": (0, int),
    "completed_at": (SEED_TIME, datetime.datetime),
    "created_at": (SEED_TIME, datetime.datetime),
    "directory_id": ("dir-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", str),
    "effective_at": (SEED_TIME, datetime.datetime),
    "error_message": ("error_message", str),
    "failed_items": (0, int),
    "job_record_id": ("job_record_id", str),
    "processed_items": (0, int),
    "skipped_items": (0, int),
    "started_at": (SEED_TIME, datetime.datetime),
    "updated_at": (SEED_TIME, datetime.datetime),
    "workflow_id": ("workflow_id", str),
}
TIMESTAMPS = [name for name, (_, kind) in EXPECTED_JOB.items() if kind is datetime.datetime]
OPTIONAL = [
    "completed_at",
    "created_at",
    "directory_id",
    "effective_at",
    "error_message",
    "failed_items",
    "job_record_id",
    "processed_items",
    "skipped_items",
    "started_at",
    "updated_at",
    "workflow_id",
]


def _parse(payload: JSONDict) -> BatchGetStatusResponse:
    return llamacloud_batch.BatchGetStatusResponse.from_dict(payload)


def test_expected_table_covers_every_field_of_the_seed() -> None:
    assert list(seed_example()["job"]) == list(EXPECTED_JOB)


@pytest.mark.parametrize("name", list(EXPECTED_JOB))
def test_seed_field_parses_to_value_and_type(name: str) -> None:
    expected_value, expected_type = EXPECTED_JOB[name]
    value = getattr(_parse(seed_example()).job, name)
    # type(), not isinstance: bool is an int and a str-valued enum member is a str.
    assert type(value) is expected_type
    assert value == expected_value


@pytest.mark.parametrize("name", TIMESTAMPS)
def test_seed_timestamps_are_utc_aware(name: str) -> None:
    value = getattr(_parse(seed_example()).job, name)
    assert isinstance(value, datetime.datetime)
    assert value.utcoffset() == datetime.timedelta(0)
    assert value.isoformat() == "2019-12-27T18:11:19.117000+00:00"


def test_seed_enums_are_the_members() -> None:
    job = _parse(seed_example()).job
    assert job.job_type is JobType.PARSE
    assert job.status is JobStatus.PENDING


def test_seed_progress_and_nothing_extra() -> None:
    parsed = _parse(seed_example())
    assert isinstance(parsed.job, Job)
    # JSON's 0 arrives as an int, which the `float` annotation accepts (PEP 484 numeric tower).
    assert not isinstance(parsed.progress_percentage, bool)
    assert isinstance(parsed.progress_percentage, int | float)
    assert parsed.progress_percentage == 0
    assert parsed.additional_properties == {}
    assert parsed.job.additional_properties == {}


def test_round_trip_keeps_every_field() -> None:
    parsed = _parse(seed_example())
    again = _parse(parsed.to_dict())
    assert again == parsed
    for name, (expected_value, expected_type) in EXPECTED_JOB.items():
        value = getattr(again.job, name)
        assert type(value) is expected_type, name
        assert value == expected_value, name


def test_to_dict_gives_json_equal_to_the_seed_but_for_timestamp_spelling() -> None:
    seed = seed_example()
    dumped = json.loads(json.dumps(_parse(seed).to_dict()))
    assert set(dumped) == set(seed)
    assert dumped["progress_percentage"] == seed["progress_percentage"]
    assert set(dumped["job"]) == set(seed["job"])
    for name, value in dumped["job"].items():
        if name in TIMESTAMPS:
            assert datetime.datetime.fromisoformat(value) == SEED_TIME, name
        else:
            assert value == seed["job"][name], name


@pytest.mark.parametrize(
    ("field", "value"),
    [("job_type", "summarize"), ("status", "paused"), ("status", "")],
)
def test_unknown_enum_values_stay_strings(field: str, value: str) -> None:
    payload = seed_example()
    payload["job"][field] = value
    parsed = _parse(payload)
    got = getattr(parsed.job, field)
    assert type(got) is str
    assert got == value
    assert parsed.to_dict()["job"][field] == value
    assert _parse(parsed.to_dict()) == parsed


@pytest.mark.parametrize(("member", "value"), [*JobType.__members__.items()])
def test_every_job_type_value_parses_to_its_member(member: str, value: JobType) -> None:
    payload = seed_example()
    payload["job"]["job_type"] = value.value
    assert _parse(payload).job.job_type is JobType[member]


@pytest.mark.parametrize(("member", "value"), [*JobStatus.__members__.items()])
def test_every_status_value_parses_to_its_member(member: str, value: JobStatus) -> None:
    payload = seed_example()
    payload["job"]["status"] = value.value
    assert _parse(payload).job.status is JobStatus[member]


def test_enum_values_are_the_seeds() -> None:
    # The generator sorts members by name, so compare as sets.
    assert {member.value for member in JobType} == {"parse", "extract", "classify"}
    assert {member.value for member in JobStatus} == {
        "pending",
        "running",
        "dispatched",
        "completed",
        "failed",
        "cancelled",
    }


def test_extra_fields_survive_in_additional_properties() -> None:
    payload = seed_example()
    payload["request_id"] = "req-1"
    payload["job"]["estimated_completion_at"] = "2019-12-27T19:00:00Z"
    payload["job"]["labels"] = {"team": "docs", "tries": [1, 2]}
    parsed = _parse(payload)
    assert parsed.additional_properties == {"request_id": "req-1"}
    assert parsed.job.additional_properties == {
        "estimated_completion_at": "2019-12-27T19:00:00Z",
        "labels": {"team": "docs", "tries": [1, 2]},
    }
    dumped = parsed.to_dict()
    assert dumped["request_id"] == "req-1"
    assert dumped["job"]["labels"] == {"team": "docs", "tries": [1, 2]}
    assert _parse(dumped) == parsed


def test_nulls_parse_as_none_and_round_trip() -> None:
    payload = seed_example()
    for name in OPTIONAL:
        payload["job"][name] = None
    parsed = _parse(payload)
    for name in OPTIONAL:
        assert getattr(parsed.job, name) is None, name
    dumped = parsed.to_dict()
    assert all(dumped["job"][name] is None for name in OPTIONAL)
    assert _parse(dumped) == parsed


def test_missing_optional_fields_are_unset_and_stay_missing() -> None:
    payload = seed_example()
    for name in OPTIONAL:
        del payload["job"][name]
    parsed = _parse(payload)
    for name in OPTIONAL:
        assert getattr(parsed.job, name) is UNSET, name
    assert set(parsed.to_dict()["job"]) == set(EXPECTED_JOB) - set(OPTIONAL)
    assert _parse(parsed.to_dict()) == parsed


@pytest.mark.parametrize("missing", ["id", "job_type", "project_id", "status", "total_items"])
def test_missing_required_job_field_raises(missing: str) -> None:
    payload = seed_example()
    del payload["job"][missing]
    with pytest.raises(KeyError, match=missing):
        _parse(payload)


def test_missing_progress_raises() -> None:
    payload = seed_example()
    del payload["progress_percentage"]
    with pytest.raises(KeyError, match="progress_percentage"):
        _parse(payload)


def test_offset_timestamp_parses_to_the_same_instant() -> None:
    payload = seed_example()
    payload["job"]["created_at"] = "2019-12-27T19:11:19.117+01:00"
    created_at = _parse(payload).job.created_at
    assert isinstance(created_at, datetime.datetime)
    assert created_at == SEED_TIME
