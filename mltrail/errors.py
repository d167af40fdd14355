"""The one exception hierarchy of mltrail.

Every error raised on purpose is a :class:`MltrailError`; the CLI turns them into a
one-line message and a non-zero exit code.  ``MlflowException`` is an alias so code
written for MLflow that catches it keeps working.
"""

from __future__ import annotations


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


class InvalidParameterValue(MltrailError, ValueError):
    """A key, value, path or argument the user passed is not acceptable."""

    exit_code = 2


class ResourceNotFound(MltrailError, LookupError):
    """A run, experiment, metric or artifact does not exist."""

    exit_code = 2


class ResourceAlreadyExists(MltrailError):
    """Something with that name or id exists already."""

    exit_code = 2


class StoreError(MltrailError):
    """The store on disk is missing, unreadable or corrupted."""


class CorruptedRecord(StoreError):
    """One record file of the store cannot be parsed."""


class GitError(MltrailError):
    """A git operation on the store failed."""


class RegistryConflict(MltrailError):
    """Registry records disagree (two versions with one number after merging two clones);
    the message names the command that resolves it."""


MlflowException = MltrailError
