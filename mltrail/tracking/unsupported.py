"""MLflow arguments that mltrail accepts but cannot honour: one warning, never silence.

mltrail's public functions take exactly the keyword arguments of MLflow's function of
the same name, so a script written for MLflow runs unchanged and a misspelt keyword is
Python's own ``TypeError``.  Some of those arguments mean nothing here (``synchronous``:
mltrail always writes synchronously; ``model_id``: there are no MLflow 3 logged models
yet ...).  A call that gives one of them a value that would change MLflow's behaviour
gets a :class:`NoEffectWarning`, once per process for each function and argument; the
harmless values (the default, or the one that matches what mltrail does) pass quietly.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Any


class NoEffectWarning(UserWarning):
    """An MLflow argument was given a value mltrail cannot honour; the value is ignored.

    Each function warns once per process for each such argument.  Filter it by this name
    to silence it.

    Example:
        >>> import warnings, mltrail
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     with mltrail.start_run(log_system_metrics=True):
        ...         pass
        >>> [w.category.__name__ for w in caught]
        ['NoEffectWarning']
    """


@dataclass(frozen=True)
class _Ignored:
    why: str
    #: Values that need no warning: they ask for what mltrail does anyway.
    harmless: tuple[Any, ...] = (None,)


_SYNC = _Ignored("mltrail always logs synchronously", (None, True))
_LOGGED_MODEL = "log_model always creates a new logged model; adding files to one is not supported"
_NO_REGISTRY_WAIT = "registration is one local git commit, finished when the call returns"
_UV = "mltrail infers requirements from the imported modules, not from a uv project"
_NOT_SERVING = "it only affects Databricks model serving"

#: argument name -> why it has no effect (shared by every function that accepts it).
REASONS: dict[str, _Ignored] = {
    "synchronous": _SYNC,
    "model_id": _Ignored(_LOGGED_MODEL),
    "dataset": _Ignored("mltrail records no dataset inputs yet"),
    "dataset_name": _Ignored("mltrail records no dataset inputs yet"),
    "dataset_digest": _Ignored("mltrail records no dataset inputs yet"),
    "trace_location": _Ignored("mltrail records no traces"),
    "log_system_metrics": _Ignored("mltrail collects no system metrics", (None, False)),
    "registry_uri": _Ignored("the registry always lives in the tracking store"),
    "workspace_store_uri": _Ignored("mltrail has no workspaces"),
    "deployment_job_id": _Ignored("mltrail has no deployment jobs"),
    "await_registration_for": _Ignored(_NO_REGISTRY_WAIT, (None, 300, 0)),
    "await_creation_for": _Ignored(_NO_REGISTRY_WAIT, (None, 300, 0)),
    "env_pack": _Ignored(_NOT_SERVING),
    "infer_code_paths": _Ignored("give code_paths explicitly", (None, False)),
    "streamable": _Ignored("mltrail models have no predict_stream", (None, False)),
    "resources": _Ignored(_NOT_SERVING),
    "auth_policy": _Ignored(_NOT_SERVING),
    "uv_project_path": _Ignored(_UV),
    "uv_groups": _Ignored(_UV),
    "uv_extras": _Ignored(_UV),
    "prompts": _Ignored("mltrail has no prompt registry"),
    "params": _Ignored(_LOGGED_MODEL + " (log run params with log_params)"),
    "tags": _Ignored(_LOGGED_MODEL + " (tag the run with set_tags)"),
    "model_type": _Ignored(_LOGGED_MODEL),
    "step": _Ignored(_LOGGED_MODEL, (None, 0)),
}

_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()


def _is_harmless(value: Any, harmless: tuple[Any, ...]) -> bool:
    """``value`` is one of ``harmless`` (``0`` is not ``False``, ``1`` is not ``True``)."""
    return any(value is h or (type(value) is type(h) and value == h) for h in harmless)


def warn_ignored(function: str, stacklevel: int = 3, **given: Any) -> None:
    """Warn once per process for each of ``given`` whose value mltrail cannot honour.

    Args:
        function: the public name the user called, e.g. ``"mltrail.log_metric"``.
        stacklevel: how far up the stack the user's call is (3: the caller's caller).
        given: argument name -> the value the user passed (names from :data:`REASONS`).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_ignored("example", synchronous=True)  # harmless: nothing to say
        ...     warn_ignored("example", synchronous=False)
        >>> [str(w.message).split(":")[0] for w in caught]
        ['example(synchronous=False) has no effect']
    """
    for argument, value in given.items():
        ignored = REASONS[argument]
        if _is_harmless(value, ignored.harmless):
            continue
        with _lock:
            if (function, argument) in _warned:
                continue
            _warned.add((function, argument))
        warnings.warn(
            f"{function}({argument}={value!r}) has no effect: {ignored.why}. "
            "(Warned once per process.)",
            NoEffectWarning,
            stacklevel=stacklevel,
        )
