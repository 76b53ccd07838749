"""A local sandbox of LlamaCloud's batch job status endpoint, for demos and offline tests.

It serves `GET /api/v1/beta/batch-processing/{job_id}` as openapi.yaml describes, over real
loopback sockets, with bearer auth, jobs that progress in real time (or on an injected clock),
the documentation's example job under its id, and optional faults (429, 503, dropped
connections, delays) for testing retry handling:

    from llamacloud_batch.sandbox import Faults, Sandbox

    with Sandbox(faults=Faults(rate_limit=0.2, seed=1)) as sandbox:
        job_id = sandbox.add_job(total_items=10, duration=5.0, outcome="failed")
        client = BatchClient(api_key=sandbox.api_key, base_url=sandbox.url)

`POST /_sandbox/jobs` with a JSON object of add_job's arguments creates a job over HTTP
(201 {"id": ...}; same bearer key). That path exists only in the sandbox, not in LlamaCloud.
Installing the package also gives pytest the fixtures `llamacloud_sandbox` and
`llamacloud_client`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._faults import Faults
    from ._jobs import SANDBOX_PROJECT_ID, SEED_JOB_ID, Outcome
    from ._sandbox import DEFAULT_API_KEY, Sandbox, add_demo_jobs, run_sandbox

__all__ = [
    "DEFAULT_API_KEY",
    "SANDBOX_PROJECT_ID",
    "SEED_JOB_ID",
    "Faults",
    "Outcome",
    "Sandbox",
    "add_demo_jobs",
    "run_sandbox",
]

# Loaded on first use: pytest imports this package (for the plugin) in every test run, and
# the HTTP server modules are comparatively slow to import.
_HOMES = {
    "Faults": "._faults",
    "Outcome": "._jobs",
    "SANDBOX_PROJECT_ID": "._jobs",
    "SEED_JOB_ID": "._jobs",
    "DEFAULT_API_KEY": "._sandbox",
    "Sandbox": "._sandbox",
    "add_demo_jobs": "._sandbox",
    "run_sandbox": "._sandbox",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
