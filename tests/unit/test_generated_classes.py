"""What generator_templates/ promise of the generated classes (its README): the behaviour attrs
gave them, written out at generation time, plus a token-free client repr and a readable UNSET."""

from __future__ import annotations

import copy
import inspect
import pickle
import subprocess
import sys
import weakref
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest
from llamacloud_batch import BatchGetStatusResponse, Job, JobStatus, JobType
from llamacloud_batch_api.client import AuthenticatedClient, Client
from llamacloud_batch_api.models import ErrorDetail, ValidationProblem
from llamacloud_batch_api.types import UNSET, File, Response

from tests.spec_schema import seed_example

TOKEN = "llx-generated-classes-token"


def _status() -> BatchGetStatusResponse:
    return BatchGetStatusResponse.from_dict(seed_example())


def _job(**changes: object) -> Job:
    fields: dict[str, object] = {
        "id": "bjb-1",
        "job_type": JobType.PARSE,
        "project_id": "proj-1",
        "status": JobStatus.RUNNING,
        "total_items": 4,
    }
    return Job(**{**fields, **changes})  # type: ignore[arg-type]


def test_constructor_takes_required_fields_first_then_optional_ones_defaulting_to_unset() -> None:
    parameters = inspect.signature(Job).parameters
    required = [name for name, p in parameters.items() if p.default is inspect.Parameter.empty]
    assert required == ["id", "job_type", "project_id", "status", "total_items"]
    assert list(parameters)[: len(required)] == required
    optional = [p for p in parameters.values() if p.default is not inspect.Parameter.empty]
    assert optional and all(p.default is UNSET for p in optional)
    assert _job().processed_items is UNSET


def test_equality_is_field_by_field_and_includes_extra_fields() -> None:
    assert _status() == _status()
    assert _job() == _job()
    assert _job() != _job(processed_items=1)
    changed = _status()
    changed["note"] = "extra"
    assert changed != _status()


def test_an_instance_of_another_class_is_never_equal() -> None:
    class Subclass(Job):
        __slots__ = ()

    assert _job() != Subclass(**{name: getattr(_job(), name) for name in Job.__match_args__})
    assert _job() != "bjb-1"
    assert (_job() == object()) is False


def test_models_are_unhashable_because_they_are_mutable() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(_job())


def test_slots_refuse_a_misspelt_attribute() -> None:
    job = _job()
    with pytest.raises(AttributeError):
        job.procesed_items = 3  # type: ignore[attr-defined]
    assert not hasattr(job, "__dict__")


def test_repr_names_every_field_and_shows_unset_as_unset() -> None:
    text = repr(_job())
    assert text.startswith("Job(id='bjb-1', job_type=<JobType.PARSE: 'parse'>, ")
    assert "processed_items=UNSET, " in text
    assert text.endswith("additional_properties={})")
    assert repr(UNSET) == "UNSET"
    assert repr(_status()).startswith("BatchGetStatusResponse(job=Job(id='bjb-")


def test_match_args_allow_positional_patterns() -> None:
    matched: int | None = None
    match _job(processed_items=2):
        case Job("bjb-1", _, _, JobStatus.RUNNING, total):
            matched = total
    assert matched == 4


@pytest.mark.parametrize(
    "duplicate", [copy.copy, copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))]
)
def test_copies_and_pickles_are_equal(duplicate: object) -> None:
    for original in (_status(), BatchGetStatusResponse(job=_job(), progress_percentage=5.0)):
        original["note"] = "extra"
        again = duplicate(original)  # type: ignore[operator]
        assert again == original
        assert again is not original


def test_unset_stays_the_one_unset_through_copies_and_pickles() -> None:
    assert not UNSET
    assert copy.copy(UNSET) is UNSET
    assert copy.deepcopy(UNSET) is UNSET
    assert pickle.loads(pickle.dumps(UNSET)) is UNSET
    again = copy.deepcopy(_job())
    assert again.processed_items is UNSET
    assert "processed_items" not in again.to_dict()


def test_models_can_be_weakly_referenced() -> None:
    job = _job()
    assert weakref.ref(job)() is job


def test_error_models_round_trip_their_nested_problems() -> None:
    body = {"detail": [{"msg": "bad", "loc": ["query", "project_id"], "type": "value_error"}]}
    parsed = ErrorDetail.from_dict(body)
    assert parsed.detail == [
        ValidationProblem(msg="bad", loc=["query", "project_id"], type_="value_error")
    ]
    assert parsed.to_dict() == body


def test_file_and_response_hold_their_values(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    with (tmp_path / "a.txt").open("rb") as payload:
        upload = File(payload, file_name="a.txt", mime_type="text/plain")
        assert upload.to_tuple() == ("a.txt", payload, "text/plain")
        assert upload == File(payload, "a.txt", "text/plain")
    match upload:
        case File(_, name, kind):
            assert (name, kind) == ("a.txt", "text/plain")
    response: Response[None] = Response(HTTPStatus.OK, b"{}", {}, None)
    assert response == Response(status_code=HTTPStatus.OK, content=b"{}", headers={}, parsed=None)
    assert response != Response(HTTPStatus.OK, b"{}", {"x": "1"}, None)
    assert "content=b'{}'" in repr(response)


def test_authenticated_client_requires_a_token() -> None:
    parameters = inspect.signature(AuthenticatedClient).parameters
    assert parameters["token"].default is inspect.Parameter.empty
    assert list(parameters)[:4] == ["base_url", "token", "prefix", "auth_header_name"]


def test_authenticated_client_repr_hides_the_token() -> None:
    client = AuthenticatedClient("https://example.invalid", token=TOKEN)
    assert TOKEN not in repr(client)
    assert repr(client) == (
        "AuthenticatedClient(base_url='https://example.invalid', token=<hidden>, "
        "prefix='Bearer', auth_header_name='Authorization')"
    )
    assert repr(Client("https://example.invalid")) == "Client(base_url='https://example.invalid')"


@pytest.mark.parametrize(
    ("prefix", "header", "expected"),
    [("Bearer", "Authorization", f"Bearer {TOKEN}"), ("", "X-Api-Key", TOKEN)],
)
def test_authenticated_client_sends_the_token_in_its_header(
    prefix: str, header: str, expected: str
) -> None:
    client = AuthenticatedClient(
        "https://example.invalid", TOKEN, prefix, header, headers={"X-Extra": "1"}
    )
    sent = client.get_httpx_client().headers
    assert (sent[header], sent["X-Extra"]) == (expected, "1")
    # Building the httpx client leaves the caller's headers as they were.
    assert client._headers == {"X-Extra": "1"}
    with client:
        pass


def test_with_headers_keeps_the_token_and_every_other_setting() -> None:
    timeout = httpx.Timeout(3.0)
    client = AuthenticatedClient(
        "https://example.invalid",
        TOKEN,
        auth_header_name="X-Key",
        prefix="",
        timeout=timeout,
        follow_redirects=True,
        raise_on_unexpected_status=True,
    )
    built = client.get_httpx_client()
    derived = client.with_headers({"X-Extra": "1"})
    assert type(derived) is AuthenticatedClient
    assert (derived.token, derived.prefix, derived.auth_header_name) == (TOKEN, "", "X-Key")
    assert derived.raise_on_unexpected_status is True
    fresh = derived.get_httpx_client()
    assert fresh is not built
    assert (fresh.headers["X-Key"], fresh.headers["X-Extra"]) == (TOKEN, "1")
    assert (fresh.timeout, fresh.follow_redirects) == (timeout, True)
    # The original's httpx client takes the new header too, as the generator's clients did.
    assert built.headers["X-Extra"] == "1"
    assert client.with_timeout(httpx.Timeout(9.0)).get_httpx_client().timeout == httpx.Timeout(9.0)
    assert client.with_cookies({"c": "1"}).get_httpx_client().cookies["c"] == "1"
    # ... and so does the original's httpx client.
    assert (built.timeout, built.cookies["c"]) == (httpx.Timeout(9.0), "1")


def test_importing_the_models_or_the_overlay_does_not_import_attrs() -> None:
    """attrs builds classes at import time, which is what the templates avoid (issue 6)."""
    code = (
        "import sys, llamacloud_batch, llamacloud_batch_api.models, llamacloud_batch_api.client\n"
        "from llamacloud_batch_api.api.batch import get_batch_job_status\n"
        "sys.exit('attr' in sys.modules or 'attrs' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
