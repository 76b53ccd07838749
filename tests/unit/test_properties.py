"""Property tests from openapi.yaml: every valid body parses to the documented Python types and
round-trips; every invalid one raises APIResponseValidationError; and the lenient/strict table."""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Callable, Iterator
from typing import TypeAlias, cast

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from llamacloud_batch import (
    APIResponseValidationError,
    BatchClient,
    BatchGetStatusResponse,
    JobCancelledError,
    JobFailedError,
    JobStatus,
    JobType,
    WaitTimeoutError,
)
from llamacloud_batch._parsing import parse_status_response
from llamacloud_batch_api.types import Unset

from tests.spec_schema import JSONDict, inlined_schema, seed_example
from tests.unit.conftest import FakeClock

JSONValue: TypeAlias = object
Mutation: TypeAlias = Callable[[JSONDict], None]


def fixed_run(max_examples: int) -> settings:
    """The same examples on CI and on a laptop, no example database written, and no per-example
    deadline (a loaded 2-core machine is slow, not wrong); bodies are big, hence the checks."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
RESPONSE_SCHEMA = inlined_schema("BatchGetStatusResponse")
JOB_SCHEMA: JSONDict = RESPONSE_SCHEMA["properties"]["job"]
REQUIRED_JOB_FIELDS: list[str] = JOB_SCHEMA["required"]
JOB_FIELDS: dict[str, JSONDict] = JOB_SCHEMA["properties"]
TIMESTAMP_FIELDS = [n for n, s in JOB_FIELDS.items() if s.get("format") == "date-time"]
COUNTER_FIELDS = [n for n, s in JOB_FIELDS.items() if s.get("format") == "int64"]
URL = "https://api.test.invalid/api/v1/beta/batch-processing/bjb-1"


def _request() -> httpx.Request:
    return httpx.Request("GET", URL)


def parse_bytes(content: bytes) -> BatchGetStatusResponse:
    """The body as the client's parsing layer sees a 200 answer carrying it."""
    return parse_status_response(httpx.Response(200, content=content, request=_request()))


def parse_json(body: object) -> BatchGetStatusResponse:
    return parse_bytes(json.dumps(body).encode())


# ---------------------------------------------------------------------------------------------
# Strategies built from the spec's schemas


# One day inside datetime's range each side, so that no offset can push an instant out of it.
_FIRST_S = int((datetime.datetime(1, 1, 2) - datetime.datetime(1, 1, 1)).total_seconds())
_LAST_S = int((datetime.datetime(9999, 12, 30) - datetime.datetime(1, 1, 1)).total_seconds())
_OFFSETS_MIN = range(-(23 * 60 + 59), 23 * 60 + 60)
_SEPARATORS = ("T", "t", " ")
_ZONES = ("Z", "z", "offset", "")  # "": no offset, which means UTC
_SHAPES = 10 * len(_SEPARATORS) * len(_ZONES) * len(_OFFSETS_MIN)


@st.composite
def timestamp_forms(draw: st.DrawFn) -> tuple[str, datetime.datetime]:
    """An ISO-8601 timestamp as a server might write it, and the UTC instant it means.

    Forms: `Z` or `z`, a numeric offset, no offset (read as UTC), `t` or a space instead of
    `T`, and 0 to 9 fractional digits (beyond microseconds the digits are dropped, not rounded).
    Each draw costs about as much as a whole leaf field, and this strategy runs six times a
    body, so the form's parts come from one integer, taken apart below.
    """
    wall = datetime.datetime(1, 1, 1) + datetime.timedelta(
        seconds=draw(st.integers(_FIRST_S, _LAST_S))
    )
    nines = f"{draw(st.integers(0, 10**9 - 1)):09d}"
    shape, places = divmod(draw(st.integers(0, _SHAPES - 1)), 10)
    shape, sep_index = divmod(shape, len(_SEPARATORS))
    offset_index, zone_index = divmod(shape, len(_ZONES))
    sep, zone = _SEPARATORS[sep_index], _ZONES[zone_index]

    text = f"{wall.year:04d}-{wall:%m-%d}{sep}{wall:%H:%M:%S}"  # %Y is unpadded before 1000
    if places:
        text += "." + nines[:places]
    micros = int(nines[:places][:6].ljust(6, "0"))
    instant = wall.replace(microsecond=micros, tzinfo=datetime.UTC)
    if zone == "offset":
        offset_min = _OFFSETS_MIN[offset_index]
        sign = "-" if offset_min < 0 else "+"
        hours, minutes = divmod(abs(offset_min), 60)
        text += f"{sign}{hours:02d}:{minutes:02d}"
        instant -= datetime.timedelta(minutes=offset_min)
    else:
        text += zone
    return text, instant


JSON_SCALARS: st.SearchStrategy[JSONValue] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(INT64_MIN, INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)


def from_spec(schema: JSONDict) -> st.SearchStrategy[JSONValue]:
    """Values valid for `schema`, extra object properties included.

    Leaves come from hypothesis-jsonschema's `from_schema`; objects are composed here from
    their properties, as its own object strategy costs ~100 ms an example on this machine
    (it builds every key through filters), and date-time strings come from `timestamp_forms`
    (it would check them against strict RFC 3339, dropping the sloppier forms servers send).
    """
    types = schema.get("type")
    type_list = types if isinstance(types, list) else [types]
    if "object" in type_list or "properties" in schema:
        properties: dict[str, JSONDict] = schema.get("properties", {})
        required = set(schema.get("required", []))
        named = st.fixed_dictionaries(
            {name: from_spec(sub) for name, sub in properties.items() if name in required},
            optional={
                name: from_spec(sub) for name, sub in properties.items() if name not in required
            },
        )
        # The spec allows fields it does not name; a real server adds some over time.
        extra_keys = st.text(max_size=8).filter(lambda key: key not in properties)
        extras = st.dictionaries(extra_keys, JSON_SCALARS, max_size=2)
        return st.builds(lambda known, more: {**more, **known}, named, extras)
    if schema.get("format") == "date-time":
        texts = timestamp_forms().map(lambda pair: pair[0])
        return st.one_of(st.none(), texts) if "null" in type_list else texts
    if schema.get("format") == "int64":  # from_schema reads no integer formats
        schema = {**schema, "minimum": INT64_MIN, "maximum": INT64_MAX}
    return cast(st.SearchStrategy[JSONValue], from_schema(schema))


VALID_BODIES = from_spec(RESPONSE_SCHEMA)


# ---------------------------------------------------------------------------------------------
# Valid bodies


def _assert_documented_types(parsed: BatchGetStatusResponse, body: JSONDict) -> None:
    job = parsed.job
    sent = body["job"]
    assert isinstance(job.id, str) and job.id == sent["id"]
    assert isinstance(job.project_id, str) and job.project_id == sent["project_id"]
    for name, enum_type in (("status", JobStatus), ("job_type", JobType)):
        value = getattr(job, name)
        if isinstance(value, enum_type):
            assert value.value == sent[name].strip().casefold()
        else:
            # An unknown value stays the str sent, and never hides a known one in another case.
            assert type(value) is str and value == sent[name]
            assert value.strip().casefold() not in {m.value for m in enum_type}
    for name in COUNTER_FIELDS:
        value = getattr(job, name)
        if name in sent and sent[name] is not None:
            assert type(value) is int and value == sent[name]
        else:
            assert value is sent.get(name, value) and (value is None or isinstance(value, Unset))
    for name in TIMESTAMP_FIELDS:
        value = getattr(job, name)
        if name in sent and sent[name] is not None:
            assert isinstance(value, datetime.datetime)
            assert value.tzinfo is not None and value.utcoffset() == datetime.timedelta(0)
        else:
            assert value is None or isinstance(value, Unset)
    for name in ("directory_id", "error_message", "job_record_id", "workflow_id"):
        assert getattr(job, name) == sent.get(name, getattr(job, name))
    assert type(parsed.progress_percentage) is float
    assert 0.0 <= parsed.progress_percentage <= 100.0
    assert parsed.progress_percentage == body["progress_percentage"]
    extras = {k: v for k, v in sent.items() if k not in JOB_FIELDS}
    assert job.additional_properties == extras


VALID_EXAMPLES = 1000
valid_seen: list[int] = [0]


@fixed_run(VALID_EXAMPLES)
@given(body=VALID_BODIES)
def test_every_valid_body_parses_to_documented_types_and_round_trips(body: JSONDict) -> None:
    valid_seen[0] += 1
    parsed = parse_json(body)
    _assert_documented_types(parsed, body)
    as_dict = parsed.to_dict()
    assert BatchGetStatusResponse.from_dict(as_dict) == parsed
    # And once more through the wire: what to_dict gives is itself a valid body.
    assert parse_json(as_dict) == parsed


def test_valid_body_strategy_ran_thousands_of_examples() -> None:
    """Guards the figure reported in docs/reliability.md against a silently shrunken run."""
    if valid_seen[0] == 0:
        pytest.skip("run together with the property test above")
    assert valid_seen[0] >= VALID_EXAMPLES


@fixed_run(400)
@given(form=timestamp_forms(), field=st.sampled_from(TIMESTAMP_FIELDS))
def test_timestamps_in_every_iso_form_become_the_same_utc_instant(
    form: tuple[str, datetime.datetime], field: str
) -> None:
    text, instant = form
    body = seed_example()
    body["job"][field] = text
    value = getattr(parse_json(body).job, field)
    assert isinstance(value, datetime.datetime)
    assert value.utcoffset() == datetime.timedelta(0)
    assert value == instant


# ---------------------------------------------------------------------------------------------
# Invalid bodies: each kind has its own strategy; every example must raise exactly
# APIResponseValidationError.


def _allowed_json_types(schema: JSONDict) -> set[str]:
    if "anyOf" in schema:
        return set().union(*(_allowed_json_types(option) for option in schema["anyOf"]))
    types = schema["type"]
    return set(types if isinstance(types, list) else [types])


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        # JSON Schema counts 10.0 as an integer too; the parser accepts it as one.
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


ANY_JSON: st.SearchStrategy[JSONValue] = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


def _wrongly_typed(schema: JSONDict) -> st.SearchStrategy[JSONValue]:
    allowed = _allowed_json_types(schema)
    if "number" in allowed:
        allowed.add("integer")

    def is_wrong(value: object) -> bool:
        return _json_type(value) not in allowed

    wrong = ANY_JSON.filter(is_wrong)
    if schema.get("format") == "date-time":
        # A string is the right JSON type but must be a date-time: letters alone never are.
        words = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12)
        wrong = st.one_of(wrong, words, st.sampled_from(["yesterday", "", "2019-13-01T00:00:00Z"]))
    return wrong


FIELD_SCHEMAS: dict[tuple[str, ...], JSONDict] = {
    ("progress_percentage",): RESPONSE_SCHEMA["properties"]["progress_percentage"],
    **{("job", name): schema for name, schema in JOB_FIELDS.items()},
}


@st.composite
def wrong_type_bodies(draw: st.DrawFn) -> JSONDict:
    body = cast(JSONDict, draw(VALID_BODIES))
    path = draw(st.sampled_from(sorted(FIELD_SCHEMAS)))
    target = body["job"] if path[0] == "job" else body
    target[path[-1]] = draw(_wrongly_typed(FIELD_SCHEMAS[path]))
    return body


@st.composite
def missing_required_bodies(draw: st.DrawFn) -> JSONDict:
    body = cast(JSONDict, draw(VALID_BODIES))
    where = draw(st.sampled_from(["top", "job"]))
    if where == "top":
        del body[draw(st.sampled_from(RESPONSE_SCHEMA["required"]))]
    else:
        del body["job"][draw(st.sampled_from(REQUIRED_JOB_FIELDS))]
    return body


@st.composite
def null_required_bodies(draw: st.DrawFn) -> JSONDict:
    body = cast(JSONDict, draw(VALID_BODIES))
    where = draw(st.sampled_from(["top", "job"]))
    if where == "top":
        body[draw(st.sampled_from(RESPONSE_SCHEMA["required"]))] = None
    else:
        body["job"][draw(st.sampled_from(REQUIRED_JOB_FIELDS))] = None
    return body


NON_OBJECTS = st.one_of(
    JSON_SCALARS, st.lists(ANY_JSON, max_size=3), VALID_BODIES.map(lambda body: [body])
)


@st.composite
def non_object_job_bodies(draw: st.DrawFn) -> JSONDict:
    body = cast(JSONDict, draw(VALID_BODIES))
    body["job"] = draw(NON_OBJECTS)
    return body


@st.composite
def truncated_json(draw: st.DrawFn) -> bytes:
    text = json.dumps(draw(VALID_BODIES)).encode()
    return text[: draw(st.integers(0, len(text) - 1))]


# Bytes that never occur in UTF-8 text, so the body cannot decode whatever else it holds.
NEVER_UTF8 = [0xC0, 0xC1, *range(0xF5, 0x100)]


@st.composite
def non_utf8_bytes(draw: st.DrawFn) -> bytes:
    text = json.dumps(draw(VALID_BODIES), ensure_ascii=draw(st.booleans())).encode()
    at = draw(st.integers(0, len(text)))
    return text[:at] + bytes([draw(st.sampled_from(NEVER_UTF8))]) + text[at:]


def _raw(bodies: st.SearchStrategy[JSONDict]) -> st.SearchStrategy[bytes]:
    return bodies.map(lambda body: json.dumps(body).encode())


INVALID_KINDS: dict[str, st.SearchStrategy[bytes]] = {
    "wrong_type": _raw(wrong_type_bodies()),
    "missing_required": _raw(missing_required_bodies()),
    "null_in_required": _raw(null_required_bodies()),
    "non_object_body": NON_OBJECTS.map(lambda value: json.dumps(value).encode()),
    "non_object_job": _raw(non_object_job_bodies()),
    "truncated_json": truncated_json(),
    "non_utf8_bytes": non_utf8_bytes(),
}
INVALID_EXAMPLES = 120


@pytest.mark.parametrize("kind", sorted(INVALID_KINDS))
def test_every_invalid_body_raises_only_the_validation_error(kind: str) -> None:
    @fixed_run(INVALID_EXAMPLES)
    @given(content=INVALID_KINDS[kind])
    def check(content: bytes) -> None:
        with pytest.raises(APIResponseValidationError) as caught:
            parse_bytes(content)
        assert type(caught.value) is APIResponseValidationError
        assert caught.value.status_code == 200

    check()


@fixed_run(40)
@given(content=st.one_of(*INVALID_KINDS.values()))
def test_invalid_bodies_reach_the_caller_once_through_the_client(content: bytes) -> None:
    """Through BatchClient too: the same error, not retried, not wrapped."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=content)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = BatchClient("k", base_url="https://api.test.invalid", http_client=http)
    with client, pytest.raises(APIResponseValidationError):
        client.get_status("bjb-1")
    assert len(calls) == 1


# ---------------------------------------------------------------------------------------------
# Waiting over any sequence of valid bodies ends by its deadline, typed.


@fixed_run(60)
@given(bodies=st.lists(VALID_BODIES, min_size=1, max_size=8), timeout_s=st.floats(1.0, 600.0))
def test_a_wait_over_any_valid_bodies_ends_typed_by_its_deadline(
    bodies: list[JSONDict], timeout_s: float
) -> None:
    replies: Iterator[JSONDict] = iter(bodies)
    last = bodies[-1]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(replies, last))

    clock = FakeClock()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = BatchClient("k", base_url="https://api.test.invalid", http_client=http)
    try:
        final = client.wait_until_done(
            "bjb-1", timeout=timeout_s, clock=clock.now, sleep=clock.sleep
        )
    except (JobFailedError, JobCancelledError, WaitTimeoutError) as exc:
        assert exc.job_id == "bjb-1"
    else:
        assert final.job.status is JobStatus.COMPLETED
    # The fake clock adds up float sleeps, so allow for rounding in the last place.
    assert clock.elapsed <= timeout_s + 1e-9


# ---------------------------------------------------------------------------------------------
# Lenient where the server is sloppy, strict where it would mislead: one row per decision.

UTC = datetime.UTC
T0 = datetime.datetime(2019, 12, 27, 18, 11, 19, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2019-12-27T18:11:19Z", T0),
        ("2019-12-27T18:11:19.117Z", T0.replace(microsecond=117_000)),
        ("2019-12-27T18:11:19+00:00", T0),
        ("2019-12-27T19:41:19+01:30", T0),
        ("2019-12-27T10:11:19-08:00", T0),
        ("2019-12-27T18:11:19", T0),
        ("2019-12-27 18:11:19", T0),
        ("2019-12-27T18:11:19.117123456Z", T0.replace(microsecond=117_123)),
        ("2019-12-27T18:11:19.117123999+00:00", T0.replace(microsecond=117_123)),
        ("2019-12-27t18:11:19z", T0),
        ("2016-12-31T23:59:60Z", datetime.datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        (
            "2016-12-31T23:59:60.5+00:00",
            datetime.datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        ),
    ],
    ids=[
        "Z",
        "Z-millis",
        "zero-offset",
        "positive-offset",
        "negative-offset",
        "no-offset-means-utc",
        "space-separator",
        "nanoseconds-Z",
        "nanoseconds-offset-truncated",
        "lowercase-t-and-z",
        "leap-second",
        "leap-second-fraction",
    ],
)
def test_lenient_timestamp_forms_become_utc_aware(sent: str, expected: datetime.datetime) -> None:
    body = seed_example()
    body["job"]["updated_at"] = sent
    value = parse_json(body).job.updated_at
    assert isinstance(value, datetime.datetime)
    assert value.tzinfo is not None and value.utcoffset() == datetime.timedelta(0)
    assert value == expected


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        (("job", "total_items"), "10"),
        (("job", "processed_items"), "10"),
        (("job", "total_items"), 10.5),
        (("job", "total_items"), True),
        (("job", "total_items"), 2**63),
        (("job", "failed_items"), -(2**63) - 1),
        (("job", "updated_at"), "yesterday"),
        (("job", "updated_at"), 1577470279),
        (("job", "updated_at"), "2019-12-27T25:00:00Z"),
        (("job", "status"), 3),
        (("job", "id"), 42),
        (("progress_percentage",), "50"),
        (("progress_percentage",), None),
        (("progress_percentage",), True),
    ],
    ids=lambda value: repr(value),
)
def test_strict_wrong_types_raise_instead_of_passing_through(
    path: tuple[str, ...], sent: object
) -> None:
    body = seed_example()
    target = body["job"] if path[0] == "job" else body
    target[path[-1]] = sent
    with pytest.raises(APIResponseValidationError, match=path[-1]):
        parse_json(body)


SEED_JOB = json.dumps(seed_example()["job"]).encode()


# Bodies too deep or too large to hold as Python values: typed errors, never a crash.
@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000,
        b'{"job":' * 100_000,
        b'{"job": ' + SEED_JOB + b', "progress_percentage": 1e400}',
        b'{"job": ' + SEED_JOB + b', "progress_percentage": ' + b"9" * 400 + b"}",
        b'{"job": '
        + SEED_JOB[:-1]
        + b', "total_items": '
        + b"9" * 400
        + b'}, "progress_percentage": 1}',
        b'{"job": ' + SEED_JOB + b', "progress_percentage": ' + b"9" * 5000 + b"}",
        b"",
        b"\xef\xbb\xbf",
        b"null",
    ],
    ids=[
        "deeply-nested-array",
        "deeply-nested-object",
        "float-overflow",
        "huge-integer-progress",
        "huge-integer-counter",
        "integer-past-str-digit-limit",
        "empty",
        "bom-only",
        "null",
    ],
)
def test_pathological_bodies_raise_the_validation_error(content: bytes) -> None:
    with pytest.raises(APIResponseValidationError):
        parse_bytes(content)


def test_out_of_range_timestamp_after_utc_conversion_is_a_validation_error() -> None:
    """Year 1 at +01:00 is year 0 in UTC, which datetime cannot hold: an error, not a crash."""
    for edge in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        body = seed_example()
        body["job"]["created_at"] = edge
        with pytest.raises(APIResponseValidationError, match="created_at"):
            parse_json(body)


def test_huge_progress_integer_is_a_validation_error() -> None:
    body = seed_example()
    body["progress_percentage"] = 10**400
    with pytest.raises(APIResponseValidationError, match="progress_percentage"):
        parse_json(body)


def test_integral_float_counters_are_integers() -> None:
    """JSON Schema's integer includes 10.0; a server writing floats still means ten."""
    body = seed_example()
    body["job"]["total_items"] = 10.0
    body["job"]["processed_items"] = 4.0
    job = parse_json(body).job
    assert (job.total_items, job.processed_items) == (10, 4)
    assert type(job.total_items) is int and type(job.processed_items) is int


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("COMPLETED", JobStatus.COMPLETED),
        ("Completed", JobStatus.COMPLETED),
        (" running ", JobStatus.RUNNING),
        ("CANCELLED", JobStatus.CANCELLED),
        ("paused", "paused"),
        ("QUEUED", "QUEUED"),
        ("", ""),
    ],
)
def test_status_in_another_case_is_the_member_and_unknown_stays_str(
    sent: str, expected: JobStatus | str
) -> None:
    body = seed_example()
    body["job"]["status"] = sent
    status = parse_json(body).job.status
    assert status == expected
    assert type(status) is type(expected)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [(100.0000001, 100.0), (-0.0001, 0.0), (100, 100.0), (0, 0.0), (1e-300, 1e-300), (250, 100.0)],
)
def test_progress_slightly_outside_the_range_is_clamped(sent: float, expected: float) -> None:
    body = seed_example()
    body["progress_percentage"] = sent
    progress = parse_json(body).progress_percentage
    assert type(progress) is float and progress == expected


def test_unknown_status_keeps_a_wait_polling_until_a_known_end() -> None:
    replies = iter(["pending", "PAUSED", "paused", "thinking", "COMPLETED"])
    seen: list[JobStatus | str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = seed_example()
        body["job"]["status"] = next(replies)
        return httpx.Response(200, json=body)

    clock = FakeClock()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = BatchClient("k", base_url="https://api.test.invalid", http_client=http)
    final = client.wait_until_done(
        "bjb-1",
        timeout=600.0,
        clock=clock.now,
        sleep=clock.sleep,
        on_progress=lambda resp: seen.append(resp.job.status),
    )
    assert final.job.status is JobStatus.COMPLETED
    assert seen[0] is JobStatus.PENDING and seen[-1] is JobStatus.COMPLETED
    assert "PAUSED" in seen and "thinking" in seen
    assert math.isclose(clock.elapsed, sum(clock.sleeps)) and clock.sleeps
