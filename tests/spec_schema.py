"""Test helper: openapi.yaml loaded once, its schemas as JSON Schema validators and self-contained
schemas (for jsonschema 4.26's Draft202012Validator and hypothesis-jsonschema)."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any, TypeAlias, cast

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

# Parsed YAML/JSON is untyped by nature; callers index into it as they would into json.loads().
JSONDict: TypeAlias = dict[str, Any]

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"
SEED_EXAMPLE_PATH = Path(__file__).resolve().parent / "fixtures" / "seed_example.json"
# The whole document is registered under this URI so that the spec's own
# "#/components/schemas/X" references resolve wherever a schema is used.
SPEC_URI = "urn:llamacloud-batch:openapi.yaml"
_LOCAL_SCHEMA_REF = "#/components/schemas/"


@functools.cache
def _load(path: Path) -> JSONDict:
    with path.open(encoding="utf-8") as stream:
        loaded = yaml.safe_load(stream)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} does not hold a YAML mapping")
    return loaded


def load_spec(path: Path = SPEC_PATH) -> JSONDict:
    """The parsed spec (read once per path; returns a copy, so callers may mutate it)."""
    return copy.deepcopy(_load(path.resolve()))


def seed_example() -> JSONDict:
    """A fresh copy of the endpoint documentation's response example (tests/fixtures)."""
    loaded = json.loads(SEED_EXAMPLE_PATH.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{SEED_EXAMPLE_PATH} does not hold a JSON object")
    return loaded


@functools.cache
def _registry(path: Path) -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, DRAFT202012.create_resource(_load(path))
    )
    return registry


def registry(path: Path = SPEC_PATH) -> Registry[Any]:
    """A `referencing` registry holding the spec, for references made absolute by `absolutize`."""
    return _registry(path.resolve())


def component_names(path: Path = SPEC_PATH) -> list[str]:
    """Names of the schemas under components.schemas, in file order."""
    return list(_load(path.resolve())["components"]["schemas"])


def component_schema(name: str, path: Path = SPEC_PATH) -> JSONDict:
    """The schema of component `name` as written in the spec (local references left as they are)."""
    schemas = _load(path.resolve())["components"]["schemas"]
    if name not in schemas:
        raise KeyError(f"no schema {name!r} under components.schemas in {path}")
    return cast(JSONDict, copy.deepcopy(schemas[name]))


def absolutize(schema: JSONDict) -> JSONDict:
    """A copy of `schema` whose local "#/..." references point into the registered spec."""

    def walk(node: object) -> object:
        if isinstance(node, dict):
            return {
                key: (
                    SPEC_URI + value
                    if key == "$ref" and isinstance(value, str) and value.startswith("#/")
                    else walk(value)
                )
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return cast(JSONDict, walk(schema))


def validator_for(schema: JSONDict, path: Path = SPEC_PATH) -> Draft202012Validator:
    """A validator for any schema taken from the spec (e.g. a response's `schema`), checking
    formats such as date-time too."""
    return Draft202012Validator(
        absolutize(schema),
        registry=registry(path),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def component_validator(name: str, path: Path = SPEC_PATH) -> Draft202012Validator:
    """A validator for components.schemas[`name`]."""
    component_schema(name, path)  # fail early, with a clear message, on an unknown name
    return validator_for({"$ref": f"{_LOCAL_SCHEMA_REF}{name}"}, path)


def inlined_schema(name: str, path: Path = SPEC_PATH) -> JSONDict:
    """components.schemas[`name`] with every reference replaced by its target: a self-contained
    schema for tools without reference support, such as hypothesis_jsonschema.from_schema.
    The spec's schemas are not recursive, so inlining always ends.

    Caution: hypothesis-jsonschema 0.23.1 cannot draw objects under hypothesis 6.170 (it calls
    the removed `many.more()`), so object schemas fail there until the pins move."""
    schemas = _load(path.resolve())["components"]["schemas"]

    def walk(node: object, seen: tuple[str, ...]) -> object:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith(_LOCAL_SCHEMA_REF):
                    raise ValueError(f"cannot inline reference {ref!r}")
                target = ref.removeprefix(_LOCAL_SCHEMA_REF)
                if target in seen:
                    raise ValueError(f"recursive schema: {' -> '.join((*seen, target))}")
                siblings = {key: value for key, value in node.items() if key != "$ref"}
                resolved = walk(schemas[target], (*seen, target))
                if not siblings:
                    return resolved
                # Keywords beside $ref apply too (2020-12), so keep both through allOf.
                return {"allOf": [resolved, walk(siblings, seen)]}
            return {key: walk(value, seen) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        return node

    return cast(JSONDict, walk(component_schema(name, path), (name,)))
