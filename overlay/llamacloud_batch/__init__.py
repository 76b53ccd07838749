"""Typed client for LlamaCloud's batch job status endpoint, with waiting that never lies."""

from llamacloud_batch_api.models import BatchGetStatusResponse, Job, JobStatus, JobType

from ._client import AsyncBatchClient, BatchClient, wait_until_done
from ._config import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, EU_BASE_URL
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    JobCancelledError,
    JobFailedError,
    LlamaCloudError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WaitTimeoutError,
)
from ._states import TERMINAL_STATUSES
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "EU_BASE_URL",
    "TERMINAL_STATUSES",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncBatchClient",
    "AuthenticationError",
    "BadRequestError",
    "BatchClient",
    "BatchGetStatusResponse",
    "ConflictError",
    "InternalServerError",
    "Job",
    "JobCancelledError",
    "JobFailedError",
    "JobStatus",
    "JobType",
    "LlamaCloudError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
    "__version__",
    "wait_until_done",
]

# Tracebacks and reprs name the public path (llamacloud_batch.NotFoundError), not the
# private module a class happens to live in.
for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type) and _obj.__module__.startswith("llamacloud_batch._"):
        _obj.__module__ = __name__
del _name, _obj
