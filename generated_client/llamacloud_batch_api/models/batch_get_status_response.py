from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..models.job import Job


T = TypeVar("T", bound="BatchGetStatusResponse")


class BatchGetStatusResponse:
    """A batch job's state, with the share of its items already handled.

    Attributes:
        job (Job): One batch processing job.
        progress_percentage (float): Share of the job's items handled so far, from 0 to 100.
    """

    __slots__ = ("job", "progress_percentage", "additional_properties", "__weakref__")
    __match_args__ = (
        "job",
        "progress_percentage",
    )

    job: Job
    progress_percentage: float
    additional_properties: dict[str, Any]

    def __init__(
        self,
        job: Job,
        progress_percentage: float,
    ) -> None:
        self.job = job
        self.progress_percentage = progress_percentage
        self.additional_properties = {}

    def __repr__(self) -> str:
        return (
            "BatchGetStatusResponse("
            f"job={self.job!r}, "
            f"progress_percentage={self.progress_percentage!r}, "
            f"additional_properties={self.additional_properties!r}"
            ")"
        )

    def __eq__(self, other: object) -> bool:
        # Only an instance of this very class can be equal (not one of a subclass).
        if (
            not isinstance(other, BatchGetStatusResponse)
            or other.__class__ is not self.__class__
        ):
            return NotImplemented
        return (
            self.job,
            self.progress_percentage,
            self.additional_properties,
        ) == (
            other.job,
            other.progress_percentage,
            other.additional_properties,
        )

    def to_dict(self) -> dict[str, Any]:
        job = self.job.to_dict()

        progress_percentage = self.progress_percentage

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict["job"] = job
        field_dict["progress_percentage"] = progress_percentage
        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.job import Job  # noqa: PLC0415

        d = dict(src_dict)
        job = Job.from_dict(d.pop("job"))

        progress_percentage = d.pop("progress_percentage")
        batch_get_status_response = cls(
            job=job,
            progress_percentage=progress_percentage,
        )
        batch_get_status_response.additional_properties = d
        return batch_get_status_response

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
