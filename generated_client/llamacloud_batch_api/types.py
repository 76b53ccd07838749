"""Types shared by the generated modules: the UNSET marker, file uploads, raw responses."""

from collections.abc import Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, BinaryIO, Generic, Literal, TypeVar


class Unset:
    """The type of `UNSET`: a field the server left out, as opposed to one sent as null."""

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:
        # Copies and pickles of a model give back the one UNSET, so `is UNSET` and equality
        # keep holding for them.
        return "UNSET"


UNSET: Unset = Unset()

# What `httpx.Client(files=...)` accepts.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (file name, content, content type)
    tuple[str | None, FileContent, str | None]
    # (file name, content, content type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


class File:
    """A file to upload as part of a multipart/form-data body."""

    __slots__ = ("payload", "file_name", "mime_type", "__weakref__")
    __match_args__ = (
        "payload",
        "file_name",
        "mime_type",
    )

    def __init__(
        self,
        payload: BinaryIO,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> None:
        self.payload = payload
        self.file_name = file_name
        self.mime_type = mime_type

    def to_tuple(self) -> FileTypes:
        """The tuple httpx takes for one part of a multipart/form-data body."""
        return self.file_name, self.payload, self.mime_type

    def __repr__(self) -> str:
        return (
            "File("
            f"payload={self.payload!r}, "
            f"file_name={self.file_name!r}, "
            f"mime_type={self.mime_type!r}"
            ")"
        )

    def __eq__(self, other: object) -> bool:
        # Only an instance of this very class can be equal (not one of a subclass).
        if not isinstance(other, File) or other.__class__ is not self.__class__:
            return NotImplemented
        return (
            self.payload,
            self.file_name,
            self.mime_type,
        ) == (
            other.payload,
            other.file_name,
            other.mime_type,
        )


T = TypeVar("T")


class Response(Generic[T]):
    """A response from an endpoint: its status, body, headers, and the body parsed."""

    __slots__ = ("status_code", "content", "headers", "parsed", "__weakref__")
    __match_args__ = (
        "status_code",
        "content",
        "headers",
        "parsed",
    )

    def __init__(
        self,
        status_code: HTTPStatus,
        content: bytes,
        headers: MutableMapping[str, str],
        parsed: T | None,
    ) -> None:
        self.status_code = status_code
        self.content = content
        self.headers = headers
        self.parsed = parsed

    def __repr__(self) -> str:
        return (
            "Response("
            f"status_code={self.status_code!r}, "
            f"content={self.content!r}, "
            f"headers={self.headers!r}, "
            f"parsed={self.parsed!r}"
            ")"
        )

    def __eq__(self, other: object) -> bool:
        # Only an instance of this very class can be equal (not one of a subclass).
        if not isinstance(other, Response) or other.__class__ is not self.__class__:
            return NotImplemented
        return (
            self.status_code,
            self.content,
            self.headers,
            self.parsed,
        ) == (
            other.status_code,
            other.content,
            other.headers,
            other.parsed,
        )


__all__ = ["UNSET", "File", "FileTypes", "RequestFiles", "Response", "Unset"]
