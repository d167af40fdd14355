"""The fluent API: ``start_run``, ``log_metric`` ... acting on the active run.

The active-run stack is the one piece of module state in mltrail (as in MLflow).  It
is shared by all threads of a process, so worker threads log into the run their
parent started.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from types import TracebackType
from typing import Any

from mltrail.entities import Experiment, Run, RunStatus
from mltrail.errors import InvalidParameterValue, MltrailError, ResourceAlreadyExists
from mltrail.store.writer import RunWriter
from mltrail.tracking import context
from mltrail.tracking.client import Client
from mltrail.tracking.unsupported import warn_ignored

_stack: list[ActiveRun] = []
_stack_lock = threading.RLock()
_active_experiment_id: str | None = None
_last_run_id: str | None = None
_fatal_status: str | None = None


class ActiveRun:
    """The run ``start_run`` returned; ends it when used as a context manager."""

    def __init__(self, run: Run, client: Client) -> None:
        self._run = run
        self._client = client
        self._writer: RunWriter = client.store.writer(run.info.run_id)

    @property
    def info(self) -> Any:
        return self._run.info

    @property
    def data(self) -> Any:
        return self._run.data

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.info.run_id!r}, run_name={self.info.run_name!r}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if self in _stack:
            _end_run(status, self)


def _client() -> Client:
    return Client()


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Use the store at ``uri`` (a folder path or ``file://`` URI) from now on."""
    global _active_experiment_id
    context.set_tracking_uri(uri)
    _active_experiment_id = None


def get_tracking_uri() -> str:
    """The store in use, as a ``file://`` URI."""
    return context.get_tracking_uri()


def set_experiment(
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    trace_location: Any = None,
) -> Experiment:
    """Make an experiment active (creating it by name if needed), as MLflow's.

    ``trace_location`` is accepted for MLflow's sake and warns: mltrail records no traces.
    """
    global _active_experiment_id
    warn_ignored("mltrail.set_experiment", trace_location=trace_location)
    client = _client()
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameterValue(
            "set_experiment needs exactly one of experiment_name or experiment_id."
        )
    if experiment_id is not None:
        exp = client.get_experiment(str(experiment_id))
    else:
        exp = _get_or_create_experiment(client, str(experiment_name))
    if exp.lifecycle_stage != "active":
        raise InvalidParameterValue(
            f"Cannot make the deleted experiment {exp.name!r} active; restore it with "
            f"`mltrail experiments restore {exp.experiment_id}`."
        )
    _active_experiment_id = exp.experiment_id
    return exp


def _get_or_create_experiment(client: Client, name: str) -> Experiment:
    """The experiment ``name``, created if missing; another process creating it first is fine."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found
    try:
        return client.get_experiment(client.create_experiment(name))
    except ResourceAlreadyExists:  # created by another process since we looked
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return again


def _default_experiment_id(client: Client) -> str:
    if _active_experiment_id is not None:
        return _active_experiment_id
    for prefix in ("MLTRAIL", "MLFLOW"):
        if eid := os.environ.get(f"{prefix}_EXPERIMENT_ID"):
            return eid
        if name := os.environ.get(f"{prefix}_EXPERIMENT_NAME"):
            return set_experiment(name).experiment_id
    return "0"


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume ``run_id``, and make it the active run.

    ``log_system_metrics=True`` warns: mltrail collects no system metrics.
    """
    global _last_run_id
    warn_ignored("mltrail.start_run", log_system_metrics=log_system_metrics)
    client = _client()
    _install_exit_hooks()
    with _stack_lock:
        if _stack and not nested:
            raise InvalidParameterValue(
                f"Run {_stack[-1].info.run_id} is already active; end it first, "
                "or pass nested=True to start a child run."
            )
        parent = parent_run_id or (_stack[-1].info.run_id if _stack else None)
        run_id = run_id or os.environ.get("MLTRAIL_RUN_ID") or os.environ.get("MLFLOW_RUN_ID")
        if run_id:
            run = client.store.resume_run(run_id)
            if tags:
                client.set_tags(run_id, tags)
        else:
            exp_id = (
                str(experiment_id) if experiment_id is not None else _default_experiment_id(client)
            )
            run = client.create_run(
                exp_id, tags=_creation_tags(tags, description, parent), run_name=run_name
            )
        active = ActiveRun(run, client)
        _stack.append(active)
        _last_run_id = run.info.run_id
        return active


def _creation_tags(
    tags: dict[str, Any] | None, description: str | None, parent_run_id: str | None
) -> dict[str, Any]:
    """``start_run``'s tags plus MLflow's tags for the description and the parent run."""
    extra = {"mlflow.note.content": description, "mlflow.parentRunId": parent_run_id}
    return {**(tags or {}), **{k: v for k, v in extra.items() if v}}


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (or do nothing when there is none)."""
    _end_run(status, None)


def _end_run(status: str, _run: ActiveRun | None) -> None:
    """End ``_run`` (default: the active run) with ``status``."""
    if status not in RunStatus.TERMINAL:  # checked first: a bad status leaves the run active
        raise InvalidParameterValue(
            f"Invalid end status {status!r}: use one of {', '.join(RunStatus.TERMINAL)}."
        )
    with _stack_lock:
        if not _stack:
            return
        run = _run or _stack[-1]
        _stack.remove(run)
    run._client.set_terminated(run.info.run_id, status)


def active_run() -> ActiveRun | None:
    """The innermost active run of this process, or None."""
    return _stack[-1] if _stack else None


def last_active_run() -> Run | None:
    """The active run, else the run this process started last (as read now), or None."""
    if _stack:
        return _stack[-1]._client.get_run(_stack[-1].info.run_id)
    return _client().get_run(_last_run_id) if _last_run_id else None


def _active() -> ActiveRun:
    """The active run, started on first use as MLflow's fluent calls do."""
    return _stack[-1] if _stack else start_run()


def _run_client(run_id: str | None) -> tuple[Client, str]:
    if run_id is not None:
        return _client(), run_id
    run = _active()
    return run._client, run.info.run_id


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log one parameter of the active run; return ``value``.

    ``synchronous=False`` warns: mltrail always logs synchronously.
    """
    warn_ignored("mltrail.log_param", synchronous=synchronous)
    _active()._writer.log_params({key: value})
    return value


def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Log parameters of the active run (or of ``run_id``)."""
    warn_ignored("mltrail.log_params", synchronous=synchronous)
    client, rid = _run_client(run_id)
    client.log_params(rid, params)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log one value of metric ``key`` to the active run (or ``run_id``).

    ``synchronous=False``, ``model_id`` and ``dataset`` warn: mltrail logs synchronously
    and records neither logged models nor datasets yet.

    >>> log_metric("loss", 0.5, setp=3)
    Traceback (most recent call last):
    TypeError: log_metric() got an unexpected keyword argument 'setp'
    """
    if synchronous is not None or model_id is not None or dataset is not None:  # hot path
        warn_ignored(
            "mltrail.log_metric", synchronous=synchronous, model_id=model_id, dataset=dataset
        )
    if run_id is None:
        (_stack[-1] if _stack else _active())._writer.log_metric(key, value, step, timestamp)
    else:
        _client().log_metric(run_id, key, value, timestamp, step)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log several metrics at one step to the active run (or ``run_id``); see log_metric."""
    warn_ignored("mltrail.log_metrics", synchronous=synchronous, model_id=model_id, dataset=dataset)
    client, rid = _run_client(run_id)
    writer = client.store.writer(rid)
    for key, value in metrics.items():
        writer.log_metric(key, value, step, timestamp)
    client.store.after_write_if_ended(rid, "Log metrics")


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set one tag of the active run."""
    warn_ignored("mltrail.set_tag", synchronous=synchronous)
    client, rid = _run_client(None)
    client.set_tags(rid, {key: value})


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    """Set tags of the active run."""
    warn_ignored("mltrail.set_tags", synchronous=synchronous)
    client, rid = _run_client(None)
    client.set_tags(rid, tags)


def delete_tag(key: str) -> None:
    """Delete a tag of the active run."""
    client, rid = _run_client(None)
    client.delete_tag(rid, key)


def flush(timeout: float | None = None) -> bool:
    """Wait until background git commits are done (mltrail's own addition)."""
    return context.flush_all(timeout)


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    global _fatal_status
    _fatal_status = (
        RunStatus.KILLED if issubclass(exc_type, KeyboardInterrupt) else RunStatus.FAILED
    )
    _previous_hook(exc_type, exc, tb)


def _end_open_runs() -> None:
    """At exit: end open runs (FINISHED, or FAILED/KILLED after an uncaught exception)."""
    while _stack:
        try:
            end_run(_fatal_status or RunStatus.FINISHED)
        except (MltrailError, OSError) as e:
            sys.stderr.write(f"mltrail: could not end run at exit: {e}\n")
            break
    context.flush_all()


_previous_hook = sys.excepthook
_exit_hooks_installed = False


def _install_exit_hooks() -> None:
    """Installed by the first start_run, not at import: ending runs at exit, noting a crash."""
    global _previous_hook, _exit_hooks_installed
    if _exit_hooks_installed:
        return
    _exit_hooks_installed = True
    _previous_hook = sys.excepthook
    sys.excepthook = _excepthook
    atexit.register(_end_open_runs)
