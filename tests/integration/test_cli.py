"""The `llamacloud-batch` command run for real, as a subprocess, against loopback servers: every
exit code, the output modes (plain lines, NDJSON, quiet, the live display on a pseudo-terminal),
bad input of every kind, Ctrl-C, `demo` and `sandbox`; and the key never printed."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

import httpx
import pytest
from llamacloud_batch.sandbox import Sandbox

KEY = "llx-cli-test-Zq8v3-distinctive-key"
PREFIX = "llamacloud-batch: error: "
LIFECYCLE = ("pending", "running", "completed", "failed", "cancelled")
# Fast polls; the planner may still stretch them while a job is far from its end.
FAST = ("--interval", "0.1")
HIDE_CURSOR, SHOW_CURSOR = b"\x1b[?25l", b"\x1b[?25h"


# -- running the CLI ------------------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    """This process's environment without any LlamaCloud setting, plus `extra`. Without
    PYTHONUNBUFFERED too: output must reach a pipe line by line because the CLI flushes it."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LLAMA_CLOUD_", "LLAMA_PARSE_")) and name != "PYTHONUNBUFFERED"
    }
    env.update(extra)
    return env


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(*args: str, env: Mapping[str, str] | None = None, timeout_s: float = 30.0) -> Run:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "llamacloud_batch", *args],
        env=dict(env) if env is not None else cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    run = Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
    assert_nothing_leaked(run.stdout + run.stderr)
    return run


def assert_nothing_leaked(output: str) -> None:
    assert KEY not in output
    assert "Traceback" not in output


def assert_one_error_line(run: Run, *fragments: str) -> None:
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(PREFIX), run.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(api_key=KEY) as running:
        yield running


@pytest.fixture
def env(sandbox: Sandbox) -> dict[str, str]:
    return cli_env(LLAMA_CLOUD_API_KEY=KEY, LLAMA_CLOUD_BASE_URL=sandbox.url)


def quick_job(sandbox: Sandbox, outcome: str = "completed", **kwargs: object) -> str:
    spec: dict[str, object] = {"total_items": 6, "duration": 0.6, "outcome": outcome}
    spec.update(kwargs)
    return sandbox.add_job(**spec)  # type: ignore[arg-type]


@contextlib.contextmanager
def watchdog(proc: subprocess.Popen[str], seconds: float) -> Iterator[None]:
    """Kills `proc` if the block takes longer, so a blocked read ends instead of hanging."""
    timer = threading.Timer(seconds, proc.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- a stdlib server for answers the sandbox never gives ------------------------------------------


def _canned_body(job_id: str, status: str, error_message: str | None) -> bytes:
    job = {
        "id": job_id,
        "job_type": "parse",
        "project_id": "proj-1",
        "status": status,
        "total_items": 4,
        "processed_items": 2,
        "failed_items": 0,
        "skipped_items": 0,
        "error_message": error_message,
    }
    return json.dumps({"job": job, "progress_percentage": 50.0}).encode()


class _OddHandler(BaseHTTPRequestHandler):
    """Answers by job id: `broken` 500 with an HTML page, `garbage` 200 with a body that is not
    JSON, `odd` a valid body with an unknown status and terminal escapes in its strings."""

    def do_GET(self) -> None:
        job_id = self.path.split("?")[0].rsplit("/", 1)[-1]
        if job_id == "broken":
            self._answer(500, b"<html><body>Internal error</body></html>", "text/html")
        elif job_id == "garbage":
            self._answer(200, b"{not json", "application/json")
        elif job_id == "odd":
            body = _canned_body("odd", "paused\x1b[2J", "bad \x1b[31mred\x07 news")
            self._answer(200, body, "application/json")
        else:
            self._answer(404, b'{"detail": "Batch job not found"}', "application/json")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def odd_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OddHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- help, version, import cost -------------------------------------------------------------------


def test_importing_the_package_or_the_cli_does_not_import_rich() -> None:
    code = (
        "import sys, llamacloud_batch; a = 'rich' in sys.modules; "
        "import llamacloud_batch.cli; print(a, 'rich' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=cli_env()
    )
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("command", [(), ("wait",)])
def test_help_documents_every_exit_code(command: tuple[str, ...]) -> None:
    run = run_cli(*command, "--help")
    assert run.code == 0
    for code, meaning in [
        ("0", "completed"),
        ("1", "failed"),
        ("3", "cancelled"),
        ("4", "timed out"),
        ("5", "API or network error"),
        ("2", "usage or configuration error"),
        ("130", "interrupted"),
    ]:
        assert re.search(rf"^\s+{code}\s+.*{meaning}", run.stdout, re.MULTILINE), code
    assert "worst first: 5, 4, 1, 3, 0" in run.stdout
    assert "LLAMA_CLOUD_API_KEY" in run.stdout


def test_version() -> None:
    from llamacloud_batch import __version__

    run = run_cli("--version")
    assert (run.code, run.stdout.strip()) == (0, f"llamacloud-batch {__version__}")


# -- exit codes of `wait` -------------------------------------------------------------------------


@pytest.mark.parametrize(("outcome", "code"), [("completed", 0), ("failed", 1), ("cancelled", 3)])
def test_wait_exit_code_follows_the_outcome(
    sandbox: Sandbox, env: dict[str, str], outcome: str, code: int
) -> None:
    job_id = quick_job(sandbox, outcome, error_message="three pages were unreadable")
    run = run_cli("wait", job_id, *FAST, env=env)
    assert run.code == code, run.stderr
    assert run.stderr == ""
    last = [line for line in run.stdout.splitlines() if line.startswith(job_id)][-1]
    assert f"{job_id}: {outcome} " in last
    if outcome != "completed":
        assert last.endswith(" - three pages were unreadable")
    assert run.stdout.splitlines()[-1] == f"1 job: 1 {outcome}"


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        (["completed", "cancelled"], 3),
        (["cancelled", "failed", "completed"], 1),
        (["completed", "failed", "unfinished"], 4),
        (["failed", "unfinished", "missing"], 5),
    ],
)
def test_wait_on_several_jobs_exits_with_the_worst_outcome(
    sandbox: Sandbox, env: dict[str, str], outcomes: list[str], code: int
) -> None:
    ids = []
    for outcome in outcomes:
        if outcome == "missing":
            ids.append("bjb-no-such-job")
        elif outcome == "unfinished":
            ids.append(sandbox.add_job(total_items=5, duration=60.0))
        else:
            ids.append(quick_job(sandbox, outcome))
    run = run_cli("wait", *ids, *FAST, "--timeout", "1.5", env=env)
    assert run.code == code, run.stderr
    if code in (4, 5):
        assert_one_error_line(run)
    else:
        assert run.stderr == ""


def test_wait_timeout_exits_4_naming_the_unfinished_job(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    job_id = sandbox.add_job(total_items=5, duration=60.0)
    run = run_cli("wait", job_id, *FAST, "--timeout", "0.5", env=env)
    assert run.code == 4
    assert_one_error_line(run, "stopped waiting after 0.5 s", job_id)
    assert run.seconds < 10


def test_wait_on_an_unknown_job_exits_5(env: dict[str, str]) -> None:
    run = run_cli("wait", "bjb-unknown", *FAST, env=env)
    assert run.code == 5
    assert_one_error_line(run, "job bjb-unknown", "404")


def test_an_unknown_job_does_not_hide_the_others_outcomes(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    done, failed = quick_job(sandbox), quick_job(sandbox, "failed")
    run = run_cli("wait", done, "bjb-unknown", failed, *FAST, env=env)
    assert run.code == 5
    assert_one_error_line(run, "job bjb-unknown", "404")
    # Off a terminal, each job's ending is a line of its own before the error.
    assert f"{done}: completed" in run.stdout
    assert f"{failed}: failed" in run.stdout


def test_a_wrong_key_exits_5_without_echoing_any_key(sandbox: Sandbox) -> None:
    job_id = quick_job(sandbox)
    env = cli_env(LLAMA_CLOUD_API_KEY="not-the-key", LLAMA_CLOUD_BASE_URL=sandbox.url)
    for command in (["status", job_id], ["wait", job_id, *FAST]):
        run = run_cli(*command, env=env)
        assert run.code == 5
        assert_one_error_line(run, "401")
        assert "not-the-key" not in run.stderr


@pytest.mark.parametrize("command", [["status", "bjb-1"], ["wait", "bjb-1", "--timeout", "1"]])
def test_an_unreachable_api_exits_5_quickly(command: list[str]) -> None:
    env = cli_env(LLAMA_CLOUD_API_KEY=KEY)
    run = run_cli("--base-url", f"http://127.0.0.1:{closed_port()}", *command, env=env)
    assert run.code == 5
    assert_one_error_line(run)
    assert run.seconds < 10


@pytest.mark.parametrize(("job_id", "fragment"), [("broken", "500"), ("garbage", "not valid JSON")])
@pytest.mark.parametrize("command", ["status", "wait"])
def test_server_errors_and_garbage_exit_5(
    odd_server: str, command: str, job_id: str, fragment: str
) -> None:
    env = cli_env(LLAMA_CLOUD_API_KEY=KEY, LLAMA_CLOUD_BASE_URL=odd_server)
    extra = ["--timeout", "1", *FAST] if command == "wait" else []
    run = run_cli(command, job_id, *extra, env=env)
    assert run.code == 5
    assert_one_error_line(run)
    if command == "status" or job_id == "garbage":
        assert fragment.lower() in run.stderr.lower()


# -- bad input: one line, exit 2 ------------------------------------------------------------------


class Bad(NamedTuple):
    args: list[str]
    env: dict[str, str]  # beyond a key and an unreachable base URL
    fragment: str  # of the message
    alone: bool = False  # also run as a command of its own


BAD_INPUT = [
    Bad([], {}, "COMMAND", alone=True),
    Bad(["frobnicate"], {}, "invalid choice"),
    Bad(["--bogus", "status", "x"], {}, "--bogus"),
    Bad(["status"], {}, "JOB_ID"),
    Bad(["status", "x", "y"], {}, "unrecognized arguments"),
    Bad(["status", ""], {}, "job_id"),
    Bad(["status", "  "], {}, "job_id"),
    Bad(["wait", "x", ".."], {}, "job_id"),
    Bad(["wait"], {}, "JOB_ID"),
    Bad(["wait", "x", "--timeout", "-1"], {}, "--timeout"),
    Bad(["wait", "x", "--timeout", "abc"], {}, "--timeout", alone=True),
    Bad(["wait", "x", "--timeout", "nan"], {}, "--timeout"),
    Bad(["wait", "x", "--timeout", "inf"], {}, "--timeout"),
    Bad(["wait", "x", "--timeout"], {}, "--timeout"),
    Bad(["wait", "x", "--interval", "0"], {}, "--interval"),
    Bad(["wait", "x", "--interval", "-2"], {}, "--interval"),
    Bad(["wait", "x", "--interval", "soon"], {}, "--interval"),
    Bad(["wait", "x", "--max-interval", "0"], {}, "--max-interval"),
    Bad(["wait", "x", "--interval", "5", "--max-interval", "2"], {}, "--max-interval"),
    Bad(["wait", "x", "--json", "--quiet"], {}, "not allowed"),
    Bad(["wait", "x", "--time", "1"], {}, "--time"),  # no abbreviations
    Bad(["--base-url", "not a url", "status", "x"], {}, "base_url", alone=True),
    Bad(["--base-url", "ftp://example.com", "status", "x"], {}, "base_url"),
    Bad(["--base-url", "http://[::1", "status", "x"], {}, "base_url"),
    Bad(["--base-url", "http://h/?q=1", "status", "x"], {}, "base_url"),
    Bad(["status", "x"], {"LLAMA_CLOUD_BASE_URL": "localhost:8080"}, "base_url"),
    Bad(["status", "x"], {"LLAMA_CLOUD_BASE_URL": "http://"}, "base_url"),
    Bad(["--api-key", "", "status", "x"], {}, "LLAMA_CLOUD_API_KEY"),
    Bad(["--api-key", "   ", "wait", "x"], {}, "LLAMA_CLOUD_API_KEY"),
    Bad(["status", "x"], {"LLAMA_CLOUD_API_KEY": "two\nlines"}, "line break", alone=True),
    Bad(["sandbox", "--port", "70000"], {}, "--port"),
    Bad(["sandbox", "--port", "eighty"], {}, "--port"),
    Bad(["sandbox", "--api-key", "has space"], {}, "api_key", alone=True),
    Bad(["demo", "extra"], {}, "unrecognized arguments"),
]


# Each case through `main()` in one subprocess (a process per case costs half a second);
# `test_bad_input_in_separate_processes` runs a few of them as separate commands too.
_DRIVER = """
import contextlib, io, json, os, sys, traceback
from llamacloud_batch.cli import main
base = dict(os.environ)
results = []
for args, env in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(base)
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except BaseException:
            traceback.print_exc()
            code = None
    results.append([code, out.getvalue(), err.getvalue()])
json.dump(results, sys.stdout)
"""


def _bad_input_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = cli_env(LLAMA_CLOUD_API_KEY=KEY, LLAMA_CLOUD_BASE_URL=f"http://127.0.0.1:{closed_port()}")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def bad_input_results() -> list[Run]:
    cases = [[bad.args, bad.env] for bad in BAD_INPUT]
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER],
        input=json.dumps(cases),
        env=_bad_input_env({}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [Run(code, out, err, 0.0) for code, out, err in json.loads(done.stdout)]


@pytest.mark.parametrize("case", range(len(BAD_INPUT)), ids=[repr(b.args) for b in BAD_INPUT])
def test_bad_input_gives_one_line_and_exit_2(bad_input_results: list[Run], case: int) -> None:
    fragment = BAD_INPUT[case].fragment
    run = bad_input_results[case]
    assert_nothing_leaked(run.stdout + run.stderr)
    assert run.code == 2, run.stderr
    assert_one_error_line(run, fragment)
    assert run.stdout == ""


@pytest.mark.parametrize("bad", [b for b in BAD_INPUT if b.alone], ids=lambda b: repr(b.args))
def test_bad_input_in_separate_processes(bad: Bad) -> None:
    run = run_cli(*bad.args, env=_bad_input_env(bad.env))
    assert run.code == 2, run.stderr
    assert_one_error_line(run, bad.fragment)
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("command", "unset"), [(["status", "x"], {}), (["wait", "x"], {"LLAMA_CLOUD_API_KEY": ""})]
)
def test_a_missing_key_names_the_environment_variable(
    command: list[str], unset: dict[str, str]
) -> None:
    run = run_cli(*command, env=cli_env(**unset))
    assert run.code == 2
    assert_one_error_line(run, "LLAMA_CLOUD_API_KEY")


def test_debug_shows_the_traceback_but_not_the_key(sandbox: Sandbox) -> None:
    env = cli_env(LLAMA_CLOUD_BASE_URL=sandbox.url)
    done = subprocess.run(
        [sys.executable, "-m", "llamacloud_batch", "--debug", "--api-key", KEY, "status", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 5
    assert "Traceback" in done.stderr
    assert "NotFoundError" in done.stderr
    assert done.stderr.splitlines()[-1].startswith(PREFIX)
    assert KEY not in done.stdout + done.stderr


# -- output modes ---------------------------------------------------------------------------------


def test_plain_output_off_a_terminal_is_one_line_per_change(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    ids = [quick_job(sandbox, "completed", duration=2.0), quick_job(sandbox, "failed")]
    run = run_cli("wait", *ids, *FAST, env=env)
    assert run.code == 1
    assert "\x1b" not in run.stdout
    *changes, summary = run.stdout.splitlines()
    assert summary == "2 jobs: 1 completed, 1 failed"
    pattern = re.compile(
        r"^(?P<id>bjb-[0-9a-f-]+): (?P<status>\w+) \d+\.\d% "
        r"\(\d+ of \d+ processed, \d+ failed, \d+ skipped\), elapsed \d+s"
    )
    seen: dict[str, list[str]] = {job_id: [] for job_id in ids}
    for line in changes:
        match = pattern.match(line)
        assert match is not None, line
        seen[match["id"]].append(match["status"])
        # Only unfinished jobs have an ETA, and it is always shown for them.
        assert ("ETA" in line) == (match["status"] in ("pending", "running"))
    assert re.search(r", ETA \d+s$", run.stdout, re.MULTILINE)  # estimated while it ran
    assert seen[ids[0]][-1] == "completed"
    assert seen[ids[1]][-1] == "failed"
    for statuses in seen.values():
        order = [LIFECYCLE.index(status) for status in statuses]
        assert order == sorted(order)
    # Successive lines for a job show a change: never the same line twice in a row.
    for job_id in ids:
        mine = [line.split(", elapsed")[0] for line in changes if line.startswith(job_id)]
        assert all(a != b for a, b in itertools.pairwise(mine))


def test_json_prints_one_object_per_change(sandbox: Sandbox, env: dict[str, str]) -> None:
    # Long enough for the command to start and see them before they end.
    ids = [quick_job(sandbox, "completed", duration=2.0), quick_job(sandbox, "cancelled")]
    run = run_cli("wait", *ids, *FAST, "--json", env=env)
    assert run.code == 3
    objects: list[dict[str, Any]] = [json.loads(line) for line in run.stdout.splitlines()]
    assert objects, "no output"
    jobs: dict[str, list[dict[str, Any]]] = {job_id: [] for job_id in ids}
    for obj in objects:
        assert set(obj) >= {"job", "progress_percentage"}
        jobs[obj["job"]["id"]].append(obj["job"])
    for job_id, outcome in zip(ids, ["completed", "cancelled"], strict=True):
        statuses = [job["status"] for job in jobs[job_id]]
        assert statuses[-1] == outcome
        assert statuses.index(outcome) == len(statuses) - 1  # the end is reported once
    assert {"pending", "running"} & {job["status"] for job in jobs[ids[0]]}  # the way there too
    final = jobs[ids[0]][-1]
    assert final["processed_items"] == final["total_items"] == 6
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$", final["completed_at"])


def test_quiet_prints_nothing_and_keeps_the_exit_code(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    run = run_cli("wait", quick_job(sandbox, "failed"), *FAST, "--quiet", env=env)
    assert (run.code, run.stdout, run.stderr) == (1, "", "")


def test_status_summary_and_json(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = sandbox.add_job(
        total_items=10, duration=0.0, outcome="failed", failed_items=3, error_message="bad scan"
    )
    run = run_cli("status", job_id, env=env)
    assert run.code == 0
    fields = dict(line.split(":", 1) for line in run.stdout.splitlines())
    fields = {name: value.strip() for name, value in fields.items()}
    assert fields["Job"] == job_id
    assert fields["Status"] == "failed, 50.0% done"
    assert fields["Items"] == "2 of 10 processed, 3 failed, 0 skipped"
    assert fields["Error"] == "bad scan"
    assert {"Created", "Started", "Completed", "Updated"} <= set(fields)

    run = run_cli("status", job_id, "--json", env=env)
    assert run.code == 0
    served = httpx.get(
        f"{sandbox.url}/api/v1/beta/batch-processing/{job_id}",
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()
    printed = json.loads(run.stdout)
    served_job, printed_job = served["job"], printed["job"]
    assert isinstance(served_job, dict)
    for name in ("id", "status", "total_items", "processed_items", "failed_items", "error_message"):
        assert printed_job[name] == served_job[name]
    assert printed["progress_percentage"] == served["progress_percentage"]


def test_status_escapes_what_could_drive_the_terminal(odd_server: str) -> None:
    env = cli_env(LLAMA_CLOUD_API_KEY=KEY, LLAMA_CLOUD_BASE_URL=odd_server)
    run = run_cli("status", "odd", env=env)
    assert run.code == 0
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
    assert "paused\\x1b[2J, 50.0% done" in run.stdout
    assert "bad \\x1b[31mred\\x07 news" in run.stdout


def test_global_options_are_accepted_after_the_command(sandbox: Sandbox) -> None:
    job_id = quick_job(sandbox, duration=0.0)
    run = run_cli("status", job_id, "--base-url", sandbox.url, "--api-key", KEY, env=cli_env())
    assert run.code == 0
    assert re.search(r"^Status: +completed, 100\.0% done$", run.stdout, re.MULTILINE)


# -- Ctrl-C ---------------------------------------------------------------------------------------


def test_ctrl_c_ends_a_wait_at_once_with_130(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = sandbox.add_job(total_items=5, duration=60.0)
    with subprocess.Popen(
        [sys.executable, "-m", "llamacloud_batch", "wait", job_id, *FAST],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        with watchdog(proc, 10):
            first = proc.stdout.readline()  # each change is flushed: the wait is under way
        assert first.startswith(job_id)
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert time.monotonic() - interrupted < 3
    assert err == "llamacloud-batch: interrupted\n"
    assert_nothing_leaked(out + err)


# -- the live display, on a pseudo-terminal -------------------------------------------------------


@dataclass(frozen=True)
class TtyRun:
    code: int
    screen: bytes
    stderr: str


def run_in_pty(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    interrupt_when: Callable[[bytes], bool] | None = None,
    interrupt_with: signal.Signals = signal.SIGINT,
    timeout_s: float = 30.0,
    columns: int = 160,
) -> TtyRun:
    """Runs with stdout on a pseudo-terminal (so it is a tty); stderr is captured apart."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    full_env = {**env, "TERM": "xterm-256color", "COLUMNS": str(columns)}
    full_env.pop("NO_COLOR", None)
    screen = b""
    with subprocess.Popen(
        list(argv),
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
    ) as proc:
        os.close(terminal)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([controller], [], [], 0.05)
                if ready:
                    try:
                        chunk = os.read(controller, 65536)
                    except OSError:  # EIO: the child closed the terminal
                        break
                    if not chunk:
                        break
                    screen += chunk
                    if interrupt_when is not None and interrupt_when(screen):
                        proc.send_signal(interrupt_with)
                        interrupt_when = None
                elif proc.poll() is not None:
                    break
            else:
                proc.kill()
                pytest.fail(f"still running after {timeout_s} s")
            assert proc.stderr is not None
            code = proc.wait(timeout=10)
            err = proc.stderr.read().decode()
        finally:
            os.close(controller)
    assert_nothing_leaked(screen.decode(errors="replace") + err)
    return TtyRun(code, screen, err)


def assert_terminal_left_clean(screen: bytes) -> None:
    """The cursor was hidden while drawing and is shown again after the last frame."""
    assert HIDE_CURSOR in screen
    assert screen.rfind(SHOW_CURSOR) > screen.rfind(HIDE_CURSOR)


def test_live_display_on_a_terminal(sandbox: Sandbox, env: dict[str, str]) -> None:
    ids = [
        sandbox.add_job(total_items=20, duration=2.0),
        quick_job(sandbox, "failed", error_message="scanner jammed"),
    ]
    run = run_in_pty([sys.executable, "-m", "llamacloud_batch", "wait", *ids, *FAST], env)
    assert run.code == 1
    assert run.stderr == ""
    text = run.screen.decode()
    assert_terminal_left_clean(run.screen)
    for job_id in ids:
        assert job_id in text
    assert "ETA " in text  # shown while the long job runs
    assert "20/20 items" in text
    assert re.search(r"failed.*\b3/6 items|3/6 items.*failed", text)
    tail = text[text.rfind(SHOW_CURSOR.decode()) :]
    assert "2 jobs: 1 completed, 1 failed" in tail
    assert f"{ids[1]} failed: scanner jammed" in tail


@pytest.mark.parametrize(
    ("signum", "code", "stderr"),
    [(signal.SIGINT, 130, "llamacloud-batch: interrupted\n"), (signal.SIGTERM, 143, "")],
)
def test_ctrl_c_or_sigterm_on_the_live_display_restores_the_terminal(
    sandbox: Sandbox, env: dict[str, str], signum: signal.Signals, code: int, stderr: str
) -> None:
    job_id = sandbox.add_job(total_items=20, duration=60.0)
    run = run_in_pty(
        [sys.executable, "-m", "llamacloud_batch", "wait", job_id, *FAST],
        env,
        interrupt_when=lambda screen: b"pending" in screen,
        interrupt_with=signum,
        timeout_s=15,
    )
    assert run.code == code
    assert_terminal_left_clean(run.screen)
    assert run.stderr == stderr


def test_without_rich_a_terminal_gets_plain_lines(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = quick_job(sandbox)
    # A None entry in sys.modules makes `import rich` fail, as if the extra were not installed.
    code = (
        "import sys; sys.modules['rich'] = None; from llamacloud_batch.cli import main; "
        f"sys.exit(main(['wait', {job_id!r}, '--interval', '0.1']))"
    )
    run = run_in_pty([sys.executable, "-c", code], env)
    assert run.code == 0
    assert HIDE_CURSOR not in run.screen
    lines = run.screen.decode().splitlines()
    assert lines[-1] == "1 job: 1 completed"
    assert lines[-2].startswith(f"{job_id}: completed 100.0%")


# -- demo and sandbox -----------------------------------------------------------------------------


def test_demo_shows_three_outcomes_exits_0_and_leaves_no_thread() -> None:
    # main() as the entry point calls it, then a look at what is still running.
    code = (
        "import sys, threading; from llamacloud_batch.cli import main; code = main(['demo']); "
        "print('threads left:', [t.name for t in threading.enumerate()]); sys.exit(code)"
    )
    started = time.monotonic()
    run = run_in_pty([sys.executable, "-c", code], cli_env(), timeout_s=40)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    assert time.monotonic() - started < 25
    assert_terminal_left_clean(run.screen)
    text = run.screen.decode()
    assert "3 jobs: 1 completed, 1 failed, 1 cancelled" in text
    for word in ("completed", "failed", "cancelled", "ETA "):
        assert word in text
    assert "threads left: ['MainThread']" in text


def test_sandbox_command_serves_until_ctrl_c() -> None:
    sandbox_key = "sandbox-test-key"
    with subprocess.Popen(
        [sys.executable, "-m", "llamacloud_batch", "sandbox", "--api-key", sandbox_key],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        banner = []
        with watchdog(proc, 10):
            while not (line := proc.stdout.readline()).startswith("Press Ctrl-C"):
                assert line, "the sandbox stopped early"
                banner.append(line)
        text = "".join(banner)
        url_match = re.search(r"http://127\.0\.0\.1:\d+", text)
        job_match = re.search(r"bjb-[0-9a-f-]+", text)
        assert url_match is not None and job_match is not None
        run = run_cli(
            "status",
            job_match[0],
            env=cli_env(LLAMA_CLOUD_API_KEY=sandbox_key, LLAMA_CLOUD_BASE_URL=url_match[0]),
        )
        assert run.code == 0
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_sandbox_on_a_taken_port_exits_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = run_cli("sandbox", "--port", str(taken.getsockname()[1]))
    assert run.code == 2
    assert_one_error_line(run, "cannot serve on port")
