"""generator_templates/ replace the generator's attrs classes with plain ones (issue 6). Here both
the generator's own templates and ours generate a spec with shapes the real one lacks (an empty
object, closed and typed extra properties, a required field with a default, a keyword as a
name, a multipart body); their models must parse, dump and compare alike, and ours must pass
mypy --strict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.contract.test_generated_drift import (
    GENERATE_TIMEOUT_S,
    PACKAGE,
    _generate,
    check_types_strictly,
)
from tests.spec_schema import load_spec, seed_example

PROBE = Path(__file__).with_name("template_probe.py")


def edge_spec() -> dict[str, Any]:
    spec = load_spec()
    schemas = spec["components"]["schemas"]
    closed = {"$ref": "#/components/schemas/Closed"}
    schemas["Empty"] = {"type": "object"}
    schemas["Closed"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    schemas["Defaults"] = {
        "type": "object",
        "properties": {
            "class": {"type": "string", "default": "x"},
            "count": {"type": "integer", "default": 3},
            "mode": {"type": "string"},
        },
        "required": ["class", "mode"],
    }
    schemas["TypedExtras"] = {
        "type": "object",
        "properties": {"size": {"type": "integer"}},
        "additionalProperties": closed,
    }
    schemas["UploadBody"] = {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}, "note": {"type": "string"}},
        "required": ["file"],
    }
    form = {"schema": {"$ref": "#/components/schemas/UploadBody"}}
    answer = {"schema": {"$ref": "#/components/schemas/TypedExtras"}}
    spec["paths"]["/upload"] = {
        "post": {
            "operationId": "upload",
            "tags": ["batch"],
            "requestBody": {"required": True, "content": {"multipart/form-data": form}},
            "responses": {
                "200": {"description": "Stored.", "content": {"application/json": answer}}
            },
        }
    }
    return spec


def payloads() -> dict[str, list[dict[str, Any]]]:
    seed = seed_example()
    return {
        "BatchGetStatusResponse": [
            seed,
            {**seed, "extra": [1, {"a": None}]},
            {
                "job": {
                    **seed["job"],
                    "completed_at": None,
                    "status": "paused",
                    "started_at": None,
                },
                "progress_percentage": 12.5,
            },
            {
                "job": {
                    k: seed["job"][k]
                    for k in ("id", "job_type", "project_id", "status", "total_items")
                },
                "progress_percentage": 0,
            },
        ],
        "Empty": [{}, {"a": [1], "b": None}],
        "Closed": [{"name": "n"}],
        "Defaults": [{"mode": "m", "class": "k"}, {"mode": "m", "class": "c", "count": 9}],
        "TypedExtras": [{"size": 1, "k": {"name": "z"}}, {}],
        "ErrorDetail": [{"detail": "x"}, {"detail": [{"msg": "m", "loc": ["a", 1], "type": "t"}]}],
    }


def _probe(package_parent: Path) -> Any:
    result = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(payloads())],
        env={**os.environ, "PYTHONPATH": str(package_parent)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_our_templates_behave_as_the_generators_own(tmp_path: Path) -> None:
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(edge_spec(), sort_keys=False), encoding="utf-8")
    ours, stock = tmp_path / "ours", tmp_path / "stock"
    _generate("--spec", str(spec_path), "--output", str(ours))
    # The generator alone, with its own templates and no hooks that could hide a difference.
    subprocess.run(
        [
            Path(sys.executable).with_name("openapi-python-client"),
            "generate",
            "--path",
            str(spec_path),
            "--meta",
            "none",
            "--output-path",
            str(stock / PACKAGE),
        ],
        capture_output=True,
        timeout=GENERATE_TIMEOUT_S,
        check=True,
    )
    assert "attrs" in (stock / PACKAGE / "models" / "closed.py").read_text()
    assert "attrs" not in (ours / PACKAGE / "models" / "closed.py").read_text()

    seen = _probe(ours)
    assert seen == _probe(stock)
    # A few of the shared answers, so the comparison cannot pass by both sides failing alike.
    assert seen["Closed"] == [{"name": "n"}]
    assert seen["Closed extra keys"] == [None]
    assert seen["Defaults"][1] == {"mode": "m", "class": "c", "count": 9}
    assert seen["defaults"] == ["x", 3, {"mode": "m", "class": "x", "count": 3}]
    assert seen["TypedExtras"][0] == {"size": 1, "k": {"name": "z"}}
    assert seen["Empty extra keys"] == [[], ["a", "b"]]
    assert seen["multipart"] == [
        ["file", "f.txt", "text/plain"],
        ["note", None, "text/plain"],
        ["extra", None, "text/plain"],
    ]
    assert seen["multipart, optional part unset"] == ["file"]
    assert all(all(flags) for key, flags in seen.items() if key.endswith("parsed again"))

    check_types_strictly(ours / PACKAGE, tmp_path)
