"""Run by test_generated_templates.py with a generated package first on sys.path: exercises its
models and prints what they did as JSON, so two generations of one spec can be compared."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from llamacloud_batch_api import models
from llamacloud_batch_api.types import File

PAYLOADS: dict[str, list[dict[str, Any]]] = json.loads(sys.argv[1])


def main() -> None:
    # The models of the test's spec, which the committed package (all mypy knows of) lacks.
    edge: Any = models
    seen: dict[str, object] = {}
    for name, payloads in PAYLOADS.items():
        cls = getattr(models, name)
        parsed = [cls.from_dict(payload) for payload in payloads]
        seen[name] = [item.to_dict() for item in parsed]
        seen[f"{name} equal to itself parsed again"] = [
            item == cls.from_dict(payload) for item, payload in zip(parsed, payloads, strict=True)
        ]
        seen[f"{name} extra keys"] = [
            item.additional_keys if hasattr(item, "additional_keys") else None for item in parsed
        ]
    defaults = edge.Defaults(mode="m")
    seen["defaults"] = [defaults.class_, defaults.count, defaults.to_dict()]
    upload = edge.UploadBody(file=File(io.BytesIO(b"z"), "f.txt", "text/plain"), note="n")
    upload["extra"] = "3"
    seen["multipart"] = [[name, part[0], part[2]] for name, part in upload.to_multipart()]
    bare = edge.UploadBody(file=File(io.BytesIO(b"z"), "f.txt", "text/plain"))
    seen["multipart, optional part unset"] = [name for name, _ in bare.to_multipart()]
    print(json.dumps(seen, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
