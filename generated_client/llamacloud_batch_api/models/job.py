from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from ..models.job_status import JobStatus
from ..models.job_type import JobType
from ..types import UNSET, Unset

T = TypeVar("T", bound="Job")


class Job:
    """One batch processing job.

    Attributes:
        id (str): The job's identifier.
        job_type (JobType | str): What the job does to each item. Values outside the known set may appear.
        project_id (str): The project the job belongs to.
        status (JobStatus | str): Where the job is in its life. Values outside the known set may appear.
        total_items (int): How many items the job covers.
        completed_at (datetime.datetime | None | Unset): When the job reached a final state.
        created_at (datetime.datetime | None | Unset): When the job was created.
        directory_id (None | str | Unset): The directory whose documents the job processes.
        effective_at (datetime.datetime | None | Unset): When the job's current state took effect.
        error_message (None | str | Unset): Why the latest attempt failed, when it did.
        failed_items (int | None | Unset): Items whose processing failed.
        job_record_id (None | str | Unset): The job record linked to this status, if any.
        processed_items (int | None | Unset): Items handled so far.
        skipped_items (int | None | Unset): Items left out, because they were already processed or too large.
        started_at (datetime.datetime | None | Unset): When processing began.
        updated_at (datetime.datetime | None | Unset): When the job record last changed.
        workflow_id (None | str | Unset): Identifier of the workflow that runs the job.
    """

    __slots__ = (
        "id",
        "job_type",
        "project_id",
        "status",
        "total_items",
        "completed_at",
        "created_at",
        "directory_id",
        "effective_at",
        "error_message",
        "failed_items",
        "job_record_id",
        "processed_items",
        "skipped_items",
        "started_at",
        "updated_at",
        "workflow_id",
        "additional_properties",
        "__weakref__",
    )
    __match_args__ = (
        "id",
        "job_type",
        "project_id",
        "status",
        "total_items",
        "completed_at",
        "created_at",
        "directory_id",
        "effective_at",
        "error_message",
        "failed_items",
        "job_record_id",
        "processed_items",
        "skipped_items",
        "started_at",
        "updated_at",
        "workflow_id",
    )

    id: str
    job_type: JobType | str
    project_id: str
    status: JobStatus | str
    total_items: int
    completed_at: datetime.datetime | None | Unset
    created_at: datetime.datetime | None | Unset
    directory_id: None | str | Unset
    effective_at: datetime.datetime | None | Unset
    error_message: None | str | Unset
    failed_items: int | None | Unset
    job_record_id: None | str | Unset
    processed_items: int | None | Unset
    skipped_items: int | None | Unset
    started_at: datetime.datetime | None | Unset
    updated_at: datetime.datetime | None | Unset
    workflow_id: None | str | Unset
    additional_properties: dict[str, Any]

    def __init__(
        self,
        id: str,
        job_type: JobType | str,
        project_id: str,
        status: JobStatus | str,
        total_items: int,
        completed_at: datetime.datetime | None | Unset = UNSET,
        created_at: datetime.datetime | None | Unset = UNSET,
        directory_id: None | str | Unset = UNSET,
        effective_at: datetime.datetime | None | Unset = UNSET,
        error_message: None | str | Unset = UNSET,
        failed_items: int | None | Unset = UNSET,
        job_record_id: None | str | Unset = UNSET,
        processed_items: int | None | Unset = UNSET,
        skipped_items: int | None | Unset = UNSET,
        started_at: datetime.datetime | None | Unset = UNSET,
        updated_at: datetime.datetime | None | Unset = UNSET,
        workflow_id: None | str | Unset = UNSET,
    ) -> None:
        self.id = id
        self.job_type = job_type
        self.project_id = project_id
        self.status = status
        self.total_items = total_items
        self.completed_at = completed_at
        self.created_at = created_at
        self.directory_id = directory_id
        self.effective_at = effective_at
        self.error_message = error_message
        self.failed_items = failed_items
        self.job_record_id = job_record_id
        self.processed_items = processed_items
        self.skipped_items = skipped_items
        self.started_at = started_at
        self.updated_at = updated_at
        self.workflow_id = workflow_id
        self.additional_properties = {}

    def __repr__(self) -> str:
        return (
            "Job("
            f"id={self.id!r}, "
            f"job_type={self.job_type!r}, "
            f"project_id={self.project_id!r}, "
            f"status={self.status!r}, "
            f"total_items={self.total_items!r}, "
            f"completed_at={self.completed_at!r}, "
            f"created_at={self.created_at!r}, "
            f"directory_id={self.directory_id!r}, "
            f"effective_at={self.effective_at!r}, "
            f"error_message={self.error_message!r}, "
            f"failed_items={self.failed_items!r}, "
            f"job_record_id={self.job_record_id!r}, "
            f"processed_items={self.processed_items!r}, "
            f"skipped_items={self.skipped_items!r}, "
            f"started_at={self.started_at!r}, "
            f"updated_at={self.updated_at!r}, "
            f"workflow_id={self.workflow_id!r}, "
            f"additional_properties={self.additional_properties!r}"
            ")"
        )

    def __eq__(self, other: object) -> bool:
        # Only an instance of this very class can be equal (not one of a subclass).
        if not isinstance(other, Job) or other.__class__ is not self.__class__:
            return NotImplemented
        return (
            self.id,
            self.job_type,
            self.project_id,
            self.status,
            self.total_items,
            self.completed_at,
            self.created_at,
            self.directory_id,
            self.effective_at,
            self.error_message,
            self.failed_items,
            self.job_record_id,
            self.processed_items,
            self.skipped_items,
            self.started_at,
            self.updated_at,
            self.workflow_id,
            self.additional_properties,
        ) == (
            other.id,
            other.job_type,
            other.project_id,
            other.status,
            other.total_items,
            other.completed_at,
            other.created_at,
            other.directory_id,
            other.effective_at,
            other.error_message,
            other.failed_items,
            other.job_record_id,
            other.processed_items,
            other.skipped_items,
            other.started_at,
            other.updated_at,
            other.workflow_id,
            other.additional_properties,
        )

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        job_type: str
        if isinstance(self.job_type, JobType):
            job_type = self.job_type.value
        else:
            job_type = self.job_type

        project_id = self.project_id

        status: str
        if isinstance(self.status, JobStatus):
            status = self.status.value
        else:
            status = self.status

        total_items = self.total_items

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        elif isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        created_at: None | str | Unset
        if isinstance(self.created_at, Unset):
            created_at = UNSET
        elif isinstance(self.created_at, datetime.datetime):
            created_at = self.created_at.isoformat()
        else:
            created_at = self.created_at

        directory_id: None | str | Unset
        if isinstance(self.directory_id, Unset):
            directory_id = UNSET
        else:
            directory_id = self.directory_id

        effective_at: None | str | Unset
        if isinstance(self.effective_at, Unset):
            effective_at = UNSET
        elif isinstance(self.effective_at, datetime.datetime):
            effective_at = self.effective_at.isoformat()
        else:
            effective_at = self.effective_at

        error_message: None | str | Unset
        if isinstance(self.error_message, Unset):
            error_message = UNSET
        else:
            error_message = self.error_message

        failed_items: int | None | Unset
        if isinstance(self.failed_items, Unset):
            failed_items = UNSET
        else:
            failed_items = self.failed_items

        job_record_id: None | str | Unset
        if isinstance(self.job_record_id, Unset):
            job_record_id = UNSET
        else:
            job_record_id = self.job_record_id

        processed_items: int | None | Unset
        if isinstance(self.processed_items, Unset):
            processed_items = UNSET
        else:
            processed_items = self.processed_items

        skipped_items: int | None | Unset
        if isinstance(self.skipped_items, Unset):
            skipped_items = UNSET
        else:
            skipped_items = self.skipped_items

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        updated_at: None | str | Unset
        if isinstance(self.updated_at, Unset):
            updated_at = UNSET
        elif isinstance(self.updated_at, datetime.datetime):
            updated_at = self.updated_at.isoformat()
        else:
            updated_at = self.updated_at

        workflow_id: None | str | Unset
        if isinstance(self.workflow_id, Unset):
            workflow_id = UNSET
        else:
            workflow_id = self.workflow_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict["id"] = id
        field_dict["job_type"] = job_type
        field_dict["project_id"] = project_id
        field_dict["status"] = status
        field_dict["total_items"] = total_items
        if completed_at is not UNSET:
            field_dict["completed_at"] = completed_at
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if directory_id is not UNSET:
            field_dict["directory_id"] = directory_id
        if effective_at is not UNSET:
            field_dict["effective_at"] = effective_at
        if error_message is not UNSET:
            field_dict["error_message"] = error_message
        if failed_items is not UNSET:
            field_dict["failed_items"] = failed_items
        if job_record_id is not UNSET:
            field_dict["job_record_id"] = job_record_id
        if processed_items is not UNSET:
            field_dict["processed_items"] = processed_items
        if skipped_items is not UNSET:
            field_dict["skipped_items"] = skipped_items
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at
        if workflow_id is not UNSET:
            field_dict["workflow_id"] = workflow_id
        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        def _parse_job_type(data: object) -> JobType | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                job_type_type_0 = JobType(data)

                return job_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobType | str, data)

        job_type = _parse_job_type(d.pop("job_type"))

        project_id = d.pop("project_id")

        def _parse_status(data: object) -> JobStatus | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                status_type_0 = JobStatus(data)

                return status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobStatus | str, data)

        status = _parse_status(d.pop("status"))

        total_items = d.pop("total_items")

        def _parse_completed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        completed_at = _parse_completed_at(d.pop("completed_at", UNSET))

        def _parse_created_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_at_type_0 = datetime.datetime.fromisoformat(data)

                return created_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        created_at = _parse_created_at(d.pop("created_at", UNSET))

        def _parse_directory_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        directory_id = _parse_directory_id(d.pop("directory_id", UNSET))

        def _parse_effective_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                effective_at_type_0 = datetime.datetime.fromisoformat(data)

                return effective_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        effective_at = _parse_effective_at(d.pop("effective_at", UNSET))

        def _parse_error_message(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_message = _parse_error_message(d.pop("error_message", UNSET))

        def _parse_failed_items(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        failed_items = _parse_failed_items(d.pop("failed_items", UNSET))

        def _parse_job_record_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        job_record_id = _parse_job_record_id(d.pop("job_record_id", UNSET))

        def _parse_processed_items(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        processed_items = _parse_processed_items(d.pop("processed_items", UNSET))

        def _parse_skipped_items(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        skipped_items = _parse_skipped_items(d.pop("skipped_items", UNSET))

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_updated_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                updated_at_type_0 = datetime.datetime.fromisoformat(data)

                return updated_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        updated_at = _parse_updated_at(d.pop("updated_at", UNSET))

        def _parse_workflow_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        workflow_id = _parse_workflow_id(d.pop("workflow_id", UNSET))

        job = cls(
            id=id,
            job_type=job_type,
            project_id=project_id,
            status=status,
            total_items=total_items,
            completed_at=completed_at,
            created_at=created_at,
            directory_id=directory_id,
            effective_at=effective_at,
            error_message=error_message,
            failed_items=failed_items,
            job_record_id=job_record_id,
            processed_items=processed_items,
            skipped_items=skipped_items,
            started_at=started_at,
            updated_at=updated_at,
            workflow_id=workflow_id,
        )
        job.additional_properties = d
        return job

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties)

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
