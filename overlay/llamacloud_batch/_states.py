"""Facts about job states that both a status read and a wait need, kept out of `_wait`."""

from typing import Final

from llamacloud_batch_api.models import JobStatus

__all__ = ["TERMINAL_STATUSES"]

# A job in one of these never changes again. Any other value, known or not, may still move.
TERMINAL_STATUSES: Final = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
