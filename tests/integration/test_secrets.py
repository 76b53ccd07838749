"""The API key never shows: with a distinctive key and DEBUG logging on every logger, each path
(success, every error status, retries, timeouts, broken connections, bad bodies, every way a
wait ends, the CLI) is run over loopback, and no log record, exception text or repr holds it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from llamacloud_batch import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncBatchClient,
    BatchClient,
    JobCancelledError,
    JobFailedError,
    LlamaCloudError,
    NotFoundError,
    WaitTimeoutError,
)
from llamacloud_batch._config import resolve_settings

from tests.integration.faultserver import (
    FaultServer,
    Step,
    answer,
    drop,
    json_answer,
    running,
    stall_before_headers,
)
from tests.spec_schema import seed_example

KEY = "sk-SECRET-canary-1234567890"
# Pieces that would still give the key away if it were cut or re-encoded.
KEY_FORMS = (KEY, KEY[3:], KEY.encode().hex(), KEY.replace("-", "%2D"))
JOB_ID = "bjb-secret"
LOGGERS = ("", "llamacloud_batch", "httpx", "httpcore")
ROOT = Path(__file__).resolve().parents[2]
CLI_LIMIT_S = 60.0


def body(status: str, **job: object) -> bytes:
    payload = seed_example()
    payload["job"].update(id=JOB_ID, status=status, **job)
    return json.dumps(payload).encode()


def ok(status: str = "running", **job: object) -> Step:
    return answer(200, body(status, **job), {"Content-Type": "application/json"})


def leaked_in(text: str) -> bool:
    return any(form in text for form in KEY_FORMS)


class Watch:
    """Collects every text a user could see; `assert_clean` fails naming where the key was."""

    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []
        self.texts: list[tuple[str, str]] = []

    def exception(self, exc: BaseException) -> None:
        """str and repr of the exception and of everything chained to it, and its traceback."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self.texts.append((f"str({type(current).__name__})", str(current)))
            self.texts.append((f"repr({type(current).__name__})", repr(current)))
            for name in ("message", "body", "request_id", "job_id"):
                if hasattr(current, name):
                    self.texts.append(
                        (f"{type(current).__name__}.{name}", repr(getattr(current, name)))
                    )
            current = current.__cause__ or current.__context__
        self.texts.append(("traceback", "".join(traceback.format_exception(exc))))

    def text(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def assert_clean(self) -> None:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        for record in self.records:
            shown = formatter.format(record)
            assert not leaked_in(shown), f"log record from {record.name}: {shown}"
            assert not leaked_in(repr(record.args)), f"log args from {record.name}: {record.args!r}"
        for where, text in self.texts:
            assert not leaked_in(text), f"{where}: {text}"


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def watch() -> Iterator[Watch]:
    """DEBUG on every logger for the test; at its end, nothing seen may hold the key."""
    watch = Watch()
    handler = _Keep(watch.records)
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield watch
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert watch.records, "DEBUG logging captured nothing: the watch is not watching"
    watch.assert_clean()


@pytest.fixture
def serve() -> Iterator[Callable[..., FaultServer]]:
    contexts = []

    def start(*steps: Step) -> FaultServer:
        context = running(*steps)
        contexts.append(context)
        return context.__enter__()

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)


class FakeTime:
    """Clock and sleep for waits: time moves only when the wait sleeps."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def clock(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.now_s += seconds


def client_on(server: FaultServer, **kwargs: object) -> BatchClient:
    client = BatchClient(KEY, base_url=server.origin, timeout=0.5, **kwargs)  # type: ignore[arg-type]
    client._sleep = lambda seconds: None
    return client


# ---------------------------------------------------------------------------------------------
# The library


@pytest.mark.parametrize("users_client", [False, True], ids=["own-pool", "users-http-client"])
def test_success_logs_and_reprs_leave_the_key_out(
    watch: Watch, serve: Callable[..., FaultServer], users_client: bool
) -> None:
    server = serve(ok())
    http = httpx.Client() if users_client else None
    with client_on(server, http_client=http) as client:
        result = client.get_status(JOB_ID)
        watch.text("repr(client)", repr(client))
        watch.text("str(client)", str(client))
        watch.text("repr(settings)", repr(client._settings))
        watch.text("repr(result)", repr(result))
    if http is not None:
        http.close()
    assert server.seen[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 418, 429, 500, 502, 503])
def test_every_error_status_leaves_the_key_out(
    watch: Watch, serve: Callable[..., FaultServer], status: int
) -> None:
    server = serve(json_answer(status, {"detail": f"status {status}"}, {"Retry-After": "0"}))
    with client_on(server) as client, pytest.raises(APIStatusError) as caught:
        client.get_status(JOB_ID)
    watch.exception(caught.value)
    assert caught.value.status_code == status


def test_retries_then_success_leave_the_key_out(
    watch: Watch, serve: Callable[..., FaultServer]
) -> None:
    server = serve(
        json_answer(503, {"detail": "busy"}),
        json_answer(429, {"detail": "slow down"}, {"Retry-After": "1"}),
        ok(),
    )
    with client_on(server) as client:
        client.get_status(JOB_ID)
    assert len(server.seen) == 3


@pytest.mark.parametrize(
    ("step", "error"),
    [
        (stall_before_headers(), APITimeoutError),
        (drop(), APIConnectionError),
        (answer(200, b"<html>oops</html>"), APIResponseValidationError),
        (answer(200, b'{"job": {"id": 1}}'), APIResponseValidationError),
        (answer(200, b"\xff\xfe not utf-8"), APIResponseValidationError),
    ],
    ids=["timeout", "dropped", "html-200", "wrong-types", "not-utf8"],
)
def test_transport_and_body_failures_leave_the_key_out(
    watch: Watch, serve: Callable[..., FaultServer], step: Step, error: type[APIError]
) -> None:
    server = serve(step)
    with client_on(server, max_retries=1) as client, pytest.raises(error) as caught:
        client.get_status(JOB_ID)
    watch.exception(caught.value)


def test_refused_connection_leaves_the_key_out(watch: Watch) -> None:
    with running(ok()) as server:
        origin = server.origin
    with BatchClient(KEY, base_url=origin, max_retries=1) as client:
        client._sleep = lambda seconds: None
        with pytest.raises(APIConnectionError) as caught:
            client.get_status(JOB_ID)
    watch.exception(caught.value)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([ok("pending"), ok("running"), ok("completed")], None),
        ([ok("running"), ok("failed", error_message="disk full")], JobFailedError),
        ([ok("running"), ok("cancelled")], JobCancelledError),
        ([ok("running")], WaitTimeoutError),
        ([json_answer(503, {"detail": "down"})], WaitTimeoutError),
        ([ok("running"), json_answer(404, {"detail": "Batch job not found"})], NotFoundError),
        ([ok("running"), ok("a-status-nobody-knows"), ok("COMPLETED")], None),
    ],
    ids=["completed", "failed", "cancelled", "timeout", "down-until-timeout", "gone", "odd-status"],
)
def test_every_way_a_wait_ends_leaves_the_key_out(
    watch: Watch,
    serve: Callable[..., FaultServer],
    steps: list[Step],
    expected: type[LlamaCloudError] | None,
) -> None:
    server = serve(*steps)
    fake = FakeTime()
    seen: list[str] = []
    with client_on(server) as client:
        try:
            final = client.wait_until_done(
                JOB_ID,
                timeout=120.0,
                clock=fake.clock,
                sleep=fake.sleep,
                on_progress=lambda resp: seen.append(repr(resp)),
            )
        except LlamaCloudError as exc:
            assert expected is not None and isinstance(exc, expected), repr(exc)
            watch.exception(exc)
        else:
            assert expected is None
            watch.text("repr(final)", repr(final))
    for text in seen:
        watch.text("on_progress", text)


async def test_the_async_client_leaves_the_key_out(
    watch: Watch, serve: Callable[..., FaultServer]
) -> None:
    server = serve(json_answer(503, {"detail": "busy"}), ok("running"), ok("failed"))
    async with AsyncBatchClient(KEY, base_url=server.origin, timeout=0.5) as client:
        watch.text("repr(async client)", repr(client))

        async def no_sleep(seconds: float) -> None:
            await asyncio.sleep(0)

        with pytest.raises(JobFailedError) as caught:
            await client.wait_until_done(JOB_ID, timeout=60.0, sleep=no_sleep)
    watch.exception(caught.value)


def test_configuration_errors_leave_the_key_out(watch: Watch) -> None:
    for bad in ("http://", "ftp://host", "http://h/?q=1"):
        with pytest.raises(ValueError) as caught:
            BatchClient(KEY, base_url=bad)
        watch.exception(caught.value)
    with pytest.raises(LlamaCloudError) as key_error:
        # Surrounding white space is stripped (a key read from a file ends in a newline);
        # a line break inside the key is refused.
        BatchClient(KEY[:8] + "\n" + KEY[8:], base_url="http://127.0.0.1:9")
    watch.exception(key_error.value)
    settings = resolve_settings(
        api_key=KEY,
        base_url=None,
        project_id="p",
        organization_id="o",
        timeout=None,
        max_retries=2,
        environ={},
    )
    watch.text("repr(settings)", repr(settings))
    watch.text("str(settings)", str(settings))
    logging.getLogger("llamacloud_batch").debug("configuration checked")  # the watch needs a record


def test_a_key_that_cannot_be_a_header_is_refused_without_echoing_it() -> None:
    watch = Watch()
    odd_key = KEY + "-ü"
    try:
        with BatchClient(odd_key, base_url="http://127.0.0.1:9", max_retries=0) as client:
            client.get_status(JOB_ID)
    except BaseException as exc:
        watch.exception(exc)
        assert isinstance(exc, LlamaCloudError), f"untyped: {type(exc).__name__}"
        watch.assert_clean()


def test_no_attribute_of_a_client_shows_the_key_in_its_repr() -> None:
    watch = Watch()
    with BatchClient(KEY, base_url="http://127.0.0.1:9") as client:
        for name, value in vars(client).items():
            watch.text(f"repr(client.{name})", repr(value))
        watch.assert_clean()


def test_a_server_echoing_the_key_does_not_put_it_in_the_message(
    serve: Callable[..., FaultServer],
) -> None:
    watch = Watch()
    server = serve(json_answer(401, {"detail": f"Invalid token 'Bearer {KEY}'"}))
    with client_on(server) as client, pytest.raises(APIStatusError) as caught:
        client.get_status(JOB_ID)
    watch.text("str(error)", str(caught.value))
    watch.assert_clean()


# ---------------------------------------------------------------------------------------------
# The CLI, as a user runs it


def run_cli(*args: str, key_in_env: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LLAMA_CLOUD_", "LLAMA_PARSE_"))
    }
    if key_in_env:
        env["LLAMA_CLOUD_API_KEY"] = KEY
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "llamacloud_batch", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_LIMIT_S,
        check=False,
    )


CLI_CASES: dict[str, tuple[list[Step], list[str], int]] = {
    "status-ok": ([ok("running")], ["status", JOB_ID], 0),
    "status-json": ([ok("running")], ["status", JOB_ID, "--json"], 0),
    "status-401": ([json_answer(401, {"detail": "Invalid API key"})], ["status", JOB_ID], 5),
    "status-503-retried": (
        [json_answer(503, {"detail": "down"}, {"Retry-After": "0"})],
        ["status", JOB_ID],
        5,
    ),
    "status-dropped": ([drop()], ["status", JOB_ID], 5),
    "status-bad-body": ([answer(200, b"<html>proxy</html>")], ["status", JOB_ID], 5),
    "wait-failed": (
        [ok("running"), ok("failed", error_message="bad file")],
        ["wait", JOB_ID, "--interval", "0.05", "--timeout", "30"],
        1,
    ),
    "wait-timeout": (
        [ok("running")],
        ["wait", JOB_ID, "--interval", "0.05", "--timeout", "0.3"],
        4,
    ),
}


RETRIED = {"status-503-retried", "status-dropped"}


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_output_leaves_the_key_out(
    serve: Callable[..., FaultServer], case: str, debug: bool
) -> None:
    steps, args, expected_code = CLI_CASES[case]
    server = serve(*steps)
    flags = ["--base-url", server.origin, *(["--debug"] if debug else [])]
    done = run_cli(*args, *flags)
    assert done.returncode == expected_code, done.stderr
    assert server.seen and server.seen[0].carries(KEY), "the key was not used"
    assert not leaked_in(done.stdout), done.stdout
    assert not leaked_in(done.stderr), done.stderr
    if debug and case in RETRIED:
        assert "Retrying" in done.stderr, "--debug did not turn the library's logging on"


def test_cli_with_the_key_on_the_command_line_does_not_print_it(
    serve: Callable[..., FaultServer],
) -> None:
    server = serve(json_answer(403, {"detail": "Not allowed"}))
    done = run_cli(
        "status", JOB_ID, "--base-url", server.origin, "--api-key", KEY, "--debug", key_in_env=False
    )
    assert done.returncode == 5, done.stderr
    assert server.seen[0].carries(KEY)
    assert not leaked_in(done.stdout + done.stderr), done.stderr


def test_cli_configuration_errors_do_not_print_the_key() -> None:
    for args in (["--base-url", "notaurl"], ["--base-url", "http://h/?q=1"]):
        done = run_cli("status", JOB_ID, *args, "--debug")
        assert done.returncode == 2, done.stderr
        assert not leaked_in(done.stdout + done.stderr), done.stderr
    # A loopback base URL, so that a key wrongly accepted could never send a request outside.
    broken_key = KEY[:8] + "\n" + KEY[8:]
    done = run_cli(
        "status",
        JOB_ID,
        "--base-url",
        "http://127.0.0.1:9",
        "--api-key",
        broken_key,
        key_in_env=False,
    )
    assert done.returncode == 2, done.stderr
    assert not leaked_in(done.stdout + done.stderr), done.stderr
