"""The `llamacloud-batch` command: parses arguments, calls the client, and draws what it sees.

Every expected failure becomes one line on stderr and a documented exit code; rich (the live
display) is imported only when a terminal shows one.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import inspect
import logging
import math
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NoReturn

from llamacloud_batch_api.models import BatchGetStatusResponse, JobStatus

from .. import __version__
from .._client import BatchClient, check_job_id
from .._errors import APIError, APIStatusError, LlamaCloudError, WaitTimeoutError
from .._states import TERMINAL_STATUSES
from ._render import (
    Display,
    JsonDisplay,
    PlainDisplay,
    Tracker,
    json_text,
    safe,
    status_name,
    status_report,
)

__all__ = ["ExitCode", "main"]

PROG = "llamacloud-batch"


class ExitCode(enum.IntEnum):
    COMPLETED = 0
    FAILED = 1
    USAGE = 2
    CANCELLED = 3
    WAIT_TIMEOUT = 4
    API_ERROR = 5
    INTERNAL = 70
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    TERMINATED = 143


# With several jobs the worst outcome wins; worst first.
_SEVERITY = (
    ExitCode.API_ERROR,
    ExitCode.WAIT_TIMEOUT,
    ExitCode.FAILED,
    ExitCode.CANCELLED,
    ExitCode.COMPLETED,
)

_OUTCOME_CODES = {
    JobStatus.COMPLETED: ExitCode.COMPLETED,
    JobStatus.FAILED: ExitCode.FAILED,
    JobStatus.CANCELLED: ExitCode.CANCELLED,
}

_EXIT_CODES_HELP = """\
exit codes:
  0    every job completed
  1    a job failed
  3    a job was cancelled
  4    the wait timed out before a job ended (it may still be running)
  5    API or network error (including no status read before the timeout)
  2    usage or configuration error (bad argument, no API key, bad base URL)
  130  interrupted (Ctrl-C; 143 for SIGTERM)
  70   internal error: a bug, please report it with the traceback shown
  With several jobs the worst outcome wins, worst first: 5, 4, 1, 3, 0.
  `status` exits 0 whenever it read the status, whatever the job's state."""

_ENVIRONMENT_HELP = """\
environment:
  LLAMA_CLOUD_API_KEY          API key (LLAMA_PARSE_API_KEY is also read)
  LLAMA_CLOUD_BASE_URL         API base URL (default: the US region)
  LLAMA_CLOUD_PROJECT_ID       project to read jobs from
  LLAMA_CLOUD_ORGANIZATION_ID  organization to read jobs from"""


def _library_default(name: str) -> float:
    """A default of `BatchClient.wait_all`, so the CLI's defaults cannot drift from it."""
    value = inspect.signature(BatchClient.wait_all).parameters[name].default
    assert isinstance(value, int | float)
    return float(value)


DEFAULT_TIMEOUT_S = _library_default("timeout")
DEFAULT_POLL_INTERVAL_S = _library_default("poll_interval")
DEFAULT_MAX_POLL_INTERVAL_S = _library_default("max_poll_interval")


class UsageError(Exception):
    """A bad argument or setting: exit 2 with the message."""


class Failure(Exception):
    """An expected failure: its exit code and the one line to print."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- argument parsing -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block, pointing at the help of the command used.
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, not {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, not {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, not {text!r}")
    return value


def _common_options(*, in_command: bool) -> _Parser:
    """Connection options and --debug, accepted before or after the command's name."""
    # After the command, an option left out must not overwrite one given before it.
    default = argparse.SUPPRESS if in_command else None
    parent = _Parser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group("connection options (environment variables preferred)")
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default,
        help="API base URL (env LLAMA_CLOUD_BASE_URL; default: the US region)",
    )
    group.add_argument(
        "--project-id", metavar="ID", default=default, help="env LLAMA_CLOUD_PROJECT_ID"
    )
    group.add_argument(
        "--organization-id", metavar="ID", default=default, help="env LLAMA_CLOUD_ORGANIZATION_ID"
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=default,
        help="API key (env LLAMA_CLOUD_API_KEY, preferred: a key on the command line "
        "is visible to other users of this machine)",
    )
    _debug_option(parent, default=False if not in_command else argparse.SUPPRESS)
    return parent


def _debug_option(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="log requests and retries to stderr, and show tracebacks for errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Read and wait for LlamaCloud batch jobs, with live progress.",
        epilog=f"{_EXIT_CODES_HELP}\n\n{_ENVIRONMENT_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(in_command=False)],
        allow_abbrev=False,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {__version__}",
        help="show the version and exit",
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    in_command = [_common_options(in_command=True)]

    status = commands.add_parser(
        "status",
        help="show a job's current status",
        description="Show a job's current status: state, progress, item counts, timestamps.",
        epilog=_ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=in_command,
        allow_abbrev=False,
    )
    status.add_argument("job_id", metavar="JOB_ID", help="the job to show")
    status.add_argument("--json", action="store_true", help="print the API's response as JSON")
    status.set_defaults(handler=_status_command)

    wait = commands.add_parser(
        "wait",
        help="wait for jobs to end, with live progress",
        description=(
            "Wait until every job ends. On a terminal: a live progress bar per job. Otherwise:\n"
            "one line per change. The exit code tells how the jobs ended."
        ),
        epilog=f"{_EXIT_CODES_HELP}\n\n{_ENVIRONMENT_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=in_command,
        allow_abbrev=False,
    )
    wait.add_argument("job_ids", metavar="JOB_ID", nargs="+", help="the jobs to wait for")
    wait.add_argument(
        "--timeout",
        metavar="S",
        type=_seconds,
        default=DEFAULT_TIMEOUT_S,
        help="give up after S seconds (default: %(default)g)",
    )
    wait.add_argument(
        "--interval",
        metavar="S",
        type=_positive_seconds,
        help=f"shortest time between polls of a job (default: {DEFAULT_POLL_INTERVAL_S:g}); "
        "polls grow sparser while a job is far from its estimated end",
    )
    wait.add_argument(
        "--max-interval",
        metavar="S",
        type=_positive_seconds,
        help=f"longest time between polls of a job (default: {DEFAULT_MAX_POLL_INTERVAL_S:g}, "
        "or --interval if that is longer)",
    )
    output = wait.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print each observed state as one JSON line (NDJSON)"
    )
    output.add_argument(
        "--quiet", action="store_true", help="print nothing but errors; see the exit code"
    )
    wait.set_defaults(handler=_wait_command)

    demo = commands.add_parser(
        "demo",
        help="watch three jobs on a local sandbox (no account needed)",
        description=(
            "Start a local sandbox, create three jobs (one completes, one fails, one is "
            "cancelled; about 15 s in all), and wait for them as `wait` does. Exits 0 whatever "
            "the jobs' outcomes. Ignores the connection options."
        ),
        allow_abbrev=False,
    )
    _debug_option(demo, default=argparse.SUPPRESS)
    demo.set_defaults(handler=_demo_command)

    sandbox = commands.add_parser(
        "sandbox",
        help="run a local sandbox of the API in the foreground",
        description=(
            "Serve a local stand-in for the batch status endpoint on 127.0.0.1, with demo "
            "jobs, until Ctrl-C (exit 0). Not the real service."
        ),
        allow_abbrev=False,
    )
    sandbox.add_argument(
        "--port", metavar="P", type=_port, default=0, help="port to listen on (default: any free)"
    )
    sandbox.add_argument(
        "--api-key",
        metavar="K",
        dest="sandbox_api_key",
        help="the key clients must send (default: the sandbox's well-known key)",
    )
    _debug_option(sandbox, default=argparse.SUPPRESS)
    sandbox.set_defaults(handler=_sandbox_command)
    return parser


# -- commands -------------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> BatchClient:
    try:
        return BatchClient(
            api_key=args.api_key,
            base_url=args.base_url,
            project_id=args.project_id,
            organization_id=args.organization_id,
        )
    except (LlamaCloudError, ValueError, TypeError) as exc:
        # Configuration: no or malformed key, bad base URL. Messages never contain the key.
        raise Failure(ExitCode.USAGE, str(exc)) from exc


def _api_failure(exc: APIError, job_ids: Sequence[str]) -> Failure:
    message = safe(str(exc))
    job_id = _job_of(exc, job_ids)
    if job_id is not None:
        message = f"job {safe(job_id)}: {message}"
    return Failure(ExitCode.API_ERROR, message)


def _job_of(exc: APIError, job_ids: Sequence[str]) -> str | None:
    """Which job a failed request was about, from its URL (the error itself does not say)."""
    if len(job_ids) == 1:
        return job_ids[0]
    if exc.request is None:
        return None
    from urllib.parse import unquote

    last_segment = unquote(exc.request.url.path.rsplit("/", 1)[-1])
    return last_segment if last_segment in job_ids else None


def _status_command(args: argparse.Namespace) -> ExitCode:
    with _client(args) as client:
        try:
            resp = client.get_status(args.job_id)
        except APIError as exc:
            raise _api_failure(exc, [args.job_id]) from exc
        except (ValueError, TypeError) as exc:  # the client's checks of the job id
            raise Failure(ExitCode.USAGE, str(exc)) from exc
    lines = [json_text(resp)] if args.json else status_report(resp)
    sys.stdout.write("".join(line + "\n" for line in lines))
    return ExitCode.COMPLETED


def _wait_command(args: argparse.Namespace) -> ExitCode:
    interval = args.interval if args.interval is not None else DEFAULT_POLL_INTERVAL_S
    max_interval = args.max_interval
    if max_interval is None:
        max_interval = max(DEFAULT_MAX_POLL_INTERVAL_S, interval)
    elif max_interval < interval:
        raise UsageError("--max-interval must not be shorter than --interval")
    mode = "quiet" if args.quiet else "json" if args.json else "auto"
    with _client(args) as client:
        return wait_for_jobs(
            client,
            args.job_ids,
            timeout_s=args.timeout,
            poll_interval_s=interval,
            max_poll_interval_s=max_interval,
            mode=mode,
        )


def _pick_display(mode: str, tracker: Tracker) -> Display:
    if mode == "quiet":
        return Display(tracker)
    if mode == "json":
        return JsonDisplay(tracker)
    if sys.stdout.isatty() and os.environ.get("TERM") != "dumb":
        try:
            from ._live import LiveDisplay
        except ImportError:  # rich is optional (the `cli` extra): fall back to plain lines
            return PlainDisplay(tracker)
        return LiveDisplay(tracker)
    return PlainDisplay(tracker)


def wait_for_jobs(
    client: BatchClient,
    job_ids: Sequence[str],
    *,
    timeout_s: float,
    poll_interval_s: float,
    max_poll_interval_s: float,
    mode: str,
) -> ExitCode:
    """Waits with `client.wait_all`, drawing each change; the exit code of the worst outcome."""
    ids = list(dict.fromkeys(job_ids))
    try:
        for job_id in ids:
            check_job_id(job_id)
        tracker = Tracker(ids, poll_interval=poll_interval_s, max_poll_interval=max_poll_interval_s)
    except (ValueError, TypeError) as exc:
        raise Failure(ExitCode.USAGE, safe(str(exc))) from exc
    display = _pick_display(mode, tracker)
    timed_out: WaitTimeoutError | None = None
    failed_call: APIError | None = None
    with display:
        try:
            finals: Mapping[str, BatchGetStatusResponse | None] = client.wait_all(
                ids,
                timeout=timeout_s,
                poll_interval=poll_interval_s,
                max_poll_interval=max_poll_interval_s,
                on_progress=lambda resp: display.changed(tracker.observe(resp)),
            )
        except WaitTimeoutError as exc:
            finals, timed_out = exc.statuses, exc
        except APIError as exc:
            # The other jobs were waited for to the end; report them before the error.
            finals, failed_call = {job_id: tracker.last.get(job_id) for job_id in ids}, exc
        except (ValueError, TypeError) as exc:  # the client's checks of its arguments
            raise Failure(ExitCode.USAGE, safe(str(exc))) from exc
    display.summary(finals)
    if failed_call is not None:
        raise _api_failure(failed_call, ids) from failed_call
    code = worst(_job_code(resp) for resp in finals.values())
    if timed_out is not None:
        raise Failure(code, _timeout_message(finals, timeout_s, timed_out)) from timed_out
    return code


def _job_code(resp: BatchGetStatusResponse | None) -> ExitCode:
    if resp is None:
        return ExitCode.API_ERROR  # not one status read before the deadline: the API failed us
    status = resp.job.status
    if status in TERMINAL_STATUSES:
        assert isinstance(status, JobStatus)
        return _OUTCOME_CODES[status]
    return ExitCode.WAIT_TIMEOUT


def worst(codes: Iterable[ExitCode]) -> ExitCode:
    """The worst of the jobs' exit codes (5, 4, 1, 3, 0 from worst); 0 for no jobs."""
    found = set(codes)
    return next((code for code in _SEVERITY if code in found), ExitCode.COMPLETED)


def _timeout_message(
    finals: Mapping[str, BatchGetStatusResponse | None],
    timeout_s: float,
    timed_out: WaitTimeoutError,
) -> str:
    unread = [job_id for job_id, resp in finals.items() if resp is None]
    if unread:
        # The wait chains the failure that was still going on at the deadline.
        cause = timed_out.__cause__
        reason = (
            f"the API kept answering {safe(str(cause))}"
            if isinstance(cause, APIStatusError)
            else "check the base URL and the network"
        )
        return (
            f"no status could be read for {_id_list(unread)} within {timeout_s:g} s "
            f"({reason}; --debug shows each failed request)"
        )
    running = [
        f"{job_id} ({status_name(resp.job.status)}, {resp.progress_percentage:.0f}%)"
        for job_id, resp in finals.items()
        if resp is not None and resp.job.status not in TERMINAL_STATUSES
    ]
    return (
        f"stopped waiting after {timeout_s:g} s; not finished: {_id_list(running)}. "
        f"Jobs go on running; check later with '{PROG} status JOB_ID'"
    )


def _id_list(items: Sequence[str], most: int = 3) -> str:
    shown = ", ".join(safe(item) for item in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _demo_command(args: argparse.Namespace) -> ExitCode:
    from ..sandbox import Sandbox, add_demo_jobs

    out = sys.stdout
    with Sandbox() as sandbox:
        jobs = add_demo_jobs(sandbox)
        out.write(f"Local sandbox at {sandbox.url} (not the real service) with {len(jobs)} jobs:\n")
        for job_id, description in jobs.items():
            out.write(f"  {job_id}  {description}\n")
        out.write("\n")
        out.flush()
        with BatchClient(api_key=sandbox.api_key, base_url=sandbox.url) as client:
            code = wait_for_jobs(
                client,
                list(jobs),
                timeout_s=DEFAULT_TIMEOUT_S,
                poll_interval_s=DEFAULT_POLL_INTERVAL_S,
                max_poll_interval_s=DEFAULT_MAX_POLL_INTERVAL_S,
                mode="auto",
            )
    out.write(f"\n`{PROG} wait` would have exited {int(code)} (the worst outcome wins).\n")
    out.write(f"Run your own: {PROG} sandbox\n")
    out.flush()
    # The demo shows outcomes; it does not judge them.
    return ExitCode.COMPLETED


def _sandbox_command(args: argparse.Namespace) -> ExitCode:
    from ..sandbox import DEFAULT_API_KEY, run_sandbox

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        run_sandbox(
            port=args.port,
            api_key=args.sandbox_api_key if args.sandbox_api_key is not None else DEFAULT_API_KEY,
            print_fn=say,
        )
    except KeyboardInterrupt:
        # Ctrl-C is how a foreground server is meant to stop.
        print(f"{PROG}: sandbox stopped", file=sys.stderr, flush=True)
        return ExitCode.COMPLETED
    except ValueError as exc:
        raise Failure(ExitCode.USAGE, str(exc)) from exc
    except BrokenPipeError:
        raise
    except OSError as exc:  # the port is taken, or not ours to bind
        raise Failure(ExitCode.USAGE, f"cannot serve on port {args.port}: {exc}") from exc
    return ExitCode.COMPLETED


# -- entry point ----------------------------------------------------------------------------------


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.stderr.flush()


def _enable_debug_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("llamacloud_batch")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    # httpx logs one line per request at INFO (method, URL, status); never headers or keys.
    requests = logging.getLogger("httpx")
    requests.addHandler(handler)
    requests.setLevel(logging.INFO)


class _Terminated(BaseException):
    """SIGTERM, unwinding like Ctrl-C does so the live display and the sandbox stop cleanly."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    previous = None
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _main(argv)
    except _Terminated:
        return ExitCode.TERMINATED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        _error(str(exc))
        return ExitCode.USAGE
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    debug: bool = args.debug
    if debug:
        _enable_debug_logging()
    handler: Callable[[argparse.Namespace], ExitCode] = args.handler
    try:
        return int(handler(args))
    except Failure as exc:
        if debug and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__)
        _error(exc.message)
        return exc.code
    except UsageError as exc:
        _error(str(exc))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`); point stdout at nothing so the exit flush is quiet.
        with contextlib.suppress(OSError, ValueError):  # ValueError: stdout has no descriptor
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except Exception:
        traceback.print_exc()
        _error(f"unexpected error, a bug in {PROG} {__version__}; please report it with the above")
        return ExitCode.INTERNAL
