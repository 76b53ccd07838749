"""Client settings: defaults, environment variables and argument checks, resolved once."""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Mapping

import httpx

from ._errors import LlamaCloudError
from ._version import __version__

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "EU_BASE_URL", "Settings", "resolve_settings"]

DEFAULT_BASE_URL = "https://api.cloud.llamaindex.ai"
EU_BASE_URL = "https://api.cloud.eu.llamaindex.ai"

API_KEY_ENV = "LLAMA_CLOUD_API_KEY"
LEGACY_API_KEY_ENV = "LLAMA_PARSE_API_KEY"
BASE_URL_ENV = "LLAMA_CLOUD_BASE_URL"
PROJECT_ID_ENV = "LLAMA_CLOUD_PROJECT_ID"
ORGANIZATION_ID_ENV = "LLAMA_CLOUD_ORGANIZATION_ID"

# As the official SDK: a minute for the whole exchange, but give up connecting after 5 s.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2


class Settings:
    """Everything a client needs, checked and read-only; `repr` leaves the key out.

    A plain class, not attrs or dataclasses: building one of those classes costs more at
    import than a status read should pay (see bench/results/import.md).
    """

    __slots__ = ("api_key", "base_url", "max_retries", "organization_id", "project_id", "timeout")

    api_key: str
    base_url: str
    project_id: str | None
    organization_id: str | None
    timeout: httpx.Timeout
    max_retries: int

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        project_id: str | None,
        organization_id: str | None,
        timeout: httpx.Timeout,
        max_retries: int,
    ) -> None:
        self._assign(
            {
                "api_key": api_key,
                "base_url": base_url,
                "project_id": project_id,
                "organization_id": organization_id,
                "timeout": timeout,
                "max_retries": max_retries,
            }
        )

    def _assign(self, values: Mapping[str, object]) -> None:
        # The one way in past the read-only __setattr__.
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Settings are read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Settings are read-only: cannot delete {name!r}")

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        # copy and pickle restore the slots through here.
        self._assign(state[1])

    def __repr__(self) -> str:
        return (
            f"Settings(base_url={self.base_url!r}, project_id={self.project_id!r}, "
            f"organization_id={self.organization_id!r}, max_retries={self.max_retries})"
        )


def resolve_settings(
    *,
    api_key: str | None,
    base_url: str | None,
    project_id: str | None,
    organization_id: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Fills each argument left `None` from the environment, then checks them all."""
    env = os.environ if environ is None else environ
    if api_key is not None and not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
    key = (
        api_key if api_key is not None else _env(env, API_KEY_ENV) or _env(env, LEGACY_API_KEY_ENV)
    )
    if key is None or not key.strip():
        raise LlamaCloudError(
            f"No API key: pass api_key=... or set the {API_KEY_ENV} environment variable."
        )
    if not (key.isascii() and key.strip().isprintable()):
        # Such a key cannot travel in an Authorization header; the message must not echo it.
        raise LlamaCloudError(
            "The API key contains characters an HTTP header cannot carry "
            "(non-ASCII, a line break or another control character)."
        )
    url = base_url if base_url is not None else _env(env, BASE_URL_ENV) or DEFAULT_BASE_URL
    return Settings(
        api_key=key.strip(),
        base_url=_check_base_url(url),
        project_id=project_id if project_id is not None else _env(env, PROJECT_ID_ENV),
        organization_id=(
            organization_id if organization_id is not None else _env(env, ORGANIZATION_ID_ENV)
        ),
        timeout=_coerce_timeout(timeout),
        max_retries=_check_max_retries(max_retries),
    )


@functools.cache
def user_agent() -> str:
    # From sys, not platform: importing platform costs more than the rest of this module.
    implementation = sys.implementation.name
    python = "{}.{}.{}".format(*sys.version_info[:3])
    return f"llamacloud-batch/{__version__} httpx/{httpx.__version__} {implementation}/{python}"


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


def _check_base_url(url: str) -> str:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"base_url is not a valid URL: {url!r}") from exc
    if parsed.port is not None and not 0 < parsed.port < 65536:  # httpx does not check
        raise ValueError(f"base_url has a port outside 1..65535: {url!r}")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an http:// or https:// URL with a host, not {url!r}")
    if parsed.query or parsed.fragment:
        raise ValueError(f"base_url must not carry a query or fragment: {url!r}")
    return str(parsed).rstrip("/")


def _coerce_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(
            f"timeout must be seconds or an httpx.Timeout, not {type(timeout).__name__}"
        )
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return httpx.Timeout(float(timeout))


def _check_max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be a whole number >= 0, not {max_retries!r}")
    return max_retries
