"""The error tree: each status gets its class and the server's detail, transport failures are
typed and chained, and a 2xx body that breaks the contract is an APIResponseValidationError."""

from __future__ import annotations

import json

import httpx
import llamacloud_batch
import pytest
from llamacloud_batch import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    JobCancelledError,
    JobFailedError,
    LlamaCloudError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WaitTimeoutError,
)

from tests.unit.conftest import JSONObject, ScriptedServer, async_client, job_body, sync_client

# (class, its parent) for every edge of the documented tree.
TREE = [
    (APIError, LlamaCloudError),
    (APIConnectionError, APIError),
    (APITimeoutError, APIConnectionError),
    (APIStatusError, APIError),
    (BadRequestError, APIStatusError),
    (AuthenticationError, APIStatusError),
    (PermissionDeniedError, APIStatusError),
    (NotFoundError, APIStatusError),
    (ConflictError, APIStatusError),
    (UnprocessableEntityError, APIStatusError),
    (RateLimitError, APIStatusError),
    (InternalServerError, APIStatusError),
    (APIResponseValidationError, APIError),
    (JobFailedError, LlamaCloudError),
    (JobCancelledError, LlamaCloudError),
    (WaitTimeoutError, LlamaCloudError),
]


@pytest.mark.parametrize(("cls", "parent"), TREE)
def test_error_tree(cls: type[Exception], parent: type[Exception]) -> None:
    assert cls.__bases__ == (parent,) or (
        # The job errors share a private base that carries .job_id and .status.
        parent is LlamaCloudError and cls.__mro__[2] is LlamaCloudError
    )
    assert issubclass(cls, LlamaCloudError)


def test_job_errors_are_not_api_errors() -> None:
    for cls in (JobFailedError, JobCancelledError, WaitTimeoutError):
        assert not issubclass(cls, APIError)


# Status, the class it must raise (exactly, not a subclass).
STATUS_CLASSES: list[tuple[int, type[APIStatusError]]] = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (599, InternalServerError),
    (402, APIStatusError),
    (405, APIStatusError),
    (410, APIStatusError),
    (418, APIStatusError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_each_status_maps_to_its_class(status: int, cls: type[APIStatusError]) -> None:
    answer = httpx.Response(
        status, json={"detail": f"detail for {status}"}, headers={"x-request-id": "req-77"}
    )
    server = ScriptedServer(answer)
    with pytest.raises(APIStatusError) as info:
        sync_client(server, max_retries=0).get_status("j")
    exc = info.value
    assert type(exc) is cls
    assert exc.status_code == status
    assert exc.body == {"detail": f"detail for {status}"}
    assert f"detail for {status}" in str(exc)
    assert str(status) in str(exc)
    assert exc.request_id == "req-77"
    assert exc.response.status_code == status
    assert exc.request is not None
    assert exc.request.url.path.endswith("/j")


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES[:8])
async def test_async_each_status_maps_to_its_class(status: int, cls: type[APIStatusError]) -> None:
    server = ScriptedServer(httpx.Response(status, json={"detail": "x"}))
    with pytest.raises(cls):
        await async_client(server, max_retries=0).get_status("j")


def test_request_id_is_none_when_the_server_sends_none() -> None:
    server = ScriptedServer(httpx.Response(404, json={"detail": "gone"}))
    with pytest.raises(NotFoundError) as info:
        sync_client(server).get_status("j")
    assert info.value.request_id is None


# A body the server may send with an error, and text its message must contain.
DETAILS: list[tuple[object, list[str]]] = [
    ({"detail": "Batch job not found"}, ["Batch job not found"]),
    (
        {
            "detail": [
                {"loc": ["query", "project_id"], "msg": "field required", "type": "missing"},
                {"loc": ["path", "job_id"], "msg": "too long", "type": "value_error"},
            ]
        },
        ["query.project_id: field required", "path.job_id: too long"],
    ),
    ({"detail": [{"msg": "no location"}]}, ["no location"]),
    ({"detail": ["plain string item"]}, ["plain string item"]),
    ({"detail": {"reason": "nested"}}, ["nested"]),
    ({"message": "not fastapi"}, ["422"]),
    ([1, 2, 3], ["422"]),
]


@pytest.mark.parametrize(("body", "expected"), DETAILS)
def test_server_detail_is_in_the_message(body: object, expected: list[str]) -> None:
    server = ScriptedServer(httpx.Response(422, json=body))
    with pytest.raises(UnprocessableEntityError) as info:
        sync_client(server).get_status("j")
    for text in expected:
        assert text in str(info.value)
    assert info.value.body == body


# Error bodies that are not JSON, and what must survive into the message.
ODD_ERROR_BODIES: list[tuple[bytes, dict[str, str], str]] = [
    (
        b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
        {"content-type": "text/html"},
        "502 Bad Gateway",
    ),
    (b"", {}, "Bad Gateway"),
    (b"\xff\xfe\xfa not utf-8", {"content-type": "application/json"}, "Bad Gateway"),
    (b"[" * 100_000, {"content-type": "application/json"}, "Bad Gateway"),
    (b"<p>" + b"x" * 10_000 + b"</p>", {"content-type": "text/html"}, "Bad Gateway"),
]


@pytest.mark.parametrize(("content", "headers", "expected"), ODD_ERROR_BODIES)
def test_non_json_error_body_still_gives_a_typed_error(
    content: bytes, headers: dict[str, str], expected: str
) -> None:
    server = ScriptedServer(httpx.Response(502, content=content, headers=headers))
    with pytest.raises(InternalServerError) as info:
        sync_client(server, max_retries=0).get_status("j")
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert len(message) < 500, "a long page is cut, not pasted whole"


def test_connection_error_is_typed_and_chained() -> None:
    cause = httpx.ConnectError("[Errno 111] Connection refused")
    server = ScriptedServer(cause)
    with pytest.raises(APIConnectionError) as info:
        sync_client(server, max_retries=0).get_status("j")
    assert type(info.value) is APIConnectionError
    assert info.value.__cause__ is cause
    assert "Connection refused" in str(info.value)
    assert info.value.request is not None


@pytest.mark.parametrize(
    "cause",
    [httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow"), httpx.PoolTimeout("busy")],
)
def test_timeouts_are_api_timeout_errors(cause: httpx.TimeoutException) -> None:
    server = ScriptedServer(cause)
    with pytest.raises(APITimeoutError) as info:
        sync_client(server, max_retries=0).get_status("j")
    assert info.value.__cause__ is cause


# 2xx answers whose body breaks the contract.
_GOOD = job_body("running")


def _with_job(**changes: object) -> JSONObject:
    job = dict(_GOOD["job"])  # type: ignore[call-overload]  # job_body's job is a dict
    for name, value in changes.items():
        if value is _DROP:
            job.pop(name)
        else:
            job[name] = value
    return {"job": job, "progress_percentage": _GOOD["progress_percentage"]}


_DROP = object()

INVALID_2XX: list[tuple[str, bytes]] = [
    ("empty body", b""),
    ("not json", b"<html>maintenance</html>"),
    ("truncated json", b'{"job": {"id": "j"'),
    ("non-utf-8", b'{"job": "\xff\xfe"}'),
    ("deeply nested", b"[" * 100_000),
    ("json array", b"[]"),
    ("json string", b'"ok"'),
    ("json null", b"null"),
    ("job missing", json.dumps({"progress_percentage": 1}).encode()),
    ("job is a list", json.dumps({"job": [], "progress_percentage": 1}).encode()),
    ("percentage missing", json.dumps({"job": _GOOD["job"]}).encode()),
    ("percentage a string", json.dumps({**_GOOD, "progress_percentage": "50"}).encode()),
    (
        "percentage NaN",
        b'{"job": ' + json.dumps(_GOOD["job"]).encode() + b', "progress_percentage": NaN}',
    ),
    ("percentage bool", json.dumps({**_GOOD, "progress_percentage": True}).encode()),
]
for _field in ("id", "job_type", "project_id", "status", "total_items"):
    INVALID_2XX.append((f"{_field} missing", json.dumps(_with_job(**{_field: _DROP})).encode()))
    INVALID_2XX.append((f"{_field} null", json.dumps(_with_job(**{_field: None})).encode()))
INVALID_2XX += [
    ("total_items a string", json.dumps(_with_job(total_items="10")).encode()),
    ("total_items a float", json.dumps(_with_job(total_items=1.5)).encode()),
    ("total_items a bool", json.dumps(_with_job(total_items=True)).encode()),
    ("processed_items a string", json.dumps(_with_job(processed_items="3")).encode()),
    ("status a number", json.dumps(_with_job(status=3)).encode()),
    ("status an object", json.dumps(_with_job(status={"v": "running"})).encode()),
    ("job_type a list", json.dumps(_with_job(job_type=["parse"])).encode()),
    ("id a number", json.dumps(_with_job(id=7)).encode()),
    ("created_at not a date", json.dumps(_with_job(created_at="yesterday")).encode()),
    ("created_at a number", json.dumps(_with_job(created_at=1700000000)).encode()),
    ("error_message a list", json.dumps(_with_job(error_message=["boom"])).encode()),
]


@pytest.mark.parametrize(("case", "content"), INVALID_2XX, ids=[case for case, _ in INVALID_2XX])
def test_invalid_2xx_body_is_a_validation_error(case: str, content: bytes) -> None:
    server = ScriptedServer(httpx.Response(200, content=content))
    with pytest.raises(APIResponseValidationError) as info:
        sync_client(server).get_status("j")
    assert info.value.status_code == 200
    assert info.value.response.status_code == 200
    assert server.calls == 1, "a malformed answer is not retried"


@pytest.mark.parametrize(("case", "content"), INVALID_2XX[:6], ids=[c for c, _ in INVALID_2XX[:6]])
async def test_async_invalid_2xx_body_is_a_validation_error(case: str, content: bytes) -> None:
    server = ScriptedServer(httpx.Response(200, content=content))
    with pytest.raises(APIResponseValidationError):
        await async_client(server).get_status("j")


def test_validation_error_names_the_wrong_field() -> None:
    server = ScriptedServer(httpx.Response(200, json=_with_job(total_items="ten")))
    with pytest.raises(APIResponseValidationError, match="total_items"):
        sync_client(server).get_status("j")


@pytest.mark.parametrize("status", [201, 203, 206])
def test_other_2xx_answers_are_parsed_like_200(status: int) -> None:
    server = ScriptedServer(httpx.Response(status, json=job_body("completed")))
    assert sync_client(server).get_status("j").job.status == "completed"


def test_job_errors_carry_job_id_and_status() -> None:
    failed = JobFailedError("boom", job_id="j1", status=None)
    assert (failed.job_id, failed.status) == ("j1", None)
    timeout = WaitTimeoutError("late", job_id="j2", status=None)
    assert timeout.statuses == {"j2": None}


def test_every_error_class_is_exported() -> None:
    for cls, _ in TREE:
        assert getattr(llamacloud_batch, cls.__name__) is cls
