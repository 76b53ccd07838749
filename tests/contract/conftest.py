"""Prism (the pinned @stoplight/prism-cli that `make test` installs into node_modules) as a
loopback mock server for the contract tests, one process per mode for the whole session."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / "node_modules" / ".bin" / "prism"
# Generous: a cold node start on a loaded 2-core machine; Prism is usually up within 2 s.
STARTUP_LIMIT_S = 60.0


@dataclass(frozen=True)
class Prism:
    """A running `prism mock openapi.yaml`: where it listens and how long it took to start."""

    origin: str
    dynamic: bool
    startup_s: float
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _start(dynamic: bool, log: Path) -> Iterator[Prism]:
    if not PRISM.exists() or shutil.which("node") is None:
        pytest.skip(
            f"Prism is not installed ({PRISM.relative_to(ROOT)} or node missing): "
            "run `make test` (it runs `npm ci`) or `npm ci` first"
        )
    port = _free_port()
    args = [str(PRISM), "mock", "openapi.yaml", "--host", "127.0.0.1", "--port", str(port)]
    # --errors: a request that breaks the spec gets an error answer, never a quiet 200.
    args.append("--errors")
    if dynamic:
        # No --seed: with one, Prism answers every request with the same generated body.
        args.append("--dynamic")
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches any child
        )
    try:
        while not _listening(port):
            if process.poll() is not None:
                pytest.fail(f"Prism exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() - started > STARTUP_LIMIT_S:
                pytest.fail(f"Prism did not listen within {STARTUP_LIMIT_S} s:\n{log.read_text()}")
            time.sleep(0.05)
        yield Prism(f"http://127.0.0.1:{port}", dynamic, time.monotonic() - started, log)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    """Prism answering with the spec's examples."""
    yield from _start(False, tmp_path_factory.mktemp("prism") / "static.log")


@pytest.fixture(scope="session")
def prism_dynamic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    """Prism answering with bodies it generates from the schemas, different each request."""
    yield from _start(True, tmp_path_factory.mktemp("prism") / "dynamic.log")
