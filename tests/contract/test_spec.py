"""Contract tests for openapi.yaml: it is a valid OpenAPI document, its examples match its schemas,
and it describes the seed's endpoint field by field."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.spec_schema import (
    JSONDict,
    component_schema,
    component_validator,
    load_spec,
    seed_example,
    validator_for,
)

PATH = "/api/v1/beta/batch-processing/{job_id}"
JSON = "application/json"


def _operation() -> JSONDict:
    operation: JSONDict = load_spec()["paths"][PATH]["get"]
    return operation


def _resolve(node: JSONDict, spec: JSONDict) -> JSONDict:
    """Follows a local "#/..." reference (responses, examples) to its target."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


# -- validity ----------------------------------------------------------------------------------


def test_spec_validates_as_openapi_3_1() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1.")
    validate(spec)


def _drop_path_parameter(spec: JSONDict) -> None:
    spec["paths"][PATH]["get"]["parameters"] = [
        param for param in spec["paths"][PATH]["get"]["parameters"] if param["in"] != "path"
    ]


def _unknown_security_type(spec: JSONDict) -> None:
    spec["components"]["securitySchemes"]["bearerAuth"]["type"] = "magic"


@pytest.mark.parametrize("breakage", [_drop_path_parameter, _unknown_security_type])
def test_spec_validator_rejects_a_broken_copy(breakage: Callable[[JSONDict], None]) -> None:
    """Guards the test above against a validator that accepts anything."""
    spec = load_spec()
    breakage(spec)
    with pytest.raises(OpenAPIValidationError):
        validate(spec)


# -- examples ----------------------------------------------------------------------------------


class Example(NamedTuple):
    where: str
    schema: JSONDict
    value: object


def _examples_in_schema(schema: object, where: str) -> Iterator[Example]:
    if isinstance(schema, dict):
        if "example" in schema:
            yield Example(f"{where}/example", schema, schema["example"])
        if isinstance(schema.get("examples"), list):
            for index, value in enumerate(schema["examples"]):
                yield Example(f"{where}/examples/{index}", schema, value)
        for key, value in schema.items():
            if key not in ("example", "examples"):
                yield from _examples_in_schema(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _examples_in_schema(item, f"{where}/{index}")


def _all_examples() -> list[Example]:
    """Every example in the spec: on media types, parameters and headers (beside a `schema`),
    and inside schemas themselves."""
    spec = load_spec()
    found: list[Example] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("schema"), dict):
                schema = node["schema"]
                if "example" in node:
                    found.append(Example(f"{where}/example", schema, node["example"]))
                for name, example in node.get("examples", {}).items():
                    value = _resolve(example, spec)["value"]
                    found.append(Example(f"{where}/examples/{name}", schema, value))
                found.extend(_examples_in_schema(schema, f"{where}/schema"))
            for key, value in node.items():
                if key not in ("schema", "example", "examples"):
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}/{index}")

    walk(spec["paths"], "#/paths")
    walk(spec["components"].get("responses", {}), "#/components/responses")
    walk(spec["components"].get("parameters", {}), "#/components/parameters")
    for name, schema in spec["components"]["schemas"].items():
        found.extend(_examples_in_schema(schema, f"#/components/schemas/{name}"))
    return found


EXAMPLES = _all_examples()


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_example_matches_its_schema(example: Example) -> None:
    errors = [error.message for error in validator_for(example.schema).iter_errors(example.value)]
    assert errors == [], f"{example.where}: {errors}"


def test_every_documented_response_has_an_example() -> None:
    wheres = {example.where for example in EXAMPLES}
    expected = {f"#/paths/{PATH}/get/responses/200/content/{JSON}/examples/seed"} | {
        f"#/components/responses/{name}/content/{JSON}/example"
        for name in (
            "BadRequest",
            "Unauthorized",
            "Forbidden",
            "NotFound",
            "ValidationFailed",
            "TooManyRequests",
            "ServerError",
        )
    }
    assert expected <= wheres, f"missing examples: {sorted(expected - wheres)}"


def test_seed_example_in_spec_equals_the_fixture() -> None:
    media = _operation()["responses"]["200"]["content"][JSON]
    assert media["examples"]["seed"]["value"] == seed_example()


@pytest.mark.parametrize(
    ("path", "bad_value"),
    [
        (("job", "status"), 5),
        (("job", "created_at"), "yesterday"),
        (("job", "total_items"), "0"),
        (("job", "failed_items"), 1.5),
        (("progress_percentage",), 100.5),
        (("progress_percentage",), -1),
    ],
)
def test_schema_rejects_a_corrupted_seed(path: tuple[str, ...], bad_value: object) -> None:
    """The validators used above really check types, formats and bounds."""
    corrupted = copy.deepcopy(seed_example())
    parent = corrupted
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = bad_value
    assert not component_validator("BatchGetStatusResponse").is_valid(corrupted)


@pytest.mark.parametrize("missing", ["id", "job_type", "project_id", "status", "total_items"])
def test_schema_rejects_a_job_without_a_required_field(missing: str) -> None:
    job = seed_example()["job"]
    del job[missing]
    assert not component_validator("Job").is_valid(job)


def test_schema_accepts_nulls_and_unknown_enum_values() -> None:
    """What the live API sends: nulls for unset optional fields, enum values added later."""
    response = seed_example()
    job = response["job"]
    for name in OPTIONAL_FIELDS:
        job[name] = None
    job["job_type"] = "summarize"
    job["status"] = "PAUSED"
    validator = component_validator("BatchGetStatusResponse")
    assert [error.message for error in validator.iter_errors(response)] == []


# -- the Job schema, field by field ------------------------------------------------------------

JOB_TYPES = ["parse", "extract", "classify"]
JOB_STATUSES = ["pending", "running", "dispatched", "completed", "failed", "cancelled"]


class Field(NamedTuple):
    name: str
    type: str
    format: str | None
    required: bool
    nullable: bool
    enum: list[str] | None = None


JOB_FIELDS = [
    Field("id", "string", None, required=True, nullable=False),
    Field("job_type", "string", None, required=True, nullable=False, enum=JOB_TYPES),
    Field("project_id", "string", None, required=True, nullable=False),
    Field("status", "string", None, required=True, nullable=False, enum=JOB_STATUSES),
    Field("total_items", "integer", "int64", required=True, nullable=False),
    Field("completed_at", "string", "date-time", required=False, nullable=True),
    Field("created_at", "string", "date-time", required=False, nullable=True),
    Field("directory_id", "string", None, required=False, nullable=True),
    Field("effective_at", "string", "date-time", required=False, nullable=True),
    Field("error_message", "string", None, required=False, nullable=True),
    Field("failed_items", "integer", "int64", required=False, nullable=True),
    Field("job_record_id", "string", None, required=False, nullable=True),
    Field("processed_items", "integer", "int64", required=False, nullable=True),
    Field("skipped_items", "integer", "int64", required=False, nullable=True),
    Field("started_at", "string", "date-time", required=False, nullable=True),
    Field("updated_at", "string", "date-time", required=False, nullable=True),
    Field("workflow_id", "string", None, required=False, nullable=True),
]
OPTIONAL_FIELDS = [field.name for field in JOB_FIELDS if not field.required]


def _types(schema: JSONDict) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def test_job_fields_are_exactly_the_seeds() -> None:
    table = [field.name for field in JOB_FIELDS]
    assert list(seed_example()["job"]) == table
    assert sorted(component_schema("Job")["properties"]) == sorted(table)


def test_job_required_fields() -> None:
    expected = {field.name for field in JOB_FIELDS if field.required}
    assert set(component_schema("Job")["required"]) == expected


@pytest.mark.parametrize("field", JOB_FIELDS, ids=[field.name for field in JOB_FIELDS])
def test_job_field(field: Field) -> None:
    job = component_schema("Job")
    prop: JSONDict = job["properties"][field.name]
    assert (field.name in job["required"]) is field.required
    assert prop.get("description"), "every field says what it holds"

    if field.enum is None:
        types = _types(prop)
        assert ("null" in types) is field.nullable
        assert [t for t in types if t != "null"] == [field.type]
        assert prop.get("format") == field.format
        return

    # Open enum: anyOf [the named enum, any string], so new server values still parse.
    assert "type" not in prop and "enum" not in prop
    branches = prop["anyOf"]
    assert len(branches) == 2
    refs = [branch["$ref"] for branch in branches if "$ref" in branch]
    assert len(refs) == 1
    enum_schema = component_schema(refs[0].removeprefix("#/components/schemas/"))
    assert enum_schema["type"] == field.type
    assert enum_schema["enum"] == field.enum
    assert {"type": "string"} in branches


def test_enum_component_names() -> None:
    assert component_schema("JobType")["enum"] == JOB_TYPES
    assert component_schema("JobStatus")["enum"] == JOB_STATUSES


def test_batch_get_status_response_schema() -> None:
    schema = component_schema("BatchGetStatusResponse")
    assert schema["type"] == "object"
    assert set(schema["required"]) == {"job", "progress_percentage"}
    assert set(schema["properties"]) == {"job", "progress_percentage"}
    assert schema["properties"]["job"] == {"$ref": "#/components/schemas/Job"}
    progress = schema["properties"]["progress_percentage"]
    assert progress["type"] == "number"
    assert progress["format"] == "double"
    assert progress["minimum"] == 0
    assert progress["maximum"] == 100


# -- operation, security, servers, errors ------------------------------------------------------


def test_one_operation_with_its_parameters() -> None:
    spec = load_spec()
    assert list(spec["paths"]) == [PATH]
    assert list(spec["paths"][PATH]) == ["get"]
    operation = _operation()
    assert operation["operationId"] == "get_batch_job_status"
    assert len(operation["tags"]) == 1
    params = {(p["name"], p["in"]): p for p in operation["parameters"]}
    assert set(params) == {
        ("job_id", "path"),
        ("organization_id", "query"),
        ("project_id", "query"),
    }
    job_id = params["job_id", "path"]
    assert job_id["required"] is True
    assert job_id["schema"] == {"type": "string"}
    for name in ("organization_id", "project_id"):
        param = params[name, "query"]
        assert param.get("required", False) is False
        assert [t for t in _types(param["schema"]) if t != "null"] == ["string"]


def test_bearer_security_scheme() -> None:
    spec = load_spec()
    schemes = spec["components"]["securitySchemes"]
    assert len(schemes) == 1
    (name, scheme), *_ = schemes.items()
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    required = _operation().get("security", spec.get("security"))
    assert required == [{name: []}]


def test_servers_are_the_two_regions() -> None:
    urls = [server["url"] for server in load_spec()["servers"]]
    # The first server is the default a generated client would use.
    assert urls == ["https://api.cloud.llamaindex.ai", "https://api.cloud.eu.llamaindex.ai"]


ERROR_STATUSES = ["400", "401", "403", "404", "422", "429", "5XX"]


@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_error_response_documented_with_detail_body(status: str) -> None:
    spec = load_spec()
    response = _resolve(_operation()["responses"][status], spec)
    assert response.get("description")
    schema = _resolve(response["content"][JSON]["schema"], spec)
    assert "detail" in schema["required"]
    detail = schema["properties"]["detail"]
    branch_types = sorted(branch["type"] for branch in detail["anyOf"])
    assert branch_types == ["array", "string"]


def test_documented_statuses_are_exactly_these() -> None:
    assert sorted(_operation()["responses"]) == sorted(["200", *ERROR_STATUSES])


def test_rate_limit_response_documents_retry_after() -> None:
    spec = load_spec()
    response = _resolve(_operation()["responses"]["429"], spec)
    assert "Retry-After" in response["headers"]


@pytest.mark.parametrize(
    "body",
    [
        {"detail": "Batch job not found"},
        {"detail": [{"loc": ["path", "job_id"], "msg": "bad", "type": "value_error"}]},
    ],
)
def test_error_detail_accepts_both_fastapi_shapes(body: JSONDict) -> None:
    assert component_validator("ErrorDetail").is_valid(body)


def test_error_detail_rejects_a_body_without_detail() -> None:
    assert not component_validator("ErrorDetail").is_valid({"message": "nope"})
