"""The sandbox over real loopback sockets: job lifecycles on an injected clock, auth, routing,
sandbox-only job creation, faults, concurrency, shutdown; every body checked against the spec."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import ValidationError
from llamacloud_batch import BatchClient, BatchGetStatusResponse
from llamacloud_batch.sandbox import SEED_JOB_ID, Faults, Outcome, Sandbox, run_sandbox

from tests.spec_schema import JSONDict, component_validator, load_spec, validator_for

SPEC = load_spec()
API_PATH = "/api/v1/beta/batch-processing/{job_id}"
JOBS_PATH = "/_sandbox/jobs"
_OK = SPEC["paths"][API_PATH]["get"]["responses"]["200"]["content"]["application/json"]
SEED_EXAMPLE: JSONDict = _OK["examples"]["seed"]["value"]
WALL_START = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
ORDER = ("pending", "running", "completed", "failed", "cancelled")


# -- checking every answer against openapi.yaml ---------------------------------------------------


def _resolve(node: JSONDict) -> JSONDict:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


_ANSWERS = {
    key: _resolve(answer) for key, answer in SPEC["paths"][API_PATH]["get"]["responses"].items()
}
_ANSWER_VALIDATORS = {
    key: validator_for(answer["content"]["application/json"]["schema"])
    for key, answer in _ANSWERS.items()
}


def _documented(status: int) -> str:
    """The key under which the spec documents the status endpoint's answer with this status."""
    key = str(status) if str(status) in _ANSWERS else f"{status // 100}XX"
    assert key in _ANSWERS, f"openapi.yaml documents no {status} answer"
    return key


ERROR_DETAIL = component_validator("ErrorDetail")


def check_against_spec(response: httpx.Response) -> None:
    """Every answer is JSON; the status endpoint's answers are documented ones matching their
    schema and headers; any other error still has the spec's ErrorDetail shape."""
    response.read()
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    request = response.request
    if request.method == "GET" and request.url.path.startswith(API_PATH.split("{")[0]):
        documented = _documented(response.status_code)
        _ANSWER_VALIDATORS[documented].validate(body)
        for header in _ANSWERS[documented].get("headers", {}):
            assert header in response.headers
    elif response.is_error:
        ERROR_DETAIL.validate(body)


def _seed_with(**changes: object) -> JSONDict:
    return {"job": SEED_EXAMPLE["job"] | changes, "progress_percentage": 0}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, _seed_with(created_at="yesterday")),
        (200, _seed_with(total_items=None)),
        (200, {"job": _seed_with()["job"], "progress_percentage": 100.5}),
        (404, {"message": "gone"}),
        (429, {"detail": "slow down"}),  # without its Retry-After header
        (418, {"detail": "teapot"}),
    ],
)
def test_spec_check_rejects_what_the_spec_forbids(status: int, body: JSONDict) -> None:
    request = httpx.Request("GET", f"http://127.0.0.1/api/v1/beta/batch-processing/{SEED_JOB_ID}")
    response = httpx.Response(status, json=body, request=request)
    with pytest.raises((AssertionError, ValidationError)):
        check_against_spec(response)


@dataclass
class FakeClock:
    now_s: float = 1000.0

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock, wall_clock=lambda: WALL_START) as running:
        yield running


def checked_client(url: str, api_key: str | None, **kwargs: Any) -> httpx.Client:
    """A client checking every answer against the spec; api_key None sends no Authorization."""
    return httpx.Client(
        base_url=url,
        headers={} if api_key is None else {"Authorization": f"Bearer {api_key}"},
        event_hooks={"response": [check_against_spec]},
        # Plain HTTP on loopback: not loading CA certificates saves ~50 ms per client.
        verify=False,
        **kwargs,
    )


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with checked_client(sandbox.url, sandbox.api_key) as checked:
        yield checked


def status_of(client: httpx.Client, job_id: str) -> JSONDict:
    response = client.get(f"/api/v1/beta/batch-processing/{job_id}")
    assert response.status_code == 200, response.text
    body: JSONDict = response.json()
    return body


def _wall(offset_s: float) -> str:
    moment = WALL_START + timedelta(seconds=offset_s)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- job lifecycle -------------------------------------------------------------------------------


def test_completed_job_at_chosen_instants(
    sandbox: Sandbox, client: httpx.Client, clock: FakeClock
) -> None:
    job_id = sandbox.add_job(total_items=10, duration=10.0, failed_items=2, skipped_items=1)
    start_s = clock.now_s

    pending = status_of(client, job_id)
    assert pending["progress_percentage"] == 0
    assert pending["job"] | {"directory_id": None} == {
        "id": job_id,
        "job_type": "parse",
        "project_id": "proj-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "status": "pending",
        "total_items": 10,
        "completed_at": None,
        "created_at": _wall(0),
        "directory_id": None,
        "effective_at": _wall(0),
        "error_message": None,
        "failed_items": 0,
        "job_record_id": None,
        "processed_items": 0,
        "skipped_items": 0,
        "started_at": None,
        "updated_at": _wall(0),
        "workflow_id": None,
    }
    assert pending["job"]["directory_id"].startswith("dir-")

    # Pending lasts a tenth of the duration; then the 10 items go at one per 0.9 s.
    clock.now_s = start_s + 1.0
    started = status_of(client, job_id)["job"]
    assert (started["status"], started["processed_items"]) == ("running", 0)
    assert started["started_at"] == started["effective_at"] == _wall(1.0)

    clock.now_s = start_s + 5.6  # 4.6 s of running: 5 items handled, the 5th at 5.5 s
    halfway = status_of(client, job_id)
    assert halfway["progress_percentage"] == 50
    counts = [halfway["job"][f"{kind}_items"] for kind in ("processed", "failed", "skipped")]
    assert sum(counts) == 5
    assert halfway["job"]["updated_at"] == _wall(5.5)

    clock.now_s = start_s + 10.0
    done = status_of(client, job_id)
    assert done["progress_percentage"] == 100
    assert done["job"]["status"] == "completed"
    assert (done["job"]["processed_items"], done["job"]["failed_items"]) == (7, 2)
    assert done["job"]["skipped_items"] == 1
    assert done["job"]["completed_at"] == done["job"]["updated_at"] == _wall(10.0)

    clock.now_s = start_s + 3600.0
    assert status_of(client, job_id) == done


CASES = [
    # total, duration, outcome, failed, skipped
    (10, 10.0, "completed", 2, 1),
    (7, 3.0, "completed", 0, 7),
    (1, 2.0, "completed", 0, 0),
    (0, 2.0, "completed", 0, 0),
    (9, 4.0, "failed", 3, 0),
    (9, 4.0, "cancelled", 1, 2),
    (0, 1.0, "cancelled", 0, 0),
    (5, 0.0, "failed", 1, 1),
]


@pytest.mark.parametrize(("total", "duration", "outcome", "failed", "skipped"), CASES)
def test_state_is_consistent_at_every_instant(
    sandbox: Sandbox,
    client: httpx.Client,
    clock: FakeClock,
    total: int,
    duration: float,
    outcome: Outcome,
    failed: int,
    skipped: int,
) -> None:
    job_id = sandbox.add_job(
        total_items=total,
        duration=duration,
        outcome=outcome,
        failed_items=failed,
        skipped_items=skipped,
    )
    start_s = clock.now_s
    previous: JSONDict | None = None
    for step in range(61):
        clock.now_s = start_s + step * (duration + 1.0) / 60
        body = status_of(client, job_id)
        job = body["job"]
        handled = job["processed_items"] + job["failed_items"] + job["skipped_items"]
        final = job["status"] == outcome
        if total:
            assert body["progress_percentage"] == pytest.approx(100 * handled / total)
        else:
            assert body["progress_percentage"] == (100 if final and outcome == "completed" else 0)
        assert (job["started_at"] is not None) == (job["status"] != "pending")
        assert (job["completed_at"] is not None) == final
        assert job["effective_at"] == (job["completed_at"] or job["started_at"] or _wall(0))
        times = [job[key] for key in ("created_at", "started_at", "updated_at", "completed_at")]
        present = [datetime.fromisoformat(moment) for moment in times if moment is not None]
        assert present == sorted(present)
        assert present[-1] <= WALL_START + timedelta(seconds=clock.now_s - start_s)
        assert (job["error_message"] is not None) == (final and outcome == "failed")
        if previous is not None:
            before = previous["job"]
            assert ORDER.index(job["status"]) >= ORDER.index(before["status"])
            for key in ("processed_items", "failed_items", "skipped_items"):
                assert job[key] >= before[key]
        previous = body
    assert previous is not None
    job = previous["job"]
    assert job["status"] == outcome
    assert (job["failed_items"], job["skipped_items"]) == (failed, skipped)
    handled = job["processed_items"] + failed + skipped
    if outcome == "completed":
        assert handled == total
    elif total > 1:
        assert handled < total, "an interrupted job stops partway"


def test_failed_job_carries_its_error_message(sandbox: Sandbox, client: httpx.Client) -> None:
    chosen = sandbox.add_job(
        total_items=2, duration=0.0, outcome="failed", error_message="disk full"
    )
    default = sandbox.add_job(total_items=2, duration=0.0, outcome="failed")
    assert status_of(client, chosen)["job"]["error_message"] == "disk full"
    assert status_of(client, default)["job"]["error_message"]


def test_any_job_type_is_served_for_open_enum_testing(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    job_id = sandbox.add_job(total_items=1, duration=1.0, job_type="summarize")
    assert status_of(client, job_id)["job"]["job_type"] == "summarize"


@pytest.mark.parametrize(
    "arguments",
    [
        {"total_items": -1},
        {"total_items": True},
        {"total_items": 2.0},
        {"duration": -0.5},
        {"duration": float("nan")},
        {"duration": 1e300},
        {"total_items": 2**63},
        {"duration": "5"},
        {"outcome": "exploded"},
        {"job_type": ""},
        {"failed_items": 2, "skipped_items": 2},
        {"error_message": 3},
    ],
)
def test_add_job_rejects_invalid_arguments(sandbox: Sandbox, arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(arguments))):
        sandbox.add_job(**{"total_items": 3, "duration": 1.0, **arguments})


# -- the seed job, routing and auth ---------------------------------------------------------------


def test_seed_job_answers_the_documented_example(client: httpx.Client) -> None:
    assert status_of(client, SEED_JOB_ID) == SEED_EXAMPLE


def test_job_id_is_percent_decoded_and_scoping_query_accepted(client: httpx.Client) -> None:
    encoded = SEED_JOB_ID.replace("a", "%61")
    response = client.get(
        f"/api/v1/beta/batch-processing/{encoded}",
        params={"project_id": "proj-x", "organization_id": "org-y"},
    )
    assert response.status_code == 200
    assert response.json()["job"]["id"] == SEED_JOB_ID


@pytest.mark.parametrize("job_id", ["bjb-00000000-0000-0000-0000-000000000000", "a%2Fb", "%20"])
def test_unknown_job_is_404(client: httpx.Client, job_id: str) -> None:
    response = client.get(f"/api/v1/beta/batch-processing/{job_id}")
    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    ["/", "/api/v1/beta/batch-processing/", "/api/v1/beta/batch-processing/x/items", "/_sandbox"],
)
def test_other_paths_are_404(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", f"/api/v1/beta/batch-processing/{SEED_JOB_ID}", "GET"),
        ("DELETE", f"/api/v1/beta/batch-processing/{SEED_JOB_ID}", "GET"),
        ("GET", JOBS_PATH, "POST"),
        ("PUT", JOBS_PATH, "POST"),
    ],
)
def test_other_methods_are_405(client: httpx.Client, method: str, path: str, allowed: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed


def test_unknown_methods_and_malformed_requests_get_a_json_detail(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    assert client.request("BREW", "/").status_code == 501
    host, port = sandbox.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.putrequest("POST", JOBS_PATH)
        connection.putheader("Content-Length", "many")  # httpx refuses to send this
        connection.endheaders()
        response = connection.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (400, "application/json")
        ERROR_DETAIL.validate(json.loads(response.read()))
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "Not authenticated"),
        ({"Authorization": "Bearer wrong-key"}, "Invalid API key"),
        ({"Authorization": "Basic sandbox-key"}, "Invalid API key"),
        ({"Authorization": "Bearer"}, "Invalid API key"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", f"/api/v1/beta/batch-processing/{SEED_JOB_ID}"), ("POST", JOBS_PATH)],
)
def test_requests_without_the_key_are_401(
    sandbox: Sandbox, method: str, path: str, headers: dict[str, str], detail: str
) -> None:
    with checked_client(sandbox.url, None) as raw:
        response = raw.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"


# -- creating jobs over HTTP ----------------------------------------------------------------------


def test_jobs_created_over_http_are_served(
    sandbox: Sandbox, client: httpx.Client, clock: FakeClock
) -> None:
    arguments = {
        "total_items": 4,
        "duration": 2,
        "outcome": "cancelled",
        "job_type": "classify",
        "skipped_items": 1,
        "error_message": "stopped by its owner",
    }
    created = client.post(JOBS_PATH, json=arguments)
    assert created.status_code == 201
    job_id = created.json()["id"]
    assert job_id.startswith("bjb-") and len(job_id) == len(SEED_JOB_ID)
    clock.now_s += 2
    job = status_of(client, job_id)["job"]
    assert (job["status"], job["job_type"], job["total_items"]) == ("cancelled", "classify", 4)
    assert (job["skipped_items"], job["error_message"]) == (1, "stopped by its owner")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b"{not json", ["body", 1]),
        (b"[1, 2]", ["body"]),
        (b'{"duration": 1}', ["body", "total_items"]),
        (b'{"total_items": 1, "duration": 1, "colour": "red"}', ["body", "colour"]),
        (b'{"total_items": "3", "duration": 1}', ["body", "total_items"]),
        (b'{"total_items": 3, "duration": 1, "outcome": "lost"}', ["body", "outcome"]),
        (b'{"total_items": 1, "duration": 1, "failed_items": 2}', ["body", "failed_items"]),
    ],
)
def test_bad_job_bodies_are_422(client: httpx.Client, body: bytes, loc: list[object]) -> None:
    response = client.post(JOBS_PATH, content=body)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == loc
    assert problem["msg"]


# -- faults ---------------------------------------------------------------------------------------


def _statuses(client: httpx.Client, count: int) -> list[int]:
    return [
        client.get(f"/api/v1/beta/batch-processing/{SEED_JOB_ID}").status_code for _ in range(count)
    ]


def test_faults_follow_their_seed(sandbox: Sandbox, client: httpx.Client) -> None:
    faults = Faults(rate_limit=0.3, unavailable=0.2, retry_after_s=7, seed=1234)
    sandbox.faults = faults
    first = _statuses(client, 60)
    sandbox.faults = faults  # restarts the sequence
    assert _statuses(client, 60) == first
    with Sandbox(faults=faults) as other, checked_client(other.url, other.api_key) as other_client:
        assert _statuses(other_client, 60) == first
    assert set(first) == {200, 429, 503}
    assert 10 < first.count(429) < 30 and 4 < first.count(503) < 20
    sandbox.faults = Faults(rate_limit=1.0, retry_after_s=7)
    limited = client.get(f"/api/v1/beta/batch-processing/{SEED_JOB_ID}")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    sandbox.faults = Faults()
    assert set(_statuses(client, 20)) == {200}


def test_faults_apply_only_to_the_api(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults = Faults(unavailable=1.0)
    assert client.post(JOBS_PATH, json={"total_items": 1, "duration": 1}).status_code == 201
    assert client.get("/nowhere").status_code == 404


def test_disconnect_fault_drops_the_connection(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults = Faults(disconnect=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"/api/v1/beta/batch-processing/{SEED_JOB_ID}")
    sandbox.faults = Faults()
    assert status_of(client, SEED_JOB_ID)["job"]["id"] == SEED_JOB_ID


def test_delay_fault_answers_late(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults = Faults(delayed=1.0, delay_s=0.3)
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"/api/v1/beta/batch-processing/{SEED_JOB_ID}", timeout=0.05)
    began = time.monotonic()
    assert status_of(client, SEED_JOB_ID)["job"]["id"] == SEED_JOB_ID
    assert time.monotonic() - began >= 0.3


@pytest.mark.parametrize(
    "arguments",
    [
        {"rate_limit": -0.1},
        {"unavailable": 1.5},
        {"rate_limit": 0.6, "disconnect": 0.6},
        {"retry_after_s": -1},
        {"retry_after_s": 1.5},
        {"delay_s": float("inf")},
    ],
)
def test_faults_reject_invalid_settings(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Faults(**arguments)


def test_client_waits_through_faults_on_the_sandbox_clock(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    sandbox.faults = Faults(rate_limit=0.2, unavailable=0.1, retry_after_s=2, seed=5)
    job_id = sandbox.add_job(total_items=20, duration=30.0, failed_items=2)
    seen: list[BatchGetStatusResponse] = []
    with BatchClient(api_key=sandbox.api_key, base_url=sandbox.url, max_retries=10) as client:
        final = client.wait_until_done(
            job_id, poll_interval=1.0, on_progress=seen.append, clock=clock, sleep=clock.advance
        )
    assert (final.job.status, final.job.processed_items, final.progress_percentage) == (
        "completed",
        18,
        100,
    )
    percentages = [state.progress_percentage for state in seen]
    assert percentages == sorted(percentages) and len(set(percentages)) > 3


# -- the server: concurrency, keep-alive, shutdown ------------------------------------------------


def test_two_hundred_concurrent_clients_all_succeed() -> None:
    clients = 200
    barrier = threading.Barrier(clients)
    with Sandbox() as sandbox:
        job_id = sandbox.add_job(total_items=5, duration=60.0)

        def fetch(_: int) -> int:
            # One client each, so that 200 connections open at once.
            with checked_client(sandbox.url, sandbox.api_key) as client:
                barrier.wait(timeout=30)
                return client.get(f"/api/v1/beta/batch-processing/{job_id}").status_code

        with ThreadPoolExecutor(max_workers=clients) as pool:
            statuses = list(pool.map(fetch, range(clients)))
    assert statuses == [200] * clients


def test_connections_are_kept_alive(sandbox: Sandbox) -> None:
    host, port = sandbox.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    try:
        sockets = []
        for job_id in (SEED_JOB_ID, "bjb-missing", SEED_JOB_ID):
            connection.request("GET", f"/api/v1/beta/batch-processing/{job_id}", headers=headers)
            response = connection.getresponse()
            body = response.read()
            assert response.version == 11
            assert int(response.headers["Content-Length"]) == len(body)
            json.loads(body)
            sockets.append(connection.sock)
        assert sockets[0] is not None and sockets.count(sockets[0]) == 3
    finally:
        connection.close()


def _port_is_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def _sandbox_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if "llamacloud-sandbox" in thread.name]


def test_stop_closes_the_port_and_ends_every_thread_despite_open_connections() -> None:
    before = _sandbox_threads()
    sandbox = Sandbox()
    with sandbox, checked_client(sandbox.url, sandbox.api_key) as client:
        url = sandbox.url
        status_of(client, SEED_JOB_ID)  # leaves a keep-alive connection open
        assert len(set(_sandbox_threads()) - set(before)) == 2  # serving loop, connection
        sandbox.stop()
        assert _sandbox_threads() == before
        assert _port_is_closed(url)
        with pytest.raises(httpx.TransportError):
            client.get(f"/api/v1/beta/batch-processing/{SEED_JOB_ID}")
        sandbox.stop()  # a second stop does nothing
        with pytest.raises(RuntimeError):
            _ = sandbox.url


def test_jobs_outlive_a_restart() -> None:
    sandbox = Sandbox()
    with sandbox:
        job_id = sandbox.add_job(total_items=1, duration=60.0)
    with sandbox, checked_client(sandbox.url, sandbox.api_key) as client:
        assert status_of(client, job_id)["job"]["id"] == job_id


@pytest.mark.parametrize("api_key", ["", "two words", "line\nbreak"])
def test_keys_that_cannot_travel_in_a_header_are_refused(api_key: str) -> None:
    with pytest.raises(ValueError):
        Sandbox(api_key)


def test_repr_and_errors_never_show_the_key() -> None:
    sandbox = Sandbox("very-secret-key")
    assert "very-secret-key" not in repr(sandbox)
    with sandbox:
        assert "very-secret-key" not in repr(sandbox)
        with pytest.raises(RuntimeError) as refused:
            sandbox.start()
        assert "very-secret-key" not in str(refused.value)


# -- the foreground runner and the pytest plugin --------------------------------------------------


def test_run_sandbox_prints_how_to_reach_it_and_stops_cleanly() -> None:
    lines: list[str] = []
    printed = threading.Event()
    stop = threading.Event()

    def collect(line: str) -> None:
        lines.append(line)
        if "Ctrl-C" in line:
            printed.set()

    runner = threading.Thread(
        target=run_sandbox, kwargs={"api_key": "demo-key", "print_fn": collect, "stop": stop}
    )
    runner.start()
    try:
        assert printed.wait(timeout=10)
        output = "\n".join(lines)
        url = output.split("LLAMA_CLOUD_BASE_URL=")[1].split()[0]
        assert "LLAMA_CLOUD_API_KEY=demo-key" in output
        job_ids = [word for word in output.split() if word.startswith("bjb-")]
        assert SEED_JOB_ID in job_ids and len(set(job_ids)) == 4
        with checked_client(url, "demo-key") as client:
            outcomes = {status_of(client, job_id)["job"]["status"] for job_id in job_ids}
        assert outcomes <= {"pending", "running"}
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
    assert _port_is_closed(url)


def test_plugin_is_registered_and_gives_a_running_sandbox(
    pytestconfig: pytest.Config, llamacloud_sandbox: Sandbox
) -> None:
    assert pytestconfig.pluginmanager.has_plugin("llamacloud_batch")
    with checked_client(llamacloud_sandbox.url, llamacloud_sandbox.api_key) as client:
        assert status_of(client, SEED_JOB_ID)["job"]["id"] == SEED_JOB_ID


def test_plugin_client_fixture_reads_sandbox_jobs(
    llamacloud_sandbox: Sandbox, llamacloud_client: BatchClient
) -> None:
    job_id = llamacloud_sandbox.add_job(total_items=3, duration=0.0, failed_items=1)
    status = llamacloud_client.get_status(job_id)
    assert (status.job.id, status.job.status, status.job.failed_items) == (job_id, "completed", 1)
    assert status.progress_percentage == 100


@pytest.mark.parametrize(
    ("module", "must_not_load"),
    [
        ("llamacloud_batch", "llamacloud_batch.sandbox"),
        ("llamacloud_batch.sandbox.pytest_plugin", "http.server"),
        ("llamacloud_batch.sandbox", "llamacloud_batch.sandbox._http"),
    ],
)
def test_imports_stay_light(module: str, must_not_load: str) -> None:
    code = f"import sys, {module}; sys.exit({must_not_load!r} in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
