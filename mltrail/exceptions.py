"""MLflow's ``mlflow.exceptions``, for code that imports its errors from there.

``MlflowException`` is mltrail's base error (:class:`mltrail.errors.MltrailError`): every
error mltrail raises on purpose is one, and carries MLflow's ``error_code`` string.
"""

from mltrail.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MlflowException,
)
from mltrail.projects.runner import ExecutionException

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMETER_VALUE",
    "INVALID_STATE",
    "RESOURCE_ALREADY_EXISTS",
    "RESOURCE_DOES_NOT_EXIST",
    "ExecutionException",
    "MlflowException",
]
