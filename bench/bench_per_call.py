"""Per-call CPU benchmark (issue 6, target 1): `BatchClient.get_status` against raw httpx and the
official SDK, timed A/B in alternating blocks on a loopback keep-alive server in another process.
Run: python bench/bench_per_call.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from _common import (
    HERE,
    SDK_PACKAGE,
    SDK_VERSION,
    ServerProcess,
    Spread,
    cpu_per_call_blocks,
    machine_summary,
    markdown_table,
    pairwise_ratios,
    sdk_python,
    text_table,
    verdict,
    write_results,
)

TARGET_RATIO = 1.08
RESULTS_FILE = "per_call.md"


@dataclass(frozen=True)
class Settings:
    blocks: int
    calls: int
    warmup: int


FULL = Settings(blocks=60, calls=200, warmup=300)
QUICK = Settings(blocks=8, calls=100, warmup=100)


@dataclass(frozen=True)
class Row:
    label: str
    per_call_s: Spread
    ratio: Spread | None  # against the raw-httpx baseline of the same process; None: it is one


def measure_project(server: ServerProcess, settings: Settings) -> tuple[list[Row], int]:
    """Raw httpx vs BatchClient, A/B in this process; also the body's size in bytes."""
    import httpx
    from llamacloud_batch import BatchClient

    api_key, job_id = str(server.info["api_key"]), str(server.info["job_id"])
    raw = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {api_key}"})
    client = BatchClient(api_key=api_key, base_url=server.url)
    path = f"/api/v1/beta/batch-processing/{job_id}"

    def raw_call() -> object:
        response = raw.get(path)
        response.raise_for_status()
        return response.json()

    def project_call() -> object:
        return client.get_status(job_id)

    # Both read the same job; a wrong answer would make the timing meaningless.
    assert client.get_status(job_id).job.id == job_id
    body = raw_call()
    assert isinstance(body, dict) and body["job"]["id"] == job_id
    body_bytes = len(raw.get(path).content)

    blocks = cpu_per_call_blocks(
        {"raw": raw_call, "project": project_call},
        blocks=settings.blocks,
        calls=settings.calls,
        warmup=settings.warmup,
    )
    client.close()
    raw.close()
    rows = [
        Row(f"raw httpx {httpx.__version__}", Spread.of(blocks["raw"]), None),
        Row(
            "llamacloud-batch BatchClient.get_status",
            Spread.of(blocks["project"]),
            Spread.of(pairwise_ratios(blocks["project"], blocks["raw"])),
        ),
    ]
    return rows, body_bytes


def measure_sdk(server: ServerProcess, settings: Settings) -> tuple[list[Row], str]:
    """Runs the same A/B inside the SDK's own venv; no rows (and the reason) when unavailable."""
    python = sdk_python()
    if python is None:
        return [], "not measured: the official SDK could not be installed"
    command = [
        str(python),
        str(HERE / "_common.py"),
        "sdk-per-call",
        f"--url={server.url}",
        f"--api-key={server.info['api_key']}",
        f"--job-id={server.info['job_id']}",
        f"--blocks={settings.blocks}",
        f"--calls={settings.calls}",
        f"--warmup={settings.warmup}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        return [], f"not measured: the SDK run failed:\n{tail}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    blocks: dict[str, list[float]] = result["blocks"]
    versions: dict[str, str] = result["versions"]
    rows = [
        Row(f"raw httpx {versions['httpx']} (SDK's venv)", Spread.of(blocks["raw"]), None),
        Row(
            f"{SDK_PACKAGE} {versions['sdk']} client.beta.batch.get_status",
            Spread.of(blocks["sdk"]),
            Spread.of(pairwise_ratios(blocks["sdk"], blocks["raw"])),
        ),
    ]
    return rows, ""


def profile_project(server: ServerProcess, calls: int) -> str:
    """cProfile of `calls` get_status calls: where the per-call time goes, by own time."""
    from llamacloud_batch import BatchClient

    job_id = str(server.info["job_id"])
    with BatchClient(api_key=str(server.info["api_key"]), base_url=server.url) as client:
        for _ in range(100):
            client.get_status(job_id)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            client.get_status(job_id)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def render(
    rows: Sequence[Row], settings: Settings, sdk_note: str, body_bytes: int
) -> tuple[str, str, bool]:
    header = ["client", "CPU per call (median of blocks)", "vs raw httpx in the same process"]

    def cells(row: Row) -> list[str]:
        ratio = "1 (baseline)" if row.ratio is None else row.ratio.ratio_text()
        return [row.label, f"{row.per_call_s.median * 1e6:.0f} us", ratio]

    table_rows = [cells(row) for row in rows]
    project = next(row for row in rows if row.label.startswith("llamacloud-batch"))
    assert project.ratio is not None
    passed = project.ratio.median <= TARGET_RATIO
    target = (
        f"Target: BatchClient.get_status <= {TARGET_RATIO:.2f}x raw httpx (median of block "
        f"ratios): {verdict(passed)} ({project.ratio.median:.3f}x)"
    )
    method = (
        f"{settings.blocks} alternating blocks of {settings.calls} calls per client after "
        f"{settings.warmup} warm-up calls; process CPU time (user + system) per call; the "
        "server (the project's Sandbox, answering the documentation's example job, a "
        f"{body_bytes}-byte body) runs in another process over one keep-alive connection. "
        "A ratio compares each block with its neighbour in time."
    )
    notes = [sdk_note] if sdk_note else []
    text = "\n".join(
        [text_table(header, table_rows), "", target, *notes, "", method, machine_summary()]
    )
    markdown = "\n".join(
        [
            "# Per-call CPU: get_status on loopback (issue 6, target 1)",
            "",
            "Written by `python bench/bench_per_call.py`; figures from the latest run.",
            "",
            markdown_table(header, table_rows),
            "",
            f"**{target}**",
            "",
            *[f"{note}\n" for note in notes],
            method,
            "",
            f"Machine: {machine_summary()}.",
        ]
    )
    return text, markdown, passed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter blocks (~15 s)")
    parser.add_argument("--no-sdk", action="store_true", help="skip the official SDK")
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of BatchClient.get_status"
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    log: Callable[[str], None] = print

    with ServerProcess("sandbox-server") as server:
        log(f"Sandbox at {server.url}; timing raw httpx vs BatchClient ...")
        rows, body_bytes = measure_project(server, settings)
        sdk_note = f"{SDK_PACKAGE}=={SDK_VERSION}: skipped (--no-sdk)"
        if not args.no_sdk:
            log(f"Timing {SDK_PACKAGE}=={SDK_VERSION} vs its own raw httpx ...")
            sdk_rows, sdk_note = measure_sdk(server, settings)
            rows += sdk_rows
        profile = profile_project(server, settings.calls * 4) if args.profile else ""

    text, markdown, _passed = render(rows, settings, sdk_note, body_bytes)
    print()
    print(text)
    if profile:
        print()
        print(profile)
    path = write_results(RESULTS_FILE, markdown, quick=args.quick)
    print(f"\nWrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
