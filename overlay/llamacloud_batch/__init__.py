"""Typed client for LlamaCloud's batch job status endpoint."""

from importlib.metadata import PackageNotFoundError, version

from llamacloud_batch_api.models import BatchGetStatusResponse, Job, JobStatus, JobType

try:
    __version__ = version("llamacloud-batch")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "BatchGetStatusResponse",
    "Job",
    "JobStatus",
    "JobType",
    "__version__",
]
