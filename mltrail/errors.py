"""The one exception hierarchy of mltrail.

Every error raised on purpose is a :class:`MltrailError`; the CLI turns them into a
one-line message and a non-zero exit code.  ``MlflowException`` is an alias so code
written for MLflow that catches it keeps working, and each error carries MLflow's
``error_code`` string (``RESOURCE_DOES_NOT_EXIST``, ``INVALID_PARAMETER_VALUE`` ...), which
such code compares against.
"""

from __future__ import annotations

from typing import Any

INTERNAL_ERROR = "INTERNAL_ERROR"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_STATE = "INVALID_STATE"
#: The HTTP status MLflow's server answers each code with.
HTTP_STATUS = {
    INVALID_PARAMETER_VALUE: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    RESOURCE_ALREADY_EXISTS: 400,
    INVALID_STATE: 500,
    INTERNAL_ERROR: 500,
}


class MltrailError(Exception):
    """The base class of every error mltrail raises on purpose.

    ``mltrail.MlflowException`` is the same class, so code written for MLflow that
    catches ``MlflowException`` keeps working.  Its subclasses say what went wrong
    (``InvalidParameterValue``, ``ResourceNotFound`` ... in ``mltrail.errors``); the CLI
    turns each into a one-line message and a non-zero exit code.

    Example:
        >>> import mltrail
        >>> try:
        ...     mltrail.get_experiment("12345")
        ... except mltrail.MlflowException as e:
        ...     type(e).__name__
        'ResourceNotFound'
    """

    #: CLI exit code for this kind of error (2: bad input / usage, 1: failure).
    exit_code = 1
    #: MLflow's name for this kind of error.
    error_code = INTERNAL_ERROR

    def __init__(self, message: Any = "", error_code: str | None = None, **kwargs: Any) -> None:
        """``MlflowException(message, error_code=...)`` as in MLflow (an ``error_code``
        given names the error; other keyword arguments are kept, like MLflow's)."""
        super().__init__(message)
        if error_code is not None:
            self.error_code = str(error_code)
        self.json_kwargs = kwargs

    @property
    def message(self) -> str:
        """The error's text (MLflow's attribute)."""
        return str(self.args[0]) if self.args else ""

    def get_http_status_code(self) -> int:
        """The HTTP status MLflow's server answers this error with."""
        return HTTP_STATUS.get(self.error_code, 500)

    @classmethod
    def invalid_parameter_value(cls, message: str, **kwargs: Any) -> MltrailError:
        """An ``INVALID_PARAMETER_VALUE`` error (MLflow's shortcut)."""
        return InvalidParameterValue(message, **kwargs)


class InvalidParameterValue(MltrailError, ValueError):
    """A key, value, path or argument the user passed is not acceptable."""

    exit_code = 2
    error_code = INVALID_PARAMETER_VALUE


class ResourceNotFound(MltrailError, LookupError):
    """A run, experiment, metric or artifact does not exist."""

    exit_code = 2
    error_code = RESOURCE_DOES_NOT_EXIST


class ResourceAlreadyExists(MltrailError):
    """Something with that name or id exists already."""

    exit_code = 2
    error_code = RESOURCE_ALREADY_EXISTS


class StoreError(MltrailError):
    """The store on disk is missing, unreadable or corrupted."""


class CorruptedRecord(StoreError):
    """One record file of the store cannot be parsed."""


class GitError(MltrailError):
    """A git operation on the store failed."""


class RegistryConflict(MltrailError):
    """Registry records disagree (two versions with one number after merging two clones);
    the message names the command that resolves it."""

    error_code = INVALID_STATE


MlflowException = MltrailError
