"""Polling benchmark: requests spent and completion-detection delay of wait policies on simulated
jobs, on a fake clock (issue 6, target 3). Run: python bench/bench_polling.py [--help]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import venv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast

if TYPE_CHECKING:
    import httpx
    from llamacloud_batch_api.models import BatchGetStatusResponse

HERE = Path(__file__).resolve().parent
TABLE_PATH = HERE / "results" / "polling.md"
PLOT_PATH = HERE / "polling.png"
MATPLOTLIB_PIN = "matplotlib==3.11.2"

# wait_until_done's defaults, which the target is stated for.
POLL_INTERVAL_S = 1.0
MAX_POLL_INTERVAL_S = 30.0
TIMEOUT_S = 7200.0

# The job mix the targets are measured on, and stress kinds reported beside it but not counted.
DURATIONS_S = (10.0, 60.0, 300.0, 1200.0, 3600.0)
TARGET_KINDS = ("linear", "stepwise", "late-start")
STRESS_KINDS = ("irregular", "stalling")
JOBS_PER_CELL = 40  # seeds per (kind, duration)
SEED = 20240601

# A job's true duration is drawn around its nominal one so that no policy's grid lines up with it.
DURATION_SPREAD = 0.1
# Each item takes its share of the run time, give or take this much.
ITEM_JITTER = 0.1
IRREGULAR_ITEM_JITTER = 0.6
STEPWISE_ITEMS = 7

TARGET_MEDIAN_DELAY_S = 0.5
TARGET_WORST_DELAY_S = 5.0
TARGET_REQUEST_RATIO = 0.05

Status = Literal["pending", "running", "completed"]


# -- simulated jobs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedJob:
    """A job whose state at any clock time is known: pending, then items ending one by one."""

    kind: str
    nominal_s: float
    started_s: float  # when it leaves "pending"
    item_ends_s: tuple[float, ...]  # sorted; the last one is when the job completes
    pauses: tuple[tuple[float, float], ...] = ()  # informational only: (from, to) of stalls

    @property
    def finish_s(self) -> float:
        return self.item_ends_s[-1]

    @property
    def total_items(self) -> int:
        return len(self.item_ends_s)

    def status_at(self, now_s: float) -> Status:
        if now_s >= self.finish_s:
            return "completed"
        return "running" if now_s >= self.started_s else "pending"

    def body_at(self, now_s: float) -> dict[str, object]:
        """The endpoint's JSON body as the server would send it at `now_s`."""
        status = self.status_at(now_s)
        done = _count_at_most(self.item_ends_s, now_s)
        return {
            "job": {
                "id": "job-sim",
                "job_type": "parse",
                "project_id": "project-sim",
                "status": status,
                "total_items": self.total_items,
                "processed_items": done,
                "failed_items": 0,
                "skipped_items": 0,
            },
            "progress_percentage": round(100.0 * done / self.total_items, 2),
        }


def _count_at_most(sorted_values: Sequence[float], limit: float) -> int:
    low, high = 0, len(sorted_values)
    while low < high:
        middle = (low + high) // 2
        if sorted_values[middle] <= limit:
            low = middle + 1
        else:
            high = middle
    return low


def _item_ends(
    start_s: float, run_s: float, items: int, jitter: float, rng: random.Random
) -> list[float]:
    shares = [1.0 + jitter * rng.uniform(-1.0, 1.0) for _ in range(items)]
    scale = run_s / sum(shares)
    ends, clock = [], start_s
    for share in shares:
        clock += share * scale
        ends.append(clock)
    ends[-1] = start_s + run_s  # no rounding drift: the job ends exactly at its drawn duration
    return ends


def make_job(kind: str, nominal_s: float, rng: random.Random) -> SimulatedJob:
    """One job of `kind`, lasting about `nominal_s` from submission to completion."""
    duration = nominal_s * rng.uniform(1.0 - DURATION_SPREAD, 1.0 + DURATION_SPREAD)
    many_items = max(20, min(1000, round(nominal_s / 2.0)))
    if kind == "linear":
        return SimulatedJob(
            kind, nominal_s, 0.0, tuple(_item_ends(0.0, duration, many_items, ITEM_JITTER, rng))
        )
    if kind == "stepwise":
        return SimulatedJob(
            kind, nominal_s, 0.0, tuple(_item_ends(0.0, duration, STEPWISE_ITEMS, ITEM_JITTER, rng))
        )
    if kind == "late-start":
        start = duration * rng.uniform(0.2, 0.5)
        ends = _item_ends(start, duration - start, many_items, ITEM_JITTER, rng)
        return SimulatedJob(kind, nominal_s, start, tuple(ends))
    if kind == "irregular":
        items = max(10, many_items // 10)
        ends = _item_ends(0.0, duration, items, IRREGULAR_ITEM_JITTER, rng)
        return SimulatedJob(kind, nominal_s, 0.0, tuple(ends))
    if kind == "stalling":
        # Linear, but nothing moves for a fifth of the run somewhere in its middle.
        pause = 0.2 * duration
        pause_at = rng.uniform(0.3, 0.6) * (duration - pause)
        ends = [
            end if end < pause_at else end + pause
            for end in _item_ends(0.0, duration - pause, many_items, ITEM_JITTER, rng)
        ]
        return SimulatedJob(kind, nominal_s, 0.0, tuple(ends), ((pause_at, pause_at + pause),))
    raise ValueError(f"unknown job kind {kind!r}")


def job_mix(kinds: Iterable[str], jobs_per_cell: int, seed: int) -> list[SimulatedJob]:
    rng = random.Random(seed)
    return [
        make_job(kind, nominal, rng)
        for kind in kinds
        for nominal in DURATIONS_S
        for _ in range(jobs_per_cell)
    ]


# -- policies -------------------------------------------------------------------------------------


class Policy(Protocol):
    """What the simulation loop asks of a policy; PollPlanner has this shape."""

    def observe(self, now: float, response: BatchGetStatusResponse) -> bool: ...

    def next_delay(self, now: float, deadline: float | None) -> float: ...


class FixedInterval:
    """The naive baseline: the same sleep after every poll."""

    reads_responses = False

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s

    def observe(self, now: float, response: BatchGetStatusResponse) -> bool:
        return False

    def next_delay(self, now: float, deadline: float | None) -> float:
        return self.interval_s if deadline is None else min(self.interval_s, deadline - now)


class Exponential:
    """The common SDK schedule: start at 1 s, double after every poll, cap at 5 s."""

    reads_responses = False

    def __init__(self, *, first_s: float = 1.0, factor: float = 2.0, cap_s: float = 5.0) -> None:
        self._next, self._factor, self._cap = first_s, factor, cap_s

    def observe(self, now: float, response: BatchGetStatusResponse) -> bool:
        return False

    def next_delay(self, now: float, deadline: float | None) -> float:
        delay, self._next = self._next, min(self._next * self._factor, self._cap)
        return delay if deadline is None else min(delay, deadline - now)


PROJECT = "planner (this project)"
BASELINES: dict[str, Callable[[], Policy]] = {
    "fixed 1 s": lambda: FixedInterval(1.0),
    "fixed 5 s": lambda: FixedInterval(5.0),
    "fixed 30 s": lambda: FixedInterval(30.0),
    "1 s -> 5 s exponential": Exponential,
}
REFERENCE = "fixed 1 s"


# -- running a wait -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    job: SimulatedJob
    requests: int
    delay_s: float  # from the job's completion to the poll that saw it
    poll_times_s: tuple[float, ...] = ()


def simulate(job: SimulatedJob, policy: Policy, *, keep_polls: bool = False) -> Outcome:
    """A minimal wait loop with the documented semantics: first poll at once, then the policy's
    sleep after each poll that did not show an end, a deadline `TIMEOUT_S` after the start."""
    from llamacloud_batch_api.models import BatchGetStatusResponse

    reads = getattr(policy, "reads_responses", True)
    now, requests, polls = 0.0, 0, []
    while True:
        requests += 1
        if keep_polls:
            polls.append(now)
        if job.status_at(now) == "completed":
            return Outcome(job, requests, now - job.finish_s, tuple(polls))
        if reads:
            policy.observe(now, BatchGetStatusResponse.from_dict(job.body_at(now)))
        if now >= TIMEOUT_S:
            raise RuntimeError(f"{job.kind} job of {job.nominal_s:.0f} s timed out")
        delay = policy.next_delay(now, TIMEOUT_S)
        if not (0.0 <= delay <= MAX_POLL_INTERVAL_S):
            raise RuntimeError(f"policy asked for a delay of {delay!r} s")
        now += delay


class _WaitingClient(Protocol):
    """The part of llamacloud_batch.BatchClient the real-loop driver uses."""

    def __enter__(self) -> _WaitingClient: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def wait_until_done(
        self,
        job_id: str,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> BatchGetStatusResponse: ...


class _FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def now(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        if not (0.0 <= seconds <= MAX_POLL_INTERVAL_S):
            raise RuntimeError(f"wait_until_done asked for a sleep of {seconds!r} s")
        self.now_s += seconds


def real_wait_loop_available() -> bool:
    module = importlib.import_module("llamacloud_batch")
    return callable(getattr(getattr(module, "BatchClient", None), "wait_until_done", None))


def drive_real_loop(job: SimulatedJob, seed: int, *, keep_polls: bool = False) -> Outcome:
    """`BatchClient.wait_until_done` with its defaults against a mock transport serving `job`."""
    import httpx

    client_class = cast(
        "Callable[..., _WaitingClient]", importlib.import_module("llamacloud_batch").BatchClient
    )
    clock = _FakeClock()
    polls: list[float] = []

    def serve(request: httpx.Request) -> httpx.Response:
        polls.append(clock.now_s)
        return httpx.Response(200, json=job.body_at(clock.now_s))

    # The planner inside draws its jitter from the module-level generator: seed it per job.
    random.seed(seed)
    transport = httpx.MockTransport(serve)
    with (
        httpx.Client(transport=transport, base_url="http://sim.test") as http_client,
        client_class(api_key="k", base_url="http://sim.test", http_client=http_client) as client,
    ):
        client.wait_until_done("job-sim", clock=clock.now, sleep=clock.sleep)
    kept = tuple(polls) if keep_polls else ()
    return Outcome(job, len(polls), clock.now_s - job.finish_s, kept)


def run_project(
    job: SimulatedJob, seed: int, loop: Literal["sim", "real"], *, keep_polls: bool = False
) -> Outcome:
    if loop == "real":
        return drive_real_loop(job, seed, keep_polls=keep_polls)
    from llamacloud_batch._polling import PollPlanner

    planner = PollPlanner(
        poll_interval=POLL_INTERVAL_S,
        max_poll_interval=MAX_POLL_INTERVAL_S,
        rng=random.Random(seed).random,
    )
    return simulate(job, planner, keep_polls=keep_polls)


# -- figures --------------------------------------------------------------------------------------


@dataclass
class Summary:
    requests: int = 0
    reference_requests: int = 0
    delays_s: list[float] = field(default_factory=list)

    def add(self, outcome: Outcome, reference: Outcome) -> None:
        self.requests += outcome.requests
        self.reference_requests += reference.requests
        self.delays_s.append(outcome.delay_s)

    @property
    def jobs(self) -> int:
        return len(self.delays_s)

    @property
    def ratio(self) -> float:
        return self.requests / self.reference_requests

    @property
    def median_s(self) -> float:
        return statistics.median(self.delays_s)

    @property
    def p90_s(self) -> float:
        return statistics.quantiles(self.delays_s, n=10, method="inclusive")[-1]

    @property
    def worst_s(self) -> float:
        return max(self.delays_s)


def summarise(
    outcomes: dict[str, list[Outcome]], key: Callable[[SimulatedJob], str]
) -> dict[tuple[str, str], Summary]:
    table: dict[tuple[str, str], Summary] = {}
    for policy, runs in outcomes.items():
        for outcome, reference in zip(runs, outcomes[REFERENCE], strict=True):
            table.setdefault((policy, key(outcome.job)), Summary()).add(outcome, reference)
    return table


def _row(label: str, summary: Summary) -> str:
    return (
        f"| {label} | {summary.jobs} | {summary.requests / summary.jobs:,.1f} | "
        f"{100 * summary.ratio:.1f} % | {summary.median_s:.2f} | {summary.p90_s:.2f} | "
        f"{summary.worst_s:.2f} |"
    )


HEADER = (
    "| {first} | jobs | requests per job | requests vs fixed 1 s | median delay (s) "
    "| p90 delay (s) | worst delay (s) |\n|---|---:|---:|---:|---:|---:|---:|"
)


def _duration_label(job: SimulatedJob) -> str:
    nominal = job.nominal_s
    return f"~{nominal / 60:.0f} min" if nominal >= 60 else f"~{nominal:.0f} s"


def render_tables(
    target: dict[str, list[Outcome]],
    stress: dict[str, list[Outcome]],
    loop: str,
    jobs_per_cell: int,
) -> tuple[str, bool]:
    overall = summarise(target, lambda job: "all")
    project = overall[(PROJECT, "all")]
    met = (
        project.median_s <= TARGET_MEDIAN_DELAY_S
        and project.worst_s <= TARGET_WORST_DELAY_S
        and project.ratio <= TARGET_REQUEST_RATIO
    )
    lines = [
        "# Polling benchmark",
        "",
        f"Written by `bench/bench_polling.py` (seed {SEED}, wait loop: {loop}). Fake clock;",
        "every job starts with a poll at once; defaults "
        f"poll_interval={POLL_INTERVAL_S:g} s, max_poll_interval={MAX_POLL_INTERVAL_S:g} s.",
        "Delay = time from the job's completion to the poll that saw it. Requests are summed",
        "over all jobs of a row and divided by what fixed 1 s polling spends on the same jobs,",
        "so long jobs weigh by their length, as they do in a bill.",
        "",
        f"Job mix: kinds {', '.join(TARGET_KINDS)} x nominal durations "
        f"{', '.join(f'{d:g}' for d in DURATIONS_S)} s x {jobs_per_cell} seeds;",
        f"each duration is drawn within +/-{100 * DURATION_SPREAD:.0f} % of nominal, each item's "
        f"share of the run within +/-{100 * ITEM_JITTER:.0f} %.",
        "linear: about one item per 2 s (20 to 1000 items); stepwise: "
        f"{STEPWISE_ITEMS} items, so the percentage moves",
        "in steps of 14.29; late-start: `pending` at 0 % for 20-50 % of the time, then linear.",
        "",
        "## All policies, whole target mix",
        "",
        HEADER.format(first="policy"),
        *(_row(policy, overall[(policy, "all")]) for policy in target),
        "",
        f"Targets for the planner: median <= {TARGET_MEDIAN_DELAY_S} s, worst <= "
        f"{TARGET_WORST_DELAY_S} s, requests <= {100 * TARGET_REQUEST_RATIO:.0f} % of fixed 1 s: "
        f"**{'met' if met else 'NOT met'}**.",
        "",
        "## The planner by job kind",
        "",
        HEADER.format(first="kind"),
    ]
    by_kind = summarise(target, lambda job: job.kind)
    lines += [_row(kind, by_kind[(PROJECT, kind)]) for kind in TARGET_KINDS]
    lines += ["", "## The planner by duration", "", HEADER.format(first="duration")]
    by_duration = summarise(target, _duration_label)
    labels = dict.fromkeys(_duration_label(outcome.job) for outcome in target[PROJECT])
    lines += [_row(label, by_duration[(PROJECT, label)]) for label in labels]
    if stress:
        lines += [
            "",
            "## Stress kinds (not part of the target)",
            "",
            f"irregular: a tenth as many items, each within +/-{100 * IRREGULAR_ITEM_JITTER:.0f} "
            "% of its share; stalling: linear, but nothing moves for a fifth of the run.",
            "",
            "| kind | policy | jobs | requests per job | requests vs fixed 1 s | median delay (s) "
            "| p90 delay (s) | worst delay (s) |\n|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        stress_by_kind = summarise(stress, lambda job: job.kind)
        for kind in STRESS_KINDS:
            for policy in stress:
                lines.append(_row(f"{kind} | {policy}", stress_by_kind[(policy, kind)]))
    return "\n".join(lines) + "\n", met


# -- the plot -------------------------------------------------------------------------------------


def plot_data(target: dict[str, list[Outcome]], example: Outcome) -> dict[str, object]:
    """Everything the plot shows, as JSON, so another interpreter can draw it."""
    by_duration = summarise(target, lambda job: f"{job.nominal_s:g}")
    overall = summarise(target, lambda job: "all")
    return {
        "durations_s": list(DURATIONS_S),
        "policies": list(target),
        "requests_per_job": {
            policy: [
                by_duration[(policy, f"{d:g}")].requests / by_duration[(policy, f"{d:g}")].jobs
                for d in DURATIONS_S
            ]
            for policy in target
        },
        "delays_s": {policy: sorted(overall[(policy, "all")].delays_s) for policy in target},
        "example": {
            "kind": example.job.kind,
            "finish_s": example.job.finish_s,
            "item_ends_s": list(example.job.item_ends_s),
            "started_s": example.job.started_s,
            "poll_times_s": list(example.poll_times_s),
        },
    }


def draw_plot(data: dict[str, object], path: Path) -> None:
    """Three panels: requests per job by duration, delay distribution, one job's schedule."""
    # Imported by name so the benchmark type-checks and runs where matplotlib is absent.
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    policies = cast("list[str]", data["policies"])
    durations = cast("list[float]", data["durations_s"])
    requests = cast("dict[str, list[float]]", data["requests_per_job"])
    delays = cast("dict[str, list[float]]", data["delays_s"])
    example = cast("dict[str, object]", data["example"])
    figure, (left, middle, right) = pyplot.subplots(1, 3, figsize=(16, 5), layout="constrained")
    for policy in policies:
        style = {"linewidth": 2.5, "color": "black"} if policy == PROJECT else {"alpha": 0.8}
        left.plot(durations, requests[policy], marker="o", label=policy, **style)
        ranked = delays[policy]
        share = [(index + 1) / len(ranked) for index in range(len(ranked))]
        middle.step([max(d, 1e-3) for d in ranked], share, where="post", label=policy, **style)
    left.set(
        xscale="log",
        yscale="log",
        xlabel="job duration (s)",
        ylabel="requests per job",
        title="Requests per job",
    )
    left.legend(fontsize="small")
    middle.axvline(TARGET_MEDIAN_DELAY_S, color="grey", linestyle=":")
    middle.axvline(TARGET_WORST_DELAY_S, color="grey", linestyle="--")
    middle.set(
        xscale="log",
        xlabel="completion-detection delay (s)",
        ylabel="share of jobs",
        title="Detection delay (targets: median 0.5 s, worst 5 s)",
    )
    ends = cast("list[float]", example["item_ends_s"])
    polls = cast("list[float]", example["poll_times_s"])
    right.step(
        [0.0, *ends],
        [100.0 * index / len(ends) for index in range(len(ends) + 1)],
        where="post",
        color="tab:blue",
        label="true progress",
    )
    right.vlines(polls, 0, 100, color="black", alpha=0.35, linewidth=0.8, label="planner's polls")
    right.set(
        xlabel="time (s)",
        ylabel="progress (%)",
        title=f"The planner on one {example['kind']} job ({len(polls)} polls)",
    )
    right.legend(fontsize="small", loc="upper left")
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def plot_elsewhere(data: dict[str, object], path: Path) -> None:
    """Draws with matplotlib from a cached virtual environment of its own, never the project's."""
    home = Path(tempfile.gettempdir()) / "llamacloud-batch-bench-plot"
    python = home / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.exists():
        print(f"installing {MATPLOTLIB_PIN} into {home} for the plot ...", flush=True)
        venv.create(home, with_pip=True)
        install = [str(python), "-m", "pip", "install", "--quiet", MATPLOTLIB_PIN]
        done = subprocess.run(install, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"could not install {MATPLOTLIB_PIN}; rerun with --no-plot")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(data, handle)
    subprocess.run(
        [
            str(python),
            str(Path(__file__).resolve()),
            "--plot-from",
            handle.name,
            "--plot-to",
            str(path),
        ],
        check=True,
    )
    Path(handle.name).unlink()


# -- entry point ----------------------------------------------------------------------------------


def run_mix(jobs: Sequence[SimulatedJob], loop: Literal["sim", "real"]) -> dict[str, list[Outcome]]:
    outcomes: dict[str, list[Outcome]] = {PROJECT: []}
    for index, job in enumerate(jobs):
        outcomes[PROJECT].append(run_project(job, SEED + index, loop))
    for name, make in BASELINES.items():
        outcomes[name] = [simulate(job, make()) for job in jobs]
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--loop",
        choices=("auto", "sim", "real"),
        default="auto",
        help="drive the planner through BatchClient.wait_until_done (real) or this script's "
        "own loop (sim); auto picks real once the client has it",
    )
    parser.add_argument("--jobs-per-cell", type=int, default=JOBS_PER_CELL)
    parser.add_argument("--no-plot", action="store_true", help="write the table only")
    parser.add_argument("--plot-from", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plot-to", type=Path, default=PLOT_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plot_from is not None:
        draw_plot(json.loads(args.plot_from.read_text()), args.plot_to)
        return 0

    loop: Literal["sim", "real"] = args.loop
    if args.loop == "auto":
        loop = "real" if real_wait_loop_available() else "sim"
    target_jobs = job_mix(TARGET_KINDS, args.jobs_per_cell, SEED)
    stress_jobs = job_mix(STRESS_KINDS, max(1, args.jobs_per_cell // 2), SEED + 1)
    target = run_mix(target_jobs, loop)
    stress = run_mix(stress_jobs, loop)
    table, met = render_tables(target, stress, loop, args.jobs_per_cell)
    print(table)
    TABLE_PATH.parent.mkdir(parents=True, exist_ok=True)
    TABLE_PATH.write_text(table)
    print(f"wrote {TABLE_PATH.relative_to(HERE.parent)}")

    if not args.no_plot:
        example_job = next(
            job for job in target_jobs if job.kind == "stepwise" and job.nominal_s == 1200.0
        )
        example = run_project(example_job, SEED, loop, keep_polls=True)
        data = plot_data(target, example)
        if importlib.util.find_spec("matplotlib") is not None:
            draw_plot(data, PLOT_PATH)
        else:
            plot_elsewhere(data, PLOT_PATH)
        print(f"wrote {PLOT_PATH.relative_to(HERE.parent)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
