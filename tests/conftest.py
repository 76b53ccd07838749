"""Suite-wide guard: tests reach nothing beyond loopback, whatever a bug in them asks for."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: object) -> bool:
    if host in (None, "localhost", b"localhost"):
        return True
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return ipaddress.ip_address(text.strip("[]")).is_loopback
    except ValueError:
        return False


def _loopback_only(host: object, *args: object, **kwargs: object) -> object:
    if not _is_loopback(host):
        raise OSError(f"tests may reach loopback only; refused to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only)
    yield
