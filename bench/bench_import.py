"""Import-time benchmark (issue 6, target 2): what one call needs from llamacloud_batch against
`import httpx` alone, and the official SDK's import, each in fresh interpreters, alternating.
Run: python bench/bench_import.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import (
    HERE,
    SDK_PACKAGE,
    SDK_VERSION,
    ServerProcess,
    Spread,
    machine_summary,
    markdown_table,
    pairwise_ratios,
    sdk_python,
    text_table,
    verdict,
    write_results,
)

TARGET_RATIO = 1.3
RESULTS_FILE = "import.md"
PROJECT_IMPORT = "from llamacloud_batch import BatchClient, BatchGetStatusResponse"
HTTPX_IMPORT = "import httpx"
SDK_IMPORT = "import llama_cloud"

# A one-shot script (or `llamacloud-batch status`): import, build a client, read one status from
# a loopback server, close. Informational, no target: it adds httpx's own client set-up (TLS
# context, certificates), which is the same for every contender and dwarfs an import.
HTTPX_FIRST_READ = """\
import httpx
with httpx.Client(base_url={url!r}, headers={{"Authorization": "Bearer {key}"}}) as client:
    response = client.get("/api/v1/beta/batch-processing/{job}")
    response.raise_for_status()
    response.json()"""
PROJECT_FIRST_READ = """\
from llamacloud_batch import BatchClient
with BatchClient(api_key={key!r}, base_url={url!r}) as client:
    client.get_status({job!r})"""
SDK_FIRST_READ = """\
import llama_cloud
with llama_cloud.LlamaCloud(api_key={key!r}, base_url={url!r}, max_retries=0) as client:
    client.beta.batch.get_status({job!r})"""

# Times the import statement alone, so the interpreter's own start-up (the same for every
# contender) does not dilute the ratio; the parent also times the whole process.
_SNIPPET = """\
import time
_started = time.perf_counter()
{statement}
print(time.perf_counter() - _started)
"""


@dataclass(frozen=True)
class Settings:
    pairs: int
    sdk_pairs: int
    importtime_runs: int


FULL = Settings(pairs=60, sdk_pairs=15, importtime_runs=7)
QUICK = Settings(pairs=10, sdk_pairs=4, importtime_runs=3)


@dataclass(frozen=True)
class Sample:
    import_s: float
    process_s: float


def child_environment(pycache: Path) -> dict[str, str]:
    """The environment for every timed interpreter: bytecode cached under `pycache`.

    An installed package has compiled bytecode, but an editable install has only what imports
    write, and PYTHONDONTWRITEBYTECODE (set in some shells and CI) stops that: the project would
    be compiled from source on every run while httpx, installed by pip, is not. A cache
    prefix outside the source tree puts every contender in the installed state after one
    warm-up run, without writing into the checkout.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run_once(python: str, statement: str, env: dict[str, str]) -> Sample:
    """One fresh interpreter importing `statement`; seconds for the import and the process."""
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", _SNIPPET.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    process_s = time.perf_counter() - started
    return Sample(float(done.stdout.strip().splitlines()[-1]), process_s)


def alternate(
    python: str, baseline: str, contender: str, pairs: int, env: dict[str, str]
) -> tuple[list[Sample], list[Sample]]:
    """`pairs` runs of each, alternating which goes first, after one warm-up run of each."""
    run_once(python, baseline, env)
    run_once(python, contender, env)
    base: list[Sample] = []
    other: list[Sample] = []
    for pair in range(pairs):
        if pair % 2:
            other.append(run_once(python, contender, env))
            base.append(run_once(python, baseline, env))
        else:
            base.append(run_once(python, baseline, env))
            other.append(run_once(python, contender, env))
    return base, other


def self_times_us(python: str, statement: str, runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median self time of each module `statement` imports, from `python -X importtime`."""
    seen: dict[str, list[int]] = defaultdict(list)
    for _ in range(runs):
        done = subprocess.run(
            [python, "-X", "importtime", "-c", statement],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, _cumulative, name = line.removeprefix("import time:").split("|")
            seen[name.strip()].append(int(self_us))
    return {name: statistics.median(values) for name, values in seen.items()}


@dataclass(frozen=True)
class Comparison:
    label: str
    baseline_label: str
    base: list[Sample]
    other: list[Sample]

    def import_ratio(self) -> Spread:
        return Spread.of(
            pairwise_ratios([s.import_s for s in self.other], [s.import_s for s in self.base])
        )

    def process_ratio(self) -> Spread:
        return Spread.of(
            pairwise_ratios([s.process_s for s in self.other], [s.process_s for s in self.base])
        )


def ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values) * 1e3:.1f} ms"


def comparison_rows(comparisons: Sequence[Comparison]) -> list[list[str]]:
    rows: list[list[str]] = []
    for comparison in comparisons:
        rows.append(
            [
                comparison.baseline_label,
                ms([s.import_s for s in comparison.base]),
                "1 (baseline)",
                ms([s.process_s for s in comparison.base]),
                "1 (baseline)",
            ]
        )
        rows.append(
            [
                comparison.label,
                ms([s.import_s for s in comparison.other]),
                comparison.import_ratio().ratio_text(),
                ms([s.process_s for s in comparison.other]),
                comparison.process_ratio().ratio_text(),
            ]
        )
    return rows


def render(
    comparisons: Sequence[Comparison],
    first_reads: Sequence[Comparison],
    contributors: Sequence[tuple[str, float]],
    settings: Settings,
    sdk_note: str,
) -> tuple[str, str]:
    header = [
        "import",
        "import time (median)",
        "vs baseline (import only)",
        "whole process (median)",
        "vs baseline (whole process)",
    ]
    rows = comparison_rows(comparisons)
    first_header = ["one-shot script", "script time (median)", "vs baseline", *header[3:]]
    first_rows = comparison_rows(first_reads)
    first_note = (
        "One-shot script: import, build a client, read one status from a loopback sandbox, "
        "close; timed inside the child from before the import to after the body is parsed. "
        "No target: httpx's own client set-up (TLS context, certificates) is in every row."
    )
    ratio = comparisons[0].import_ratio().median
    target = (
        f"Target: `{PROJECT_IMPORT}` <= {TARGET_RATIO}x `{HTTPX_IMPORT}` (import only, median "
        f"of pair ratios): {verdict(ratio <= TARGET_RATIO)} ({ratio:.3f}x)"
    )
    extra_header = ["module imported beyond httpx's own", "self time (median)"]
    extra_rows = [[name, f"{us / 1e3:.1f} ms"] for name, us in contributors]
    extra_total = sum(us for _, us in contributors)
    method = (
        f"{settings.pairs} alternating pairs of fresh interpreters ({settings.sdk_pairs} for "
        "the SDK) after one warm-up each; 'import only' is timed inside the child around the "
        "import statement, 'whole process' by the parent and includes interpreter start-up. "
        f"Module self times: median of {settings.importtime_runs} `python -X importtime` runs. "
        "Every interpreter reads bytecode from a cache warmed by the first run, as an "
        "installed package would (PYTHONDONTWRITEBYTECODE is lifted for these runs)."
    )
    notes = [sdk_note] if sdk_note else []
    summary = f"Largest of these (their self times sum to {extra_total / 1e3:.1f} ms):"
    text = "\n".join(
        [
            text_table(header, rows),
            "",
            target,
            *notes,
            "",
            text_table(first_header, first_rows),
            first_note,
            "",
            summary,
            text_table(extra_header, extra_rows),
            "",
            method,
            machine_summary(),
        ]
    )
    markdown = "\n".join(
        [
            "# Import time (issue 6, target 2)",
            "",
            "Written by `python bench/bench_import.py`; figures from the latest run.",
            "",
            markdown_table(header, rows),
            "",
            f"**{target}**",
            "",
            *[f"{note}\n" for note in notes],
            "## What a one-shot script pays",
            "",
            markdown_table(first_header, first_rows),
            "",
            first_note,
            "",
            "## What the import loads beyond httpx",
            "",
            f"Modules `{PROJECT_IMPORT}` imports that `{HTTPX_IMPORT}` does not. {summary}",
            "",
            markdown_table(extra_header, extra_rows),
            "",
            method,
            "",
            f"Machine: {machine_summary()}.",
        ]
    )
    return text, markdown


def measure(
    settings: Settings, args: argparse.Namespace, env: dict[str, str], server: ServerProcess
) -> tuple[list[Comparison], list[Comparison], list[tuple[str, float]], str]:
    python = sys.executable
    print(f"Timing `{PROJECT_IMPORT}` vs `{HTTPX_IMPORT}` ...")
    base, other = alternate(python, HTTPX_IMPORT, PROJECT_IMPORT, settings.pairs, env)
    comparisons = [Comparison("llamacloud_batch (one call's needs)", "httpx", base, other)]

    where = {"url": server.url, "key": server.info["api_key"], "job": server.info["job_id"]}
    print("Timing a one-shot status read, llamacloud_batch vs raw httpx ...")
    base, other = alternate(
        python,
        HTTPX_FIRST_READ.format(**where),
        PROJECT_FIRST_READ.format(**where),
        settings.pairs,
        env,
    )
    first_reads = [Comparison("BatchClient.get_status", "raw httpx GET + json()", base, other)]

    print("Reading -X importtime ...")
    project_modules = self_times_us(python, PROJECT_IMPORT, settings.importtime_runs, env)
    httpx_modules = self_times_us(python, HTTPX_IMPORT, settings.importtime_runs, env)
    extra = {n: us for n, us in project_modules.items() if n not in httpx_modules}
    contributors = sorted(extra.items(), key=lambda item: -item[1])[: args.top]

    sdk_note = f"{SDK_PACKAGE}=={SDK_VERSION}: skipped (--no-sdk)"
    if not args.no_sdk:
        sdk = sdk_python()
        if sdk is None:
            sdk_note = "the official SDK: not measured, it could not be installed"
        else:
            print(f"Timing `{SDK_IMPORT}` vs `{HTTPX_IMPORT}` in the SDK's venv ...")
            version = subprocess.run(
                [str(sdk), "-c", "import httpx; print(httpx.__version__)"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            sdk_base, sdk_other = alternate(
                str(sdk), HTTPX_IMPORT, SDK_IMPORT, settings.sdk_pairs, env
            )
            comparisons.append(
                Comparison(
                    f"{SDK_PACKAGE} {SDK_VERSION} (`{SDK_IMPORT}`)",
                    f"httpx {version} (SDK's venv)",
                    sdk_base,
                    sdk_other,
                )
            )
            print("Timing a one-shot status read, the SDK vs raw httpx in the SDK's venv ...")
            sdk_base, sdk_other = alternate(
                str(sdk),
                HTTPX_FIRST_READ.format(**where),
                SDK_FIRST_READ.format(**where),
                settings.sdk_pairs,
                env,
            )
            first_reads.append(
                Comparison(
                    f"{SDK_PACKAGE} {SDK_VERSION} client.beta.batch.get_status",
                    f"raw httpx {version} GET + json() (SDK's venv)",
                    sdk_base,
                    sdk_other,
                )
            )
            sdk_note = ""
    return comparisons, first_reads, contributors, sdk_note


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs (~20 s)")
    parser.add_argument("--no-sdk", action="store_true", help="skip the official SDK")
    parser.add_argument("--top", type=int, default=15, help="contributors to list")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    server = ServerProcess("sandbox-server")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-import-pycache-") as pycache:
            comparisons, first_reads, contributors, sdk_note = measure(
                settings, args, child_environment(Path(pycache)), server
            )
    finally:
        server.stop()
    text, markdown = render(comparisons, first_reads, contributors, settings, sdk_note)
    print()
    print(text)
    path = write_results(RESULTS_FILE, markdown, quick=args.quick)
    print(f"\nWrote {Path(path).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
