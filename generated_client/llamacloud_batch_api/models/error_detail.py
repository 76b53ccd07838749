from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from ..models.validation_problem import ValidationProblem


T = TypeVar("T", bound="ErrorDetail")


class ErrorDetail:
    """The error body the service sends, a message or a list of validation problems.

    Attributes:
        detail (list[ValidationProblem] | str): A human-readable message, or one entry per parameter that failed
            validation.
    """

    __slots__ = ("detail", "additional_properties", "__weakref__")
    __match_args__ = ("detail",)

    detail: list[ValidationProblem] | str
    additional_properties: dict[str, Any]

    def __init__(
        self,
        detail: list[ValidationProblem] | str,
    ) -> None:
        self.detail = detail
        self.additional_properties = {}

    def __repr__(self) -> str:
        return (
            "ErrorDetail("
            f"detail={self.detail!r}, "
            f"additional_properties={self.additional_properties!r}"
            ")"
        )

    def __eq__(self, other: object) -> bool:
        # Only an instance of this very class can be equal (not one of a subclass).
        if not isinstance(other, ErrorDetail) or other.__class__ is not self.__class__:
            return NotImplemented
        return (
            self.detail,
            self.additional_properties,
        ) == (
            other.detail,
            other.additional_properties,
        )

    def to_dict(self) -> dict[str, Any]:
        detail: list[dict[str, Any]] | str
        if isinstance(self.detail, list):
            detail = []
            for detail_type_1_item_data in self.detail:
                detail_type_1_item = detail_type_1_item_data.to_dict()
                detail.append(detail_type_1_item)

        else:
            detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict["detail"] = detail
        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.validation_problem import ValidationProblem  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_detail(data: object) -> list[ValidationProblem] | str:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                detail_type_1 = []
                _detail_type_1 = data
                for detail_type_1_item_data in _detail_type_1:
                    detail_type_1_item = ValidationProblem.from_dict(
                        detail_type_1_item_data
                    )

                    detail_type_1.append(detail_type_1_item)

                return detail_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[ValidationProblem] | str, data)

        detail = _parse_detail(d.pop("detail"))

        error_detail = cls(
            detail=detail,
        )
        error_detail.additional_properties = d
        return error_detail

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
