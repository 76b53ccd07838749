"""Turns a 2xx body into the generated models, strictly: wrong shapes raise, never pass through.

The generated `from_dict` trusts the server: a counter sent as `"10"` stays a `str`, an
unparseable timestamp silently stays a `str`, a naive timestamp stays naive. This layer
runs `from_dict` and then checks every attribute against the model's own type hints, so a
field added to `openapi.yaml` is checked with no change here. Where the server is sloppy
but the meaning is clear, it is lenient instead:

- timestamps in any ISO-8601 form are made timezone-aware in UTC (no offset means UTC),
  RFC 3339's lower-case `t`/`z` included, and a leap second (`23:59:60`) reads as the
  last microsecond before it, the latest instant Python can hold there;
- an integer sent as an integral float (`10.0`, an integer in JSON Schema's terms) is an int;
- a known enum value in another letter case (`"COMPLETED"`) becomes the enum member;
- `progress_percentage` is clamped into 0..100 (a float sum may land on 100.0000001).
"""

from __future__ import annotations

import datetime
import enum
import json
import math
import re
import types
import typing
from collections.abc import Callable

import httpx
from llamacloud_batch_api.models import BatchGetStatusResponse, Job
from llamacloud_batch_api.types import Unset

from ._errors import APIResponseValidationError

__all__ = ["parse_status_response"]

_UTC = datetime.UTC

# A checker takes the attribute's value and returns the value to keep, or raises ValueError.
_Checker = Callable[[object], object]


def parse_status_response(response: httpx.Response) -> BatchGetStatusResponse:
    """The response's body as a `BatchGetStatusResponse`, or `APIResponseValidationError`."""
    try:
        payload = json.loads(response.content)
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; deep nesting exhausts the stack.
    except (ValueError, RecursionError) as exc:
        raise APIResponseValidationError(
            f"The response body is not valid JSON ({exc.__class__.__name__}).",
            response=response,
            body=_preview(response),
        ) from exc
    try:
        return parse_status_payload(payload)
    except _Invalid as exc:
        raise APIResponseValidationError(
            f"The response body does not match BatchGetStatusResponse: {exc}",
            response=response,
            body=payload,
        ) from None


def parse_status_payload(payload: object) -> BatchGetStatusResponse:
    """Parses a decoded body; raises `_Invalid` naming the first field that is wrong."""
    if not isinstance(payload, dict):
        raise _Invalid(f"expected a JSON object, got {_kind(payload)}")
    job_payload = payload.get("job")
    if not isinstance(job_payload, dict):
        raise _Invalid(f"'job' must be an object, got {_kind(job_payload)}")
    try:
        parsed = BatchGetStatusResponse.from_dict(payload)
    except KeyError as exc:
        raise _Invalid(f"missing required field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise _Invalid(str(exc)) from None
    _check_attributes(parsed.job, _job_checkers(), prefix="job.")
    parsed.progress_percentage = _check_percentage(parsed.progress_percentage)
    return parsed


class _Invalid(ValueError):
    """A field of the body is missing or of the wrong type."""


def _check_attributes(obj: object, checkers: dict[str, _Checker], *, prefix: str) -> None:
    for name, check in checkers.items():
        value = getattr(obj, name)
        try:
            checked = check(value)
        except ValueError as exc:
            raise _Invalid(f"{prefix}{name}: {exc}") from None
        if checked is not value:
            setattr(obj, name, checked)


def _check_percentage(value: object) -> float:
    try:
        number = _finite_float(value)
    except ValueError as exc:
        raise _Invalid(f"progress_percentage: {exc}") from None
    return min(100.0, max(0.0, number))


_job_checker_cache: dict[str, _Checker] = {}


def _job_checkers() -> dict[str, _Checker]:
    """One checker per `Job` attribute, derived once from the generated type hints."""
    if not _job_checker_cache:
        hints = typing.get_type_hints(Job)
        for name, hint in hints.items():
            if name != "additional_properties":
                _job_checker_cache[name] = _checker_for(hint)
    return _job_checker_cache


def _checker_for(hint: object) -> _Checker:
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    allow_missing = Unset in members
    allow_null = type(None) in members
    concrete = [m for m in members if m not in (Unset, type(None))]
    enum_type = next(
        (m for m in concrete if isinstance(m, type) and issubclass(m, enum.Enum)), None
    )
    if enum_type is not None:
        base = _open_enum_checker(enum_type)
    elif datetime.datetime in concrete:
        base = _check_timestamp
    elif concrete == [int]:
        base = _check_int
    elif concrete == [float]:
        base = _check_number
    elif concrete == [str]:
        base = _check_str
    else:  # nested models or containers: from_dict has already built them
        return lambda value: value

    def check(value: object) -> object:
        if value is None:
            if allow_null:
                return value
            raise ValueError("must not be null")
        if isinstance(value, Unset):
            if allow_missing:
                return value
            raise ValueError("is required")
        return base(value)

    return check


def _open_enum_checker(enum_type: type[enum.Enum]) -> _Checker:
    by_folded = {str(member.value).casefold(): member for member in enum_type}

    def check(value: object) -> object:
        if isinstance(value, enum_type):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {_kind(value)}")
        # An unknown value stays a str: the enum is open, and the caller decides.
        return by_folded.get(value.strip().casefold(), value)

    return check


def _check_timestamp(value: object) -> datetime.datetime:
    if isinstance(value, str):
        # from_dict leaves a string it could not parse as it was.
        value = _parse_rfc3339_rest(value)
    if not isinstance(value, datetime.datetime):
        raise ValueError(f"expected an ISO-8601 date-time, got {_kind(value)}")
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    if value.utcoffset() == datetime.timedelta(0):
        return value
    try:
        return value.astimezone(_UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC, before datetime.min
        raise ValueError(f"{value.isoformat()} is out of datetime's range in UTC") from None


# The seconds of a leap second, with any fraction, where fromisoformat wants 00..59.
_LEAP_SECOND = re.compile(r"(?<=[T ]\d\d:\d\d:)60(\.\d+)?")


def _parse_rfc3339_rest(text: str) -> datetime.datetime:
    """The RFC 3339 forms `fromisoformat` refuses: lower-case `t`/`z` and leap seconds."""
    upper = text.strip().upper()
    folded = _LEAP_SECOND.sub("59.999999", upper, count=1)
    try:
        return datetime.datetime.fromisoformat(folded)
    except ValueError:
        raise ValueError(f"expected an ISO-8601 date-time, got {_short(text)}") from None


# Every integer in openapi.yaml is an int64; a larger one is not what the API promises, and
# would overflow the float arithmetic of anyone estimating progress from the counters.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _check_int(value: object) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema's integer: 10.0 is one
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {_kind(value)}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"{_short(value)} is outside the int64 range")
    return value


def _check_number(value: object) -> float:
    return _finite_float(value)


def _finite_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer literal too long for a float
        raise ValueError(f"{_short(value)} is too large for a float") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {number!r}")
    return number


def _check_str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"a string {_short(value)}"
    return type(value).__name__


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _preview(response: httpx.Response) -> object:
    content = response.content
    return content[:500] if len(content) > 500 else content
