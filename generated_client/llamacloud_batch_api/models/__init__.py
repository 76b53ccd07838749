"""Contains all the data models used in inputs/outputs"""

from .batch_get_status_response import BatchGetStatusResponse
from .error_detail import ErrorDetail
from .job import Job
from .job_status import JobStatus
from .job_type import JobType
from .validation_problem import ValidationProblem

__all__ = (
    "BatchGetStatusResponse",
    "ErrorDetail",
    "Job",
    "JobStatus",
    "JobType",
    "ValidationProblem",
)
