"""Shared pieces of the benchmarks: statistics, A/B CPU timing, loopback servers, the SDK's venv.

Imports only the standard library at module level, because the official SDK's temporary
virtual environment runs this file too (`python _common.py sdk-per-call ...`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Self

HERE: Final = Path(__file__).resolve().parent
RESULTS_DIR: Final = HERE / "results"

SDK_PACKAGE: Final = "llama-cloud"
# The last release of the official SDK that has client.beta.batch.get_status.
SDK_VERSION: Final = "2.13.0"
API_PREFIX: Final = "/api/v1/beta/batch-processing/"
BENCH_API_KEY: Final = "bench-key"


# -- statistics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Median, quartiles and extremes of a sample."""

    median: float
    p25: float
    p75: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no values")
        ordered = sorted(values)
        if len(ordered) >= 2:
            p25, _, p75 = statistics.quantiles(ordered, n=4, method="inclusive")
        else:
            p25 = p75 = ordered[0]
        return cls(statistics.median(ordered), p25, p75, ordered[0], ordered[-1], len(ordered))

    def ratio_text(self) -> str:
        return (
            f"{self.median:.3f}x (IQR {self.p25:.3f}-{self.p75:.3f}, "
            f"range {self.low:.3f}-{self.high:.3f}, n={self.n})"
        )


def pairwise_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Ratio of each block to its neighbour in time, so slow drifts of the machine cancel out."""
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def cpu_per_call_blocks(
    contenders: dict[str, Callable[[], object]], *, blocks: int, calls: int, warmup: int
) -> dict[str, list[float]]:
    """Per-call CPU seconds of this process for each contender, in alternating blocks.

    Block i runs every contender once, `calls` calls each, starting with contender i mod n, so
    neither side always goes first. CPU time (user + system of the whole process) leaves out
    time spent waiting for the server, which runs in another process.
    """
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    per_call: dict[str, list[float]] = {name: [] for name in names}
    for block in range(blocks):
        order = names[block % len(names) :] + names[: block % len(names)]
        for name in order:
            call = contenders[name]
            gc.collect()
            started = time.process_time()
            for _ in range(calls):
                call()
            per_call[name].append((time.process_time() - started) / calls)
    return per_call


# -- reporting ------------------------------------------------------------------------------------


def machine_summary() -> str:
    """One line naming the interpreter and how busy the machine was (figures depend on both)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, for the terminal."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join(
        text.rstrip() for text in [line(header), line(["-" * w for w in widths]), *map(line, rows)]
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(file_name: str, markdown: str, *, quick: bool) -> Path:
    """Writes bench/results/<file_name> and returns its path; a quick run says it is one."""
    if quick:
        title, _, rest = markdown.partition("\n")
        note = "> From a `--quick` run: fewer samples than a full run, so a wider spread."
        markdown = f"{title}\n\n{note}\n{rest}"
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / file_name
    path.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    return path


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


# -- the official SDK, in a virtual environment of its own -----------------------------------------


def sdk_python(*, fresh: bool = False, log: Callable[[str], None] = print) -> Path | None:
    """The interpreter of a virtual environment holding only the official SDK, or None.

    It lives in the system's temporary folder, outside the project, and is reused by later runs
    (each script needs it; installing takes ~15 s) unless `fresh`. None when it cannot be
    installed, typically for lack of network; the reason is logged.
    """
    tag = f"{SDK_PACKAGE}-{SDK_VERSION}-py{sys.version_info.major}{sys.version_info.minor}"
    home = Path(tempfile.gettempdir()) / f"llamacloud-batch-bench-{tag}"
    python = home / "bin" / "python"
    stamp = home / ".installed"
    if stamp.exists() and python.exists() and not fresh:
        return python
    log(f"Installing {SDK_PACKAGE}=={SDK_VERSION} into a temporary virtual environment {home} ...")
    with contextlib.suppress(FileNotFoundError):
        stamp.unlink()
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(home)],
        [str(python), "-m", "pip", "install", "--quiet", f"{SDK_PACKAGE}=={SDK_VERSION}"],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log(f"Could not set up the official SDK ({exc}); its figures are left out.")
            return None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            log("Could not install the official SDK; its figures are left out:")
            for line in tail:
                log(f"  {line}")
            return None
    stamp.touch()
    return python


def sdk_per_call(
    argv: Sequence[str],
) -> None:
    """Runs inside the SDK's venv: SDK get_status vs that venv's raw httpx, A/B; prints JSON."""
    parser = argparse.ArgumentParser(prog="_common.py sdk-per-call")
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--job-id", required=True)
    parser.add_argument("--blocks", type=int, required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    args = parser.parse_args(argv)

    import httpx
    import llama_cloud  # type: ignore[import-not-found]

    sdk = llama_cloud.LlamaCloud(api_key=args.api_key, base_url=args.url, max_retries=0)
    raw = httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {args.api_key}"})
    path = API_PREFIX + args.job_id
    job_id: str = args.job_id

    def raw_call() -> object:
        response = raw.get(path)
        response.raise_for_status()
        return response.json()

    def sdk_call() -> object:
        return sdk.beta.batch.get_status(job_id)

    sdk_call()  # fails loudly here if the SDK cannot read the server's answer
    blocks = cpu_per_call_blocks(
        {"raw": raw_call, "sdk": sdk_call},
        blocks=args.blocks,
        calls=args.calls,
        warmup=args.warmup,
    )
    versions = {"httpx": httpx.__version__, "sdk": str(llama_cloud.__version__)}
    print(json.dumps({"blocks": blocks, "versions": versions}))


# -- loopback servers in child processes ----------------------------------------------------------


class ServerProcess:
    """A server started as `python _common.py <role> ...` in its own process.

    The child prints one JSON line describing itself, serves until its stdin closes, then
    prints one JSON line of statistics and exits. Own process: the client's CPU time then
    excludes the server's, and the two use both cores.
    """

    def __init__(self, role: str, *args: str, python: str = sys.executable) -> None:
        self._process = subprocess.Popen(
            [python, str(Path(__file__)), role, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=10)
            raise RuntimeError(f"the {role} server did not start (exit {self._process.returncode})")
        self.info: dict[str, object] = json.loads(line)

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def stop(self) -> dict[str, int]:
        """Stops the server; returns what it counted (empty if it did not say)."""
        assert self._process.stdin is not None and self._process.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        try:
            tail = self._process.stdout.read()
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            return {}
        lines = tail.strip().splitlines()
        counts = json.loads(lines[-1]) if lines else {}
        return {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.poll() is None:
            self.stop()


def _wait_for_stdin_eof() -> None:
    sys.stdin.read()


def _serve_sandbox() -> None:
    """The project's own Sandbox, serving the documentation's example job."""
    from llamacloud_batch.sandbox import SEED_JOB_ID, Sandbox

    with Sandbox(BENCH_API_KEY) as sandbox:
        print(
            json.dumps({"url": sandbox.url, "api_key": sandbox.api_key, "job_id": SEED_JOB_ID}),
            flush=True,
        )
        _wait_for_stdin_eof()
    print(json.dumps({}), flush=True)


@dataclass(frozen=True)
class PlannedJob:
    """A fan-out job: it is placed so that it ends at `end_s` on the machine's monotonic clock."""

    duration_s: float
    end_s: float
    total_items: int


def plan_jobs(
    count: int, *, end_s: float, min_duration_s: float, max_duration_s: float
) -> list[PlannedJob]:
    """`count` jobs of assorted lengths that all end within one second after `end_s`.

    Spread deterministically (golden-ratio steps), so every run sees the same mix: long jobs
    already under way when the wait starts, short ones barely begun.
    """
    golden = (5**0.5 - 1) / 2
    jobs = []
    for i in range(count):
        mix = (i * golden) % 1.0
        jobs.append(
            PlannedJob(
                duration_s=min_duration_s + (max_duration_s - min_duration_s) * mix,
                end_s=end_s + i / count,
                total_items=20 + int(180 * ((i * golden * golden) % 1.0)),
            )
        )
    return jobs


class _FanoutJobs:
    """The fan-out jobs' status bodies, shaped as LlamaCloud's: pending for the first tenth of
    a job's duration, then whole items at a steady pace, completed at `end_s`."""

    def __init__(self, jobs: Sequence[PlannedJob]) -> None:
        self._wall_offset_s = time.time() - time.monotonic()
        self.jobs = {f"bjb-bench-{i:05d}": job for i, job in enumerate(jobs)}

    def _timestamp(self, monotonic_s: float | None) -> str | None:
        if monotonic_s is None:
            return None
        moment = datetime.fromtimestamp(monotonic_s + self._wall_offset_s, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def body(self, job_id: str) -> dict[str, object] | None:
        job = self.jobs.get(job_id)
        if job is None:
            return None
        now = time.monotonic()
        created = job.end_s - job.duration_s
        started = created + job.duration_s / 10
        total = job.total_items
        if now >= job.end_s:
            status, handled, updated, completed = "completed", total, job.end_s, job.end_s
        elif now < started:
            status, handled, updated, completed = "pending", 0, created, None
        else:
            status, completed = "running", None
            handled = min(total, int(total * (now - started) / (job.end_s - started)))
            updated = started + handled * (job.end_s - started) / total
        return {
            "job": {
                "id": job_id,
                "job_type": "parse",
                "project_id": "proj-bench",
                "status": status,
                "total_items": total,
                "completed_at": self._timestamp(completed),
                "created_at": self._timestamp(created),
                "effective_at": self._timestamp(created if status == "pending" else started),
                "error_message": None,
                "failed_items": 0,
                "processed_items": handled,
                "skipped_items": 0,
                "started_at": self._timestamp(None if status == "pending" else started),
                "updated_at": self._timestamp(updated),
            },
            "progress_percentage": 100.0 * handled / total,
        }


class _CountingHTTPServer:
    """A minimal HTTP/1.1 keep-alive server on asyncio that counts connections and requests.

    asyncio keeps the server light when a thousand jobs are polled at once, and counting
    accepted sockets shows how many connections a client opened.
    """

    def __init__(self, api_key: str, body_for: Callable[[str], dict[str, object] | None]) -> None:
        self._auth = f"Bearer {api_key}"
        self._body_for = body_for
        self.accepted = 0
        self.open = 0
        self.peak_open = 0
        self.requests = 0
        self.completed_answers = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    def stats(self) -> dict[str, int]:
        return {
            "accepted_connections": self.accepted,
            "peak_open_connections": self.peak_open,
            "requests": self.requests,
            "terminal_answers": self.completed_answers,
        }

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.peak_open = max(self.peak_open, self.open)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            while await self._answer_one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self.open -= 1
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.close()

    async def close_connections(self) -> None:
        """Hangs up on every client, so each handler ends on end-of-file, not cancelled."""
        handlers = set(self._handlers)
        for writer in list(self._writers):
            writer.close()
        if handlers:
            await asyncio.wait(handlers, timeout=5.0)

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or "0")
        if length:
            await reader.readexactly(length)
        self.requests += 1
        path = target.split("?", 1)[0]
        status: int = 404
        body: dict[str, object] = {"detail": "Not Found"}
        if headers.get("authorization") != self._auth:
            status, body = 401, {"detail": "Invalid API key"}
        elif method == "GET" and path.startswith(API_PREFIX):
            found = self._body_for(path[len(API_PREFIX) :])
            if found is not None:
                status, body = 200, found
                job = found.get("job")
                if isinstance(job, dict) and job.get("status") in ("completed", "failed"):
                    self.completed_answers += 1
        data = json.dumps(body, separators=(",", ":")).encode()
        reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        return headers.get("connection", "").lower() != "close"


def _serve_fanout(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="_common.py fanout-server")
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--end-s", type=float, required=True, help="monotonic clock reading")
    parser.add_argument("--min-duration-s", type=float, required=True)
    parser.add_argument("--max-duration-s", type=float, required=True)
    args = parser.parse_args(argv)

    jobs = _FanoutJobs(
        plan_jobs(
            args.jobs,
            end_s=args.end_s,
            min_duration_s=args.min_duration_s,
            max_duration_s=args.max_duration_s,
        )
    )
    server = _CountingHTTPServer(BENCH_API_KEY, jobs.body)
    info: dict[str, object] = {"api_key": BENCH_API_KEY, "job_ids": list(jobs.jobs)}
    asyncio.run(_serve_until_stdin_closes(server, info))


async def _serve_until_stdin_closes(server: _CountingHTTPServer, info: dict[str, object]) -> None:
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=1024)
    port = listener.sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}", **info}), flush=True)

    def watch_stdin() -> None:
        _wait_for_stdin_eof()
        loop.call_soon_threadsafe(closed.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    async with listener:
        await closed.wait()
        listener.close()
        await server.close_connections()
    print(json.dumps(server.stats()), flush=True)


# -- entry point for child processes -------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    roles: dict[str, Callable[[], None]] = {
        "sandbox-server": _serve_sandbox,
        "fanout-server": lambda: _serve_fanout(argv[1:]),
        "sdk-per-call": lambda: sdk_per_call(argv[1:]),
    }
    if not argv or argv[0] not in roles:
        raise SystemExit(f"usage: _common.py {{{','.join(roles)}}} ...")
    roles[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
