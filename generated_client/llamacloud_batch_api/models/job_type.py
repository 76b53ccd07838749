from enum import StrEnum


class JobType(StrEnum):
    CLASSIFY = "classify"
    EXTRACT = "extract"
    PARSE = "parse"

    def __str__(self) -> str:
        return str(self.value)
