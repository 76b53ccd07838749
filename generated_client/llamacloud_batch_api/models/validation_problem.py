from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from ..types import UNSET, Unset

T = TypeVar("T", bound="ValidationProblem")


class ValidationProblem:
    """One parameter that failed the server's validation (FastAPI's shape).

    Attributes:
        msg (str): What is wrong, in words.
        loc (list[int | str] | Unset): Where the problem is, e.g. `["query", "project_id"]`.
        type_ (str | Unset): A machine-readable kind of problem.
    """

    __slots__ = ("msg", "loc", "type_", "additional_properties", "__weakref__")
    __match_args__ = (
        "msg",
        "loc",
        "type_",
    )

    msg: str
    loc: list[int | str] | Unset
    type_: str | Unset
    additional_properties: dict[str, Any]

    def __init__(
        self,
        msg: str,
        loc: list[int | str] | Unset = UNSET,
        type_: str | Unset = UNSET,
    ) -> None:
        self.msg = msg
        self.loc = loc
        self.type_ = type_
        self.additional_properties = {}

    def __repr__(self) -> str:
        return (
            "ValidationProblem("
            f"msg={self.msg!r}, "
            f"loc={self.loc!r}, "
            f"type_={self.type_!r}, "
            f"additional_properties={self.additional_properties!r}"
            ")"
        )

    def __eq__(self, other: object) -> bool:
        # Only an instance of this very class can be equal (not one of a subclass).
        if (
            not isinstance(other, ValidationProblem)
            or other.__class__ is not self.__class__
        ):
            return NotImplemented
        return (
            self.msg,
            self.loc,
            self.type_,
            self.additional_properties,
        ) == (
            other.msg,
            other.loc,
            other.type_,
            other.additional_properties,
        )

    def to_dict(self) -> dict[str, Any]:
        msg = self.msg

        loc: list[int | str] | Unset = UNSET
        if not isinstance(self.loc, Unset):
            loc = []
            for loc_item_data in self.loc:
                loc_item: int | str
                loc_item = loc_item_data
                loc.append(loc_item)

        type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict["msg"] = msg
        if loc is not UNSET:
            field_dict["loc"] = loc
        if type_ is not UNSET:
            field_dict["type"] = type_
        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        msg = d.pop("msg")
        _loc = d.pop("loc", UNSET)
        loc: list[int | str] | Unset = UNSET
        if _loc is not UNSET:
            loc = []
            for loc_item_data in _loc:

                def _parse_loc_item(data: object) -> int | str:
                    return cast(int | str, data)

                loc_item = _parse_loc_item(loc_item_data)

                loc.append(loc_item)

        type_ = d.pop("type", UNSET)
        validation_problem = cls(
            msg=msg,
            loc=loc,
            type_=type_,
        )
        validation_problem.additional_properties = d
        return validation_problem

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
