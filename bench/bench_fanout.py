"""Fan-out benchmark (issue 6, target 4): `AsyncBatchClient.wait_all` on 1,000 jobs that all end
within a second of each other, against a naive raw-httpx gather that polls every second.
Run: python bench/bench_fanout.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import (
    API_PREFIX,
    HERE,
    ServerProcess,
    machine_summary,
    markdown_table,
    plan_jobs,
    text_table,
    verdict,
    write_results,
)

RESULTS_FILE = "fanout.md"
# wait_all's default, which the target is stated for; the benchmark passes no poll arguments.
MAX_POLL_INTERVAL_S = 30.0
TARGET_DELAY_S = MAX_POLL_INTERVAL_S + 0.5
TARGET_MEMORY_MIB = 64.0
# httpx's default pool limit, which AsyncBatchClient keeps.
POOL_LIMIT = 100
TERMINAL = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Settings:
    jobs: int
    # Seconds from the start of the wait until the first job ends; jobs last between these.
    first_end_in_s: float
    min_duration_s: float
    max_duration_s: float


FULL = Settings(jobs=1000, first_end_in_s=20.0, min_duration_s=20.0, max_duration_s=40.0)
QUICK = Settings(jobs=200, first_end_in_s=8.0, min_duration_s=8.0, max_duration_s=16.0)


# -- the clients under test, each run in a fresh process so its peak memory is its own ------------


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _project_wait_all(url: str, api_key: str, ids: list[str]) -> int:
    from llamacloud_batch import AsyncBatchClient

    async with AsyncBatchClient(api_key=api_key, base_url=url) as client:
        results = await client.wait_all(ids)
    return sum(1 for r in results.values() if str(getattr(r.job.status, "value", "")) in TERMINAL)


async def _httpx_gather(url: str, api_key: str, ids: list[str]) -> int:
    """What one might write by hand: a task per job polling every second until it ends, with a
    semaphore at the pool's size (without it, a thousand queued requests hit httpx's pool
    timeout on a busy machine) and errors retried on the next tick."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"}
    gate = asyncio.Semaphore(POOL_LIMIT)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60.0) as http:

        async def wait(job_id: str) -> str:
            while True:
                try:
                    async with gate:
                        response = await http.get(API_PREFIX + job_id)
                    response.raise_for_status()
                    status = str(response.json()["job"]["status"])
                except httpx.HTTPError:
                    status = "error"
                if status in TERMINAL:
                    return status
                await asyncio.sleep(1.0)

        statuses = await asyncio.gather(*(wait(job_id) for job_id in ids))
    return len(statuses)


def client_main(argv: Sequence[str]) -> None:
    """Child process: waits for every job with one client, prints JSON figures."""
    parser = argparse.ArgumentParser(prog="bench_fanout.py client")
    parser.add_argument("kind", choices=["project", "httpx"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args(argv)
    ids: list[str] = json.loads(sys.stdin.read())
    # Everything imported before the baseline, so the delta is the wait's own memory.
    import httpx  # noqa: F401
    import llamacloud_batch  # noqa: F401

    waiter = _project_wait_all if args.kind == "project" else _httpx_gather
    rss_before = _max_rss_mib()
    if args.tracemalloc:
        tracemalloc.start()
    started = time.monotonic()
    ended_ok = asyncio.run(waiter(args.url, args.api_key, ids))
    returned_at = time.monotonic()
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "started_at": started,
                "returned_at": returned_at,
                "ended": ended_ok,
                "rss_before_mib": rss_before,
                "rss_peak_mib": _max_rss_mib(),
                "traced_peak_mib": traced_peak,
                "cpu_s": cpu.ru_utime + cpu.ru_stime,
            }
        )
    )


# -- the orchestration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    label: str
    jobs: int
    ended: int
    delay_s: float  # from the last job's end to the wait's return
    wall_s: float
    cpu_s: float
    rss_delta_mib: float
    rss_peak_mib: float
    traced_peak_mib: float | None
    requests: int
    accepted_connections: int
    peak_open_connections: int


def run_one(kind: str, label: str, settings: Settings, *, trace: bool) -> Outcome | None:
    """Runs one client against fresh jobs; None (after printing why) when the client failed."""
    # Jobs are placed on the machine's monotonic clock, which server and client share.
    end_s = time.monotonic() + settings.first_end_in_s
    server = ServerProcess(
        "fanout-server",
        f"--jobs={settings.jobs}",
        f"--end-s={end_s}",
        f"--min-duration-s={settings.min_duration_s}",
        f"--max-duration-s={settings.max_duration_s}",
    )
    with server:
        ids = server.info["job_ids"]
        assert isinstance(ids, list)
        command = [
            sys.executable,
            str(Path(__file__)),
            "client",
            kind,
            f"--url={server.url}",
            f"--api-key={server.info['api_key']}",
            *(["--tracemalloc"] if trace else []),
        ]
        done = subprocess.run(
            command, input=json.dumps(ids), capture_output=True, text=True, check=False
        )
        stats = server.stop()
    if done.returncode != 0:
        print(f"The {kind} client failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    last_end = max(
        job.end_s
        for job in plan_jobs(
            settings.jobs,
            end_s=end_s,
            min_duration_s=settings.min_duration_s,
            max_duration_s=settings.max_duration_s,
        )
    )
    return Outcome(
        label=label,
        jobs=settings.jobs,
        ended=int(figures["ended"]),
        delay_s=float(figures["returned_at"]) - last_end,
        wall_s=float(figures["returned_at"]) - float(figures["started_at"]),
        cpu_s=float(figures["cpu_s"]),
        rss_delta_mib=float(figures["rss_peak_mib"]) - float(figures["rss_before_mib"]),
        rss_peak_mib=float(figures["rss_peak_mib"]),
        traced_peak_mib=figures["traced_peak_mib"],
        requests=int(stats.get("requests", -1)),
        accepted_connections=int(stats.get("accepted_connections", -1)),
        peak_open_connections=int(stats.get("peak_open_connections", -1)),
    )


def render(outcomes: Sequence[Outcome], settings: Settings) -> tuple[str, str]:
    header = [
        "client",
        "jobs ended",
        "return after last end",
        "wall",
        "client CPU",
        "requests",
        "connections opened (peak open)",
        "peak RSS growth (peak RSS)",
        "tracemalloc peak",
    ]
    rows = [
        [
            o.label,
            f"{o.ended}/{o.jobs}",
            f"{o.delay_s:.2f} s",
            f"{o.wall_s:.1f} s",
            f"{o.cpu_s:.1f} s",
            f"{o.requests}",
            f"{o.accepted_connections} ({o.peak_open_connections})",
            f"{o.rss_delta_mib:.1f} MiB ({o.rss_peak_mib:.0f} MiB)",
            "-" if o.traced_peak_mib is None else f"{o.traced_peak_mib:.1f} MiB",
        ]
        for o in outcomes
    ]
    project = outcomes[0]
    memory = project.rss_delta_mib
    if project.traced_peak_mib is not None:
        memory = max(memory, project.traced_peak_mib)
    checks = [
        (
            f"returns within max_poll_interval + 0.5 s = {TARGET_DELAY_S:g} s of the last end",
            project.ended == project.jobs and project.delay_s <= TARGET_DELAY_S,
            f"{project.delay_s:.2f} s",
        ),
        (
            f"peak memory under {TARGET_MEMORY_MIB:g} MiB",
            memory < TARGET_MEMORY_MIB,
            f"{memory:.1f} MiB",
        ),
        (
            f"connections open at once <= pool limit {POOL_LIMIT}",
            project.peak_open_connections <= POOL_LIMIT,
            f"{project.peak_open_connections} at most; {project.accepted_connections} opened "
            "in all",
        ),
    ]
    target_lines = [
        f"Target: wait_all {what}: {verdict(ok)} ({value})" for what, ok, value in checks
    ]
    method = (
        f"{settings.jobs} jobs lasting {settings.min_duration_s:g}-{settings.max_duration_s:g} s "
        f"(whole items, pending for the first tenth), placed so that they end one after another "
        f"within one second, the first {settings.first_end_in_s:g} s after the wait starts. "
        "wait_all runs with its defaults. Server: a counting asyncio HTTP/1.1 keep-alive "
        "server in its own process; each client runs in a fresh process, so "
        "'peak RSS growth' is the wait's own (ru_maxrss after minus before, imports done). "
        "tracemalloc (Python allocations only) is measured only when asked (--tracemalloc), "
        "because it slows the client down. 'connections opened' counts every connection the "
        "server accepted; beyond the pool limit it means connections were closed and opened "
        "again (httpx closes one idle for 5 s)."
    )
    text = "\n".join([text_table(header, rows), "", *target_lines, "", method, machine_summary()])
    markdown = "\n".join(
        [
            "# Fan-out: AsyncBatchClient.wait_all on many jobs (issue 6, target 4)",
            "",
            "Written by `python bench/bench_fanout.py`; figures from the latest run.",
            "",
            markdown_table(header, rows),
            "",
            *[f"- **{line}**" for line in target_lines],
            "",
            method,
            "",
            f"Machine: {machine_summary()}.",
        ]
    )
    return text, markdown


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["client"]:
        client_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 jobs over ~10 s each")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the raw httpx gather baseline"
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace Python allocations (slower)"
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL

    runs = [("project", "llamacloud-batch AsyncBatchClient.wait_all (defaults)")]
    if not args.no_baseline:
        runs.append(("httpx", "raw httpx, gather + semaphore(100), poll every 1 s"))
    outcomes = []
    for kind, label in runs:
        print(f"Running {label} on {settings.jobs} jobs ...")
        outcome = run_one(kind, label, settings, trace=args.tracemalloc)
        if outcome is None and kind == "project":
            return 1
        if outcome is not None:
            outcomes.append(outcome)
    print("The official SDK has no wait helper for batch jobs; it is left out.")

    text, markdown = render(outcomes, settings)
    print()
    print(text)
    path = write_results(RESULTS_FILE, markdown, quick=args.quick)
    print(f"\nWrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
