"""Contract tests against Prism, a mock server nobody here wrote: it checks every request the
client sends against openapi.yaml (`--errors`), and the client parses what Prism answers."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from llamacloud_batch import (
    AuthenticationError,
    BatchClient,
    BatchGetStatusResponse,
    JobStatus,
    JobType,
)
from llamacloud_batch._parsing import parse_status_payload
from llamacloud_batch_api.types import Unset

from tests.contract.conftest import Prism
from tests.spec_schema import component_validator, seed_example

API_KEY = "sk-prism-contract-key"
# Header in which Prism lists what it found wrong with a request or its own response.
VIOLATIONS = "sl-violations"
DYNAMIC_REQUESTS = 30


class Wire:
    """An httpx client that keeps every response it saw (headers and raw body) for asserts."""

    def __init__(self, *, drop_auth: bool = False) -> None:
        self.responses: list[httpx.Response] = []
        hooks: dict[str, list[Callable[..., object]]] = {"response": [self._keep]}
        if drop_auth:
            hooks["request"] = [self._drop_auth]
        self.http = httpx.Client(event_hooks=hooks)

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        self.responses.append(response)

    @staticmethod
    def _drop_auth(request: httpx.Request) -> None:
        del request.headers["authorization"]

    def violations(self) -> list[object]:
        found: list[object] = []
        for response in self.responses:
            if VIOLATIONS in response.headers:
                found.extend(json.loads(response.headers[VIOLATIONS]))
        return found


@pytest.fixture
def wire() -> Iterator[Wire]:
    wire = Wire()
    yield wire
    wire.http.close()


def client_for(prism: Prism, wire: Wire, **settings: str | None) -> BatchClient:
    return BatchClient(
        API_KEY,
        base_url=prism.origin,
        http_client=wire.http,
        max_retries=0,  # Prism answers at once; a retry would only hide a wrong answer
        timeout=10.0,
        **settings,
    )


def test_prism_started_in_reasonable_time(prism: Prism) -> None:
    """Not a benchmark: a guard that the fixture's readiness poll measured something sane."""
    assert 0 < prism.startup_s < 60


SCOPES = [
    {},
    {"project_id": "proj-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
    {"organization_id": "org-1"},
    {"project_id": "p 1&x=2", "organization_id": "ü/#?%41"},
]
ODD_JOB_IDS = [
    "bjb-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    "job with spaces",
    "a/b",
    "a?b#c",
    "%41%2F",
    "ü-ñ-漢字",
    "..a",
    "a+b;c=d",
    "x" * 300,
]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda scope: ",".join(scope) or "no-scope")
@pytest.mark.parametrize("per_call", [False, True], ids=["client-scope", "per-call-scope"])
def test_requests_pass_prisms_validation_and_get_the_seed_example(
    prism: Prism, wire: Wire, scope: dict[str, str], per_call: bool
) -> None:
    if per_call:
        result = client_for(prism, wire).get_status(ODD_JOB_IDS[0], **scope)
    else:
        result = client_for(prism, wire, **scope).get_status(ODD_JOB_IDS[0])
    assert wire.violations() == []
    (response,) = wire.responses
    assert response.status_code == 200
    sent = response.request.url.params
    assert {name: sent[name] for name in sent} == scope
    assert json.loads(response.content) == seed_example()
    assert result == parse_status_payload(seed_example())


@pytest.mark.parametrize("job_id", ODD_JOB_IDS, ids=range(len(ODD_JOB_IDS)))
def test_odd_job_ids_are_encoded_so_prism_matches_the_route(
    prism: Prism, wire: Wire, job_id: str
) -> None:
    result = client_for(prism, wire).get_status(job_id)
    assert wire.violations() == []
    (response,) = wire.responses
    assert response.status_code == 200
    # One path segment after the prefix, whatever the id holds.
    raw_path = response.request.url.raw_path.decode().split("?")[0]
    assert raw_path.count("/") == "/api/v1/beta/batch-processing/".count("/")
    assert result.job.status is JobStatus.PENDING


def test_the_seed_example_parses_field_by_field(prism: Prism, wire: Wire) -> None:
    job = client_for(prism, wire).get_status("bjb-1").job
    when = datetime.datetime(2019, 12, 27, 18, 11, 19, 117_000, tzinfo=datetime.UTC)
    assert (job.job_type, job.status, job.total_items) == (JobType.PARSE, JobStatus.PENDING, 0)
    assert job.created_at == job.updated_at == job.completed_at == when
    assert (job.failed_items, job.processed_items, job.skipped_items) == (0, 0, 0)


def test_a_request_without_auth_gets_prisms_401(prism: Prism) -> None:
    wire = Wire(drop_auth=True)
    with wire.http, pytest.raises(AuthenticationError) as caught:
        client_for(prism, wire).get_status("bjb-1")
    assert caught.value.status_code == 401
    assert "authorization" not in wire.responses[0].request.headers
    assert wire.violations(), "Prism should say why it refused"
    assert API_KEY not in str(caught.value)


def test_dynamic_responses_parse_to_the_documented_types(prism_dynamic: Prism, wire: Wire) -> None:
    client = client_for(prism_dynamic, wire)
    validator = component_validator("BatchGetStatusResponse")
    results: list[BatchGetStatusResponse] = [
        client.get_status(f"bjb-{n}") for n in range(DYNAMIC_REQUESTS)
    ]
    assert wire.violations() == []
    bodies = [json.loads(response.content) for response in wire.responses]
    assert len({json.dumps(body, sort_keys=True) for body in bodies}) > 1, "not generated"
    # Unseeded, so each run draws new bodies: a failure names the body that broke the parser.
    for body, result in zip(bodies, results, strict=True):
        # Prism's own output follows the schema; the client must then give documented types.
        assert not list(validator.iter_errors(body)), body
        job = result.job
        assert isinstance(job.status, JobStatus | str) and isinstance(job.job_type, JobType | str)
        assert type(job.total_items) is int
        for name in ("completed_at", "created_at", "effective_at", "started_at", "updated_at"):
            value = getattr(job, name)
            if isinstance(value, datetime.datetime):
                assert value.utcoffset() == datetime.timedelta(0)
            else:
                assert value is None or isinstance(value, Unset)
        assert type(result.progress_percentage) is float
        assert 0.0 <= result.progress_percentage <= 100.0
        assert BatchGetStatusResponse.from_dict(result.to_dict()) == result
