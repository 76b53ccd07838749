"""The live progress display for terminals, drawn with rich: one bar per job with its items,
status, elapsed time and ETA. Only the CLI imports this, and only when it draws one."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TextIO

from llamacloud_batch_api.models import BatchGetStatusResponse, JobStatus
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TaskProgressColumn
from rich.table import Column
from rich.text import Text

from ._render import Display, Tracker, duration_text, safe, status_name, summary_lines

__all__ = ["LiveDisplay"]

_STATUS_STYLES = {
    JobStatus.PENDING: "cyan",
    JobStatus.DISPATCHED: "cyan",
    JobStatus.RUNNING: "yellow",
    JobStatus.COMPLETED: "green",
    JobStatus.FAILED: "bold red",
    JobStatus.CANCELLED: "magenta",
}


class _JobColumn(ProgressColumn):
    def __init__(self) -> None:
        # Ids are long (bjb-<uuid>): on a narrow terminal this column alone gives way (rich
        # narrows only wrappable columns first), cut short with an ellipsis, never wrapped.
        super().__init__(table_column=Column(no_wrap=False, min_width=12))

    def render(self, task: Task) -> Text:
        return Text(safe(task.description), no_wrap=True, overflow="ellipsis")


class _ItemsColumn(ProgressColumn):
    def __init__(self, tracker: Tracker) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self._tracker = tracker

    def render(self, task: Task) -> Text:
        resp = self._tracker.last.get(task.fields["job_id"])
        if resp is None:
            return Text("")
        job = resp.job
        done, total = job.processed_items, job.total_items
        text = Text(f"{done if isinstance(done, int) else '?'}/{total} items")
        if isinstance(job.failed_items, int) and job.failed_items:
            text.append(f", {job.failed_items} failed", style="red")
        # Skipped items count toward the percentage too; without them 100 % reads as 38/40.
        if isinstance(job.skipped_items, int) and job.skipped_items:
            text.append(f", {job.skipped_items} skipped", style="dim")
        return text


class _StatusColumn(ProgressColumn):
    def __init__(self, tracker: Tracker) -> None:
        super().__init__(table_column=Column(no_wrap=True, min_width=9))
        self._tracker = tracker

    def render(self, task: Task) -> Text:
        resp = self._tracker.last.get(task.fields["job_id"])
        if resp is None:
            return Text("waiting", style="dim")
        status = resp.job.status
        style = _STATUS_STYLES.get(status, "") if isinstance(status, JobStatus) else ""
        return Text(status_name(status), style=style)


class _ElapsedColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(duration_text(task.elapsed or 0.0), style="progress.elapsed")


class _EtaColumn(ProgressColumn):
    def __init__(self, tracker: Tracker) -> None:
        super().__init__(table_column=Column(no_wrap=True, min_width=9))
        self._tracker = tracker

    def render(self, task: Task) -> Text:
        job_id = task.fields["job_id"]
        if self._tracker.is_done(job_id):
            return Text("")
        eta = self._tracker.eta(job_id)
        shown = duration_text(eta) if eta is not None else "?"
        return Text(f"ETA {shown}", style="progress.remaining")


class LiveDisplay(Display):
    """Bars that redraw in place; stopping leaves their last frame and shows the cursor again."""

    def __init__(self, tracker: Tracker, out: TextIO | None = None) -> None:
        super().__init__(tracker, out)
        self._console = Console(file=self.out, highlight=False)
        self._progress = Progress(
            _JobColumn(),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            _ItemsColumn(tracker),
            _StatusColumn(tracker),
            _ElapsedColumn(),
            _EtaColumn(tracker),
            console=self._console,
            refresh_per_second=8,
        )
        self._tasks: dict[str, TaskID] = {}
        for job_id in tracker.job_ids:
            self._add(job_id)

    def _add(self, job_id: str) -> TaskID:
        task_id = self._progress.add_task(job_id, total=100.0, job_id=job_id)
        self._tasks[job_id] = task_id
        return task_id

    def __enter__(self) -> LiveDisplay:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Also on Ctrl-C: stop() draws the last frame and shows the cursor again.
        self._progress.stop()

    def changed(self, job_id: str) -> None:
        resp = self.tracker.last[job_id]
        assert resp is not None
        task_id = self._tasks.get(job_id)
        if task_id is None:
            task_id = self._add(job_id)
        self._progress.update(task_id, completed=resp.progress_percentage)
        if self.tracker.is_done(job_id):
            self._progress.stop_task(task_id)  # freezes its elapsed time

    def summary(self, finals: Mapping[str, BatchGetStatusResponse | None]) -> None:
        for line in summary_lines(finals, with_errors=True):
            self._console.print(line, markup=False)
