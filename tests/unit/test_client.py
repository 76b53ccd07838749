"""BatchClient / AsyncBatchClient: configuration from arguments and environment, timeouts,
headers on every path, lifecycle, secrets kept out of reprs, and how get_status builds its URL."""

from __future__ import annotations

import copy
import logging
import pickle
from collections.abc import Callable

import httpx
import llamacloud_batch
import pytest
from llamacloud_batch import (
    DEFAULT_BASE_URL,
    AsyncBatchClient,
    AuthenticationError,
    BatchClient,
    JobStatus,
    LlamaCloudError,
)

from tests.unit.conftest import (
    API_KEY,
    BASE_URL,
    STATUS_PATH,
    AsyncHandler,
    FakeClock,
    ScriptedServer,
    async_client,
    error,
    ok,
    sync_client,
)

RouteDefault = Callable[[AsyncHandler], None]


def _timeout_of(request: httpx.Request) -> dict[str, float | None]:
    timeout: dict[str, float | None] = request.extensions["timeout"]
    return timeout


# -- configuration ----------------------------------------------------------------------------


def test_no_key_anywhere_names_the_environment_variable() -> None:
    with pytest.raises(LlamaCloudError, match="LLAMA_CLOUD_API_KEY"):
        BatchClient()
    with pytest.raises(LlamaCloudError, match="LLAMA_CLOUD_API_KEY"):
        AsyncBatchClient.from_env()


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_blank_key_counts_as_no_key(blank: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", blank)
    with pytest.raises(LlamaCloudError, match="LLAMA_CLOUD_API_KEY"):
        BatchClient.from_env()
    with pytest.raises(LlamaCloudError, match="LLAMA_CLOUD_API_KEY"):
        BatchClient(blank)


def test_key_with_a_line_break_is_refused_without_echoing_it() -> None:
    key = "secret-part\r\nX-Injected: 1"
    with pytest.raises(LlamaCloudError) as info:
        BatchClient(key)
    assert "secret-part" not in str(info.value)
    assert "Injected" not in repr(info.value)


# Which environment variables are set, and the key the server should see.
KEY_SOURCES = [
    ({"LLAMA_CLOUD_API_KEY": "cloud-key"}, None, "cloud-key"),
    ({"LLAMA_PARSE_API_KEY": "parse-key"}, None, "parse-key"),
    ({"LLAMA_CLOUD_API_KEY": "cloud-key", "LLAMA_PARSE_API_KEY": "parse-key"}, None, "cloud-key"),
    ({"LLAMA_CLOUD_API_KEY": "cloud-key"}, "argument-key", "argument-key"),
    ({}, "argument-key", "argument-key"),
]


@pytest.mark.parametrize(("env", "argument", "expected"), KEY_SOURCES)
def test_api_key_comes_from_argument_then_environment(
    env: dict[str, str],
    argument: str | None,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    route_default: RouteDefault,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server = ScriptedServer(ok())
    route_default(server)
    with BatchClient(argument) as client:
        client.get_status("j")
    assert server.requests[0].headers["authorization"] == f"Bearer {expected}"


def test_default_base_url_is_the_us_region(route_default: RouteDefault) -> None:
    server = ScriptedServer(ok())
    route_default(server)
    with BatchClient(API_KEY) as client:
        client.get_status("j")
    assert DEFAULT_BASE_URL == "https://api.cloud.llamaindex.ai"
    assert str(server.requests[0].url) == f"{DEFAULT_BASE_URL}{STATUS_PATH}j"


@pytest.mark.parametrize(
    ("env_url", "argument", "expected"),
    [
        ("https://api.cloud.eu.llamaindex.ai", None, "https://api.cloud.eu.llamaindex.ai"),
        ("https://env.example/", None, "https://env.example"),
        (
            "https://env.example",
            "http://arg.example:8080/prefix/",
            "http://arg.example:8080/prefix",
        ),
    ],
)
def test_base_url_comes_from_argument_then_environment(
    env_url: str,
    argument: str | None,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    route_default: RouteDefault,
) -> None:
    monkeypatch.setenv("LLAMA_CLOUD_BASE_URL", env_url)
    server = ScriptedServer(ok())
    route_default(server)
    with BatchClient(API_KEY, base_url=argument) as client:
        client.get_status("j")
    assert str(server.requests[0].url) == f"{expected}{STATUS_PATH}j"


@pytest.mark.parametrize(
    "bad_url", ["ftp://host", "not a url", "https://", "https://h/?q=1", "https://h/#frag"]
)
def test_unusable_base_url_is_refused(bad_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        BatchClient(API_KEY, base_url=bad_url)


def test_project_and_organization_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, route_default: RouteDefault
) -> None:
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", API_KEY)
    monkeypatch.setenv("LLAMA_CLOUD_PROJECT_ID", "proj-env")
    monkeypatch.setenv("LLAMA_CLOUD_ORGANIZATION_ID", "org-env")
    server = ScriptedServer(ok())
    route_default(server)
    with BatchClient.from_env() as client:
        client.get_status("j")
        client.get_status("j", project_id="proj-call")
    assert dict(server.requests[0].url.params) == {
        "project_id": "proj-env",
        "organization_id": "org-env",
    }
    assert dict(server.requests[1].url.params) == {
        "project_id": "proj-call",
        "organization_id": "org-env",
    }


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_max_retries_must_be_a_whole_number(bad: object) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        BatchClient(API_KEY, max_retries=bad)  # type: ignore[arg-type]


# -- timeouts ---------------------------------------------------------------------------------

ALL_PHASES = ("connect", "read", "write", "pool")

TIMEOUTS: list[tuple[float | httpx.Timeout | None, dict[str, float | None]]] = [
    (None, {"connect": 5.0, "read": 60.0, "write": 60.0, "pool": 60.0}),
    (7, dict.fromkeys(ALL_PHASES, 7.0)),
    (2.5, dict.fromkeys(ALL_PHASES, 2.5)),
    (httpx.Timeout(10.0, connect=1.0), {"connect": 1.0, "read": 10.0, "write": 10.0, "pool": 10.0}),
    (
        httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0),
        {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0},
    ),
]


@pytest.mark.parametrize(("timeout", "expected"), TIMEOUTS)
def test_timeout_reaches_each_request_of_an_owned_pool(
    timeout: float | httpx.Timeout | None,
    expected: dict[str, float | None],
    route_default: RouteDefault,
) -> None:
    server = ScriptedServer(ok())
    route_default(server)
    client = BatchClient(API_KEY) if timeout is None else BatchClient(API_KEY, timeout=timeout)
    with client:
        client.get_status("j")
    assert _timeout_of(server.requests[0]) == expected


@pytest.mark.parametrize(("timeout", "expected"), TIMEOUTS)
def test_timeout_reaches_each_request_of_a_users_pool(
    timeout: float | httpx.Timeout | None, expected: dict[str, float | None]
) -> None:
    server = ScriptedServer(ok())
    http = httpx.Client(transport=httpx.MockTransport(server))
    client = (
        BatchClient(API_KEY, http_client=http)
        if timeout is None
        else BatchClient(API_KEY, timeout=timeout, http_client=http)
    )
    client.get_status("j")
    assert _timeout_of(server.requests[0]) == expected


async def test_async_timeout_reaches_each_request(route_default: RouteDefault) -> None:
    server = ScriptedServer(ok())
    route_default(server)
    async with AsyncBatchClient(API_KEY, timeout=3) as client:
        await client.get_status("j")
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    await AsyncBatchClient(API_KEY, timeout=4, http_client=http).get_status("j")
    assert _timeout_of(server.requests[0]) == dict.fromkeys(ALL_PHASES, 3.0)
    assert _timeout_of(server.requests[1]) == dict.fromkeys(ALL_PHASES, 4.0)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_timeout_must_be_positive_and_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        BatchClient(API_KEY, timeout=bad)


@pytest.mark.parametrize("bad", ["60", True, [60]])
def test_timeout_of_the_wrong_type_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="timeout"):
        BatchClient(API_KEY, timeout=bad)  # type: ignore[arg-type]


# -- headers ----------------------------------------------------------------------------------


def _assert_our_headers(request: httpx.Request) -> None:
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    user_agent = request.headers["user-agent"]
    assert user_agent.startswith(f"llamacloud-batch/{llamacloud_batch.__version__} ")
    assert llamacloud_batch.__version__ != "0.0.0"  # the installed distribution's version


def test_owned_pool_sends_auth_and_user_agent(route_default: RouteDefault) -> None:
    server = ScriptedServer(ok())
    route_default(server)
    with BatchClient(API_KEY) as client:
        client.get_status("j")
    _assert_our_headers(server.requests[0])


def test_users_pool_gets_auth_and_user_agent_and_keeps_its_own_headers() -> None:
    server = ScriptedServer(ok())
    http = httpx.Client(
        transport=httpx.MockTransport(server),
        headers={"X-Proxy-Token": "p", "User-Agent": "their-agent/1"},
    )
    BatchClient(API_KEY, base_url=BASE_URL, http_client=http).get_status("j")
    request = server.requests[0]
    _assert_our_headers(request)
    assert request.headers["x-proxy-token"] == "p"
    assert str(request.url).startswith(BASE_URL)


async def test_async_clients_send_auth_and_user_agent(route_default: RouteDefault) -> None:
    server = ScriptedServer(ok())
    route_default(server)
    async with AsyncBatchClient(API_KEY) as client:
        await client.get_status("j")
    await async_client(server).get_status("j")
    for request in server.requests:
        _assert_our_headers(request)


# -- lifecycle --------------------------------------------------------------------------------


def test_context_manager_closes_an_owned_pool() -> None:
    with BatchClient(API_KEY) as client:
        assert not client._http.is_closed
    assert client._http.is_closed


def test_close_leaves_a_users_pool_open() -> None:
    http = httpx.Client(transport=httpx.MockTransport(ScriptedServer(ok())))
    with BatchClient(API_KEY, http_client=http) as client:
        client.get_status("j")
    client.close()
    assert not http.is_closed
    http.close()


async def test_async_context_manager_closes_an_owned_pool_only() -> None:
    async with AsyncBatchClient(API_KEY) as client:
        assert not client._http.is_closed
    assert client._http.is_closed

    http = httpx.AsyncClient(transport=httpx.MockTransport(ScriptedServer(ok())))
    async with AsyncBatchClient(API_KEY, http_client=http) as theirs:
        await theirs.get_status("j")
    await theirs.aclose()
    assert not http.is_closed
    await http.aclose()


# -- secrets ----------------------------------------------------------------------------------


def test_repr_and_str_leave_the_key_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", API_KEY)
    clients: list[object] = [
        BatchClient(API_KEY, project_id="proj-1"),
        BatchClient.from_env(),
        AsyncBatchClient(API_KEY),
    ]
    for client in clients:
        assert API_KEY not in repr(client)
        assert API_KEY not in str(client)
        assert API_KEY not in repr(client._settings)  # type: ignore[attr-defined]
    assert "proj-1" in repr(clients[0])


def test_settings_are_read_only() -> None:
    settings = BatchClient(API_KEY)._settings
    with pytest.raises(AttributeError, match="read-only"):
        settings.api_key = "other"
    with pytest.raises(AttributeError, match="read-only"):
        del settings.base_url
    assert settings.api_key == API_KEY


@pytest.mark.parametrize(
    "duplicate", [copy.copy, copy.deepcopy, lambda value: pickle.loads(pickle.dumps(value))]
)
def test_settings_copy_and_pickle_despite_being_read_only(
    duplicate: Callable[[object], object],
) -> None:
    settings = BatchClient(API_KEY, project_id="proj-1", max_retries=5)._settings
    again = duplicate(settings)
    assert again is not settings
    assert repr(again) == repr(settings)
    assert again.api_key == API_KEY  # type: ignore[attr-defined]


def test_errors_and_logs_leave_the_key_out(
    caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    server = ScriptedServer(
        httpx.ConnectError("refused"), error(503), error(401, "Invalid API key")
    )
    client = sync_client(server, clock)
    with (
        caplog.at_level(logging.DEBUG, logger="llamacloud_batch"),
        pytest.raises(AuthenticationError) as info,
    ):
        client.get_status("j")
    assert caplog.records, "retries should have been logged"
    for text in (str(info.value), repr(info.value), repr(info.value.request), caplog.text):
        assert API_KEY not in text


# -- get_status -------------------------------------------------------------------------------


# (client's project, client's organization), (call's project, call's organization), query sent.
IdPair = tuple[str | None, str | None]
ID_OVERRIDES: list[tuple[IdPair, IdPair, dict[str, str]]] = [
    ((None, None), (None, None), {}),
    (("p0", None), (None, None), {"project_id": "p0"}),
    ((None, "o0"), (None, None), {"organization_id": "o0"}),
    ((None, None), ("p1", "o1"), {"project_id": "p1", "organization_id": "o1"}),
    (("p0", "o0"), ("p1", None), {"project_id": "p1", "organization_id": "o0"}),
    (("p0", "o0"), (None, "o1"), {"project_id": "p0", "organization_id": "o1"}),
    (("p0", "o0"), (None, None), {"project_id": "p0", "organization_id": "o0"}),
]


@pytest.mark.parametrize(("client_ids", "call_ids", "expected_query"), ID_OVERRIDES)
def test_per_call_ids_override_defaults_and_unset_ones_are_not_sent(
    client_ids: IdPair, call_ids: IdPair, expected_query: dict[str, str]
) -> None:
    server = ScriptedServer(ok())
    client = sync_client(server, project_id=client_ids[0], organization_id=client_ids[1])
    client.get_status("j", project_id=call_ids[0], organization_id=call_ids[1])
    url = server.requests[0].url
    assert dict(url.params) == expected_query
    if not expected_query:
        assert url.query == b""


async def test_async_per_call_ids_override_defaults() -> None:
    server = ScriptedServer(ok())
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    client = AsyncBatchClient(API_KEY, project_id="p0", organization_id="o0", http_client=http)
    await client.get_status("j", organization_id="o1")
    await client.get_status("j")
    assert dict(server.requests[0].url.params) == {"project_id": "p0", "organization_id": "o1"}
    assert dict(server.requests[1].url.params) == {"project_id": "p0", "organization_id": "o0"}


def test_get_status_returns_the_parsed_state() -> None:
    server = ScriptedServer(ok("running", job_id="bjb-9", progress=42.5, total=8, processed=3))
    resp = sync_client(server).get_status("bjb-9")
    assert resp.job.id == "bjb-9"
    assert resp.job.status is JobStatus.RUNNING
    assert resp.job.processed_items == 3
    assert resp.progress_percentage == 42.5
    assert server.requests[0].method == "GET"


# The id as given, and the one path segment the server must receive.
JOB_ID_ENCODINGS = [
    ("bjb-1234", "bjb-1234"),
    ("a/b", "a%2Fb"),
    ("../status", "..%2Fstatus"),
    ("a?project_id=x", "a%3Fproject_id%3Dx"),
    ("a#frag", "a%23frag"),
    ("a b", "a%20b"),
    ("a+b", "a%2Bb"),
    ("100%", "100%25"),
    ("a%2Fb", "a%252Fb"),
    ("%2e%2e", "%252e%252e"),
    ("café", "caf%C3%A9"),
    ("ジョブ", "%E3%82%B8%E3%83%A7%E3%83%96"),
    ("...", "..."),
    ("./", ".%2F"),
    ("a/../b", "a%2F..%2Fb"),
    ("a\\b", "a%5Cb"),
]


@pytest.mark.parametrize(("job_id", "segment"), JOB_ID_ENCODINGS)
def test_job_id_is_exactly_one_percent_encoded_path_segment(job_id: str, segment: str) -> None:
    server = ScriptedServer(ok())
    sync_client(server).get_status(job_id)
    request = server.requests[0]
    assert request.url.raw_path == f"{STATUS_PATH}{segment}".encode("ascii")
    assert request.url.path == f"{STATUS_PATH}{job_id}"


@pytest.mark.parametrize(("job_id", "segment"), JOB_ID_ENCODINGS[:6])
async def test_async_job_id_is_exactly_one_path_segment(job_id: str, segment: str) -> None:
    server = ScriptedServer(ok())
    await async_client(server).get_status(job_id)
    assert server.requests[0].url.raw_path == f"{STATUS_PATH}{segment}".encode("ascii")


BAD_JOB_IDS = ["", " ", "\t\n", ".", ".."]


@pytest.mark.parametrize("job_id", BAD_JOB_IDS)
def test_job_id_that_names_no_job_is_refused_before_any_request(job_id: str) -> None:
    server = ScriptedServer(ok("completed"))
    client = sync_client(server)
    with pytest.raises(ValueError, match="job_id"):
        client.get_status(job_id)
    with pytest.raises(ValueError, match="job_id"):
        client.wait_until_done(job_id)
    with pytest.raises(ValueError, match="job_id"):
        client.iter_status(job_id)
    with pytest.raises(ValueError, match="job_id"):
        client.wait_all(["ok", job_id])
    with pytest.raises(ValueError, match="job_id"):
        llamacloud_batch.wait_until_done(client, job_id)
    assert server.calls == 0


@pytest.mark.parametrize("job_id", BAD_JOB_IDS)
async def test_async_job_id_that_names_no_job_is_refused_before_any_request(job_id: str) -> None:
    server = ScriptedServer(ok("completed"))
    client = async_client(server)
    with pytest.raises(ValueError, match="job_id"):
        await client.get_status(job_id)
    with pytest.raises(ValueError, match="job_id"):
        await client.wait_until_done(job_id)
    with pytest.raises(ValueError, match="job_id"):
        await client.wait_all(["ok", job_id])
    assert server.calls == 0


@pytest.mark.parametrize("job_id", [None, 42, b"bjb-1"])
def test_job_id_must_be_a_string(job_id: object) -> None:
    server = ScriptedServer(ok())
    with pytest.raises(TypeError, match="job_id"):
        sync_client(server).get_status(job_id)  # type: ignore[arg-type]
    assert server.calls == 0


def test_wait_all_refuses_a_lone_string() -> None:
    server = ScriptedServer(ok("completed"))
    with pytest.raises(TypeError, match="job_ids"):
        sync_client(server).wait_all("bjb-1")
    assert server.calls == 0


def test_an_api_key_that_is_not_a_str_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="api_key must be a str"):
        BatchClient(api_key=123)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:0"])
def test_a_base_url_port_out_of_range_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="port"):
        BatchClient(api_key="k", base_url=url)


@pytest.mark.parametrize("job_id", [" bjb-1", "bjb-1 ", "bjb-1\n", "\tbjb-1", " .. "])
def test_a_job_id_with_white_space_around_it_is_refused_before_any_request(job_id: str) -> None:
    server = ScriptedServer(ok("running"))
    with pytest.raises(ValueError, match="white space"):
        sync_client(server).get_status(job_id)
    assert server.calls == 0


def test_public_classes_name_the_public_module() -> None:
    import llamacloud_batch

    assert llamacloud_batch.NotFoundError.__module__ == "llamacloud_batch"
    assert llamacloud_batch.BatchClient.__module__ == "llamacloud_batch"
    assert repr(llamacloud_batch.NotFoundError) == "<class 'llamacloud_batch.NotFoundError'>"
