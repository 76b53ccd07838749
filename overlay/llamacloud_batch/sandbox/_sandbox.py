"""The Sandbox object that runs the server in a background thread, and the foreground runner."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Final, Self

from ._faults import FaultPicker, Faults
from ._http import JOBS_PATH, SandboxHTTPServer
from ._jobs import SEED_JOB_ID, JobBoard, JobSpec, Outcome, utc_now

DEFAULT_API_KEY: Final = "sandbox-key"
# How often the serving loop checks for stop(): bounds how long stopping takes.
_STOP_POLL_S: Final = 0.05


class Sandbox:
    """A local stand-in for LlamaCloud's batch status endpoint, served on loopback from a
    background thread while running (`with Sandbox() as sandbox:` or start()/stop()).

    `clock` (monotonic seconds) drives job progress and `wall_clock` (aware datetime) dates
    jobs; replace both to step through a job's life without waiting. Jobs outlive a restart.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        # It travels in a header: no spaces or control characters.
        if not api_key or not api_key.isprintable() or " " in api_key:
            raise ValueError("api_key must be a non-empty string without spaces")
        self._api_key = api_key
        self._address = (host, port)
        self._board = JobBoard(clock=clock, wall_clock=wall_clock)
        self._faults = FaultPicker(faults or Faults())
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<Sandbox {where}>"

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def url(self) -> str:
        """Base URL to give a client, such as http://127.0.0.1:54321."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() or use `with`")
        host, port = self._server.server_name, self._server.server_port
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def faults(self) -> Faults:
        """The faults injected into API requests; a new value applies from the next request
        on, restarting its seeded sequence."""
        return self._faults.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults.faults = faults

    def add_job(
        self,
        *,
        total_items: int,
        duration: float,
        outcome: Outcome = "completed",
        job_type: str = "parse",
        failed_items: int = 0,
        skipped_items: int = 0,
        error_message: str | None = None,
    ) -> str:
        """Places a job that goes pending -> running -> `outcome` over `duration` seconds and
        ends with the given failed and skipped counts; returns its id (bjb-<uuid4>).
        Raises ValueError on an invalid argument."""
        spec = JobSpec(
            total_items=total_items,
            duration=duration,
            outcome=outcome,
            job_type=job_type,
            failed_items=failed_items,
            skipped_items=skipped_items,
            error_message=error_message,
        )
        return self._board.add(spec)

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        server = SandboxHTTPServer(
            self._address, api_key=self._api_key, board=self._board, faults=self._faults
        )
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _STOP_POLL_S},
            name="llamacloud-sandbox",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stops serving, closes every connection and the listening socket, and joins the
        threads. Does nothing when not running."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def add_demo_jobs(sandbox: Sandbox) -> dict[str, str]:
    """Adds one job per outcome, the longest lasting 15 s; returns {job id: description}."""
    jobs = {
        sandbox.add_job(total_items=40, duration=15.0, skipped_items=2): (
            "parse, 40 items, completes in 15 s"
        ),
        sandbox.add_job(
            total_items=25,
            duration=10.0,
            outcome="failed",
            job_type="extract",
            failed_items=4,
            error_message="Extraction schema rejected 4 documents",
        ): "extract, 25 items, fails after 10 s",
        sandbox.add_job(total_items=30, duration=8.0, outcome="cancelled", job_type="classify"): (
            "classify, 30 items, cancelled after 8 s"
        ),
    }
    return jobs


def _print_now(line: str) -> None:
    print(line, flush=True)  # reaches a pipe (tee, CI logs) before the long wait


def run_sandbox(
    *,
    port: int = 0,
    api_key: str = DEFAULT_API_KEY,
    host: str = "127.0.0.1",
    print_fn: Callable[[str], None] = _print_now,
    stop: threading.Event | None = None,
) -> None:
    """Serves a sandbox with demo jobs in the foreground, printing how to reach it, until
    `stop` is set or Ctrl-C (the KeyboardInterrupt propagates, after a clean stop)."""
    with Sandbox(api_key, host=host, port=port) as sandbox:
        jobs = add_demo_jobs(sandbox)
        print_fn(f"LlamaCloud batch sandbox (local, not the real service) at {sandbox.url}")
        print_fn(f"  export LLAMA_CLOUD_BASE_URL={sandbox.url}")
        print_fn(f"  export LLAMA_CLOUD_API_KEY={sandbox.api_key}")
        print_fn("Jobs:")
        for job_id, description in jobs.items():
            print_fn(f"  {job_id}  {description}")
        print_fn(f"  {SEED_JOB_ID}  the documentation's example, always pending")
        print_fn(
            f"Add jobs: curl -X POST {sandbox.url}{JOBS_PATH} "
            f"-H 'Authorization: Bearer {sandbox.api_key}' "
            """-d '{"total_items": 10, "duration": 30}'"""
        )
        print_fn("Press Ctrl-C to stop.")
        (stop or threading.Event()).wait()
