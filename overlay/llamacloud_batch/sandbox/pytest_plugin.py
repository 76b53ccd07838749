"""Pytest fixtures (registered through the `pytest11` entry point): a running sandbox and a
client bound to it. Imports stay inside the fixtures, since pytest loads this in every run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from llamacloud_batch import BatchClient
    from llamacloud_batch.sandbox import Sandbox


@pytest.fixture
def llamacloud_sandbox() -> Iterator[Sandbox]:
    """A sandbox serving on loopback for the test's duration (key: `.api_key`, URL: `.url`)."""
    from llamacloud_batch.sandbox import Sandbox

    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def llamacloud_client(llamacloud_sandbox: Sandbox) -> Iterator[BatchClient]:
    """A BatchClient bound to `llamacloud_sandbox`."""
    from llamacloud_batch import BatchClient

    with BatchClient(api_key=llamacloud_sandbox.api_key, base_url=llamacloud_sandbox.url) as client:
        yield client
