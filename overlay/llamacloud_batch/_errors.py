"""The exceptions this package raises, as one tree.

    LlamaCloudError
    ├── APIError
    │   ├── APIConnectionError
    │   │   └── APITimeoutError
    │   ├── APIStatusError
    │   │   ├── BadRequestError            400
    │   │   ├── AuthenticationError        401
    │   │   ├── PermissionDeniedError      403
    │   │   ├── NotFoundError              404
    │   │   ├── ConflictError              409
    │   │   ├── UnprocessableEntityError   422
    │   │   ├── RateLimitError             429
    │   │   └── InternalServerError        >= 500
    │   └── APIResponseValidationError
    ├── JobFailedError
    ├── JobCancelledError
    └── WaitTimeoutError

Names follow the official LlamaCloud SDK so code written against it reads the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from llamacloud_batch_api.models import BatchGetStatusResponse

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "JobCancelledError",
    "JobFailedError",
    "LlamaCloudError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
]

# Headers a server may use to identify a request in its own logs.
_REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "request-id")


class LlamaCloudError(Exception):
    """Base of every error this package raises on purpose."""


class APIError(LlamaCloudError):
    """A request to the API did not give a usable answer."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIConnectionError(APIError):
    """No HTTP response arrived: the connection failed or broke."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """The request took longer than the client's timeout."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APIStatusError(APIError):
    """The server answered with an error status (4xx or 5xx)."""

    def __init__(self, message: str, *, response: httpx.Response, body: object) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.request_id: str | None = _request_id(response.headers)


class BadRequestError(APIStatusError):
    """400: the request was malformed."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not read this job."""


class NotFoundError(APIStatusError):
    """404: no such job is visible to the key."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state."""


class UnprocessableEntityError(APIStatusError):
    """422: a parameter failed the server's validation."""


class RateLimitError(APIStatusError):
    """429: too many requests; retried after the server's `Retry-After`."""


class InternalServerError(APIStatusError):
    """Any 5xx answer."""


class APIResponseValidationError(APIError):
    """A successful answer whose body is not what the API promises."""

    def __init__(self, message: str, *, response: httpx.Response, body: object = None) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.body = body


class _JobError(LlamaCloudError):
    def __init__(self, message: str, *, job_id: str, status: BatchGetStatusResponse | None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.status = status


class JobFailedError(_JobError):
    """The job ended in the `failed` state."""


class JobCancelledError(_JobError):
    """The job ended in the `cancelled` state."""


class WaitTimeoutError(_JobError):
    """The wait's deadline passed before the job ended; the job may still be running."""

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        status: BatchGetStatusResponse | None,
        statuses: Mapping[str, BatchGetStatusResponse | None] | None = None,
    ) -> None:
        super().__init__(message, job_id=job_id, status=status)
        self.statuses: dict[str, BatchGetStatusResponse | None] = dict(
            statuses if statuses is not None else {job_id: status}
        )


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error(response: httpx.Response, *, secret: str | None = None) -> APIStatusError:
    """Builds the typed error for a 4xx/5xx response, with the server's `detail` in its message.

    Some servers and proxies quote the token they refused; `secret` (the client's own key)
    is masked wherever the server's text repeats it.
    """
    body = _body_of(response)
    cls = _STATUS_ERRORS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    reason = response.reason_phrase or "error"
    message = f"{response.status_code} {reason}"
    detail = _detail_text(body)
    if detail:
        message = f"{message}: {detail}"
    if secret:
        message = message.replace(secret, "***")
    return cls(message, response=response, body=body)


def _body_of(response: httpx.Response) -> object:
    """The decoded JSON body, or the text when the body is not JSON (an HTML error page, say)."""
    try:
        return response.json()
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; deep nesting exhausts the stack.
    except (ValueError, RecursionError):
        try:
            return response.text
        except (UnicodeDecodeError, LookupError):
            return response.content


# A long HTML page in an exception message helps nobody; keep the start of it.
_MAX_DETAIL_CHARS = 300


def _detail_text(body: object) -> str:
    """FastAPI's `detail` as one line: a string as it is, a list of problems joined by `;`."""
    if isinstance(body, Mapping):
        detail = body.get("detail")
        if isinstance(detail, str):
            text = detail
        elif isinstance(detail, list):
            text = "; ".join(_problem_text(item) for item in detail)
        elif detail is not None:
            text = str(detail)
        else:
            text = ""
    elif isinstance(body, str):
        text = " ".join(body.split())
    else:
        text = ""
    if len(text) > _MAX_DETAIL_CHARS:
        text = text[: _MAX_DETAIL_CHARS - 1] + "…"
    return text


def _problem_text(item: object) -> str:
    if isinstance(item, Mapping):
        msg = str(item.get("msg", item))
        loc = item.get("loc")
        if isinstance(loc, list) and loc:
            return f"{'.'.join(str(part) for part in loc)}: {msg}"
        return msg
    return str(item)


def _request_id(headers: httpx.Headers) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value: str | None = headers.get(name)
        if value:
            return value
    return None
