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
import time
from types import TracebackType
from typing import Any

from mltrail.entities import Experiment, Metric, Run, RunStatus
from mltrail.errors import InvalidParameterValue, MltrailError, ResourceAlreadyExists
from mltrail.store.writer import RunWriter
from mltrail.tracking import context, logged_models
from mltrail.tracking.client import Client
from mltrail.tracking.unsupported import warn_ignored

_stack: list[ActiveRun] = []
_stack_lock = threading.RLock()
_active_experiment_id: str | None = None
_last_run_id: str | None = None
_fatal_status: str | None = None


class ActiveRun:
    """The run ``start_run`` returned; used as a context manager, it ends the run on exit.

    Leaving the ``with`` block normally ends the run FINISHED, an exception ends it FAILED
    and ``KeyboardInterrupt`` KILLED, as MLflow's does.  ``info`` and ``data`` are the
    run as it was when it started; read the run again with ``mltrail.get_run`` for what
    was logged since.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run(run_name="demo") as run:
        ...     run.info.status
        'RUNNING'
        >>> mltrail.get_run(run.info.run_id).info.status
        'FINISHED'
    """

    def __init__(self, run: Run, client: Client) -> None:
        self._run = run
        self._client = client
        self._writer: RunWriter = client.store.writer(run.info.run_id)

    @property
    def info(self) -> Any:
        """The run's ``RunInfo`` (id, name, experiment, status ...) as it was at the start."""
        return self._run.info

    @property
    def data(self) -> Any:
        """The run's ``RunData`` (params, metrics, tags) as it was at the start."""
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
    """Use the store at ``uri`` from now on, in this process.

    Unlike MLflow, a tracking URI is always a store folder: a path or a ``file://`` URI
    (created, and git-initialised outside a repository, on first use).  Servers, databases
    and other schemes are refused with ``InvalidParameterValue``.

    Args:
        uri: the store folder, as a path (relative to the current folder) or ``file://`` URI.

    Example:
        >>> import mltrail
        >>> mltrail.set_tracking_uri("runs")
        >>> mltrail.get_tracking_uri()
        'file:///.../runs'
    """
    global _active_experiment_id
    context.set_tracking_uri(uri)
    _active_experiment_id = None


def get_tracking_uri() -> str:
    """Return the store in use, as a ``file://`` URI.

    The store is the one given to ``set_tracking_uri``, else ``MLTRAIL_TRACKING_URI``,
    else the nearest store found walking up from the current folder (as git finds a
    repository), else ``./runs``.  MLflow's default is a local database instead.

    Returns:
        The ``file://`` URI of the store folder.

    Example:
        >>> import mltrail
        >>> mltrail.get_tracking_uri()
        'file:///.../runs'
    """
    return context.get_tracking_uri()


def set_experiment(
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    trace_location: Any = None,
) -> Experiment:
    """Make an experiment the active one, creating it first if the name is new.

    Runs started afterwards without an ``experiment_id`` go to it.

    Args:
        experiment_name: the experiment's name (created when no experiment has it).
        experiment_id: the id of an existing experiment; give this or ``experiment_name``.
        trace_location: accepted for MLflow's sake; a value warns, as mltrail records no
            traces.

    Returns:
        The active ``Experiment``.

    Raises:
        InvalidParameterValue: both or neither of name and id are given, or the experiment
            is deleted.

    Example:
        >>> import mltrail
        >>> experiment = mltrail.set_experiment("churn")
        >>> experiment.name
        'churn'
        >>> with mltrail.start_run() as run:
        ...     pass
        >>> run.info.experiment_id == experiment.experiment_id
        True
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

    The run is a folder of the store; ending it (``end_run``, leaving the ``with`` block,
    or the process exiting) commits that folder to git, unless auto-commit is off.
    Without ``run_id``, the environment variable ``MLTRAIL_RUN_ID`` (or MLflow's
    ``MLFLOW_RUN_ID``) names a run to resume.

    Args:
        run_id: an existing run to resume (it becomes RUNNING again).
        experiment_id: the experiment of a new run; default: the active experiment
            (``set_experiment``, ``MLTRAIL_EXPERIMENT_ID``/``_NAME``), else ``"0"``.
        run_name: the new run's name; default: a generated one such as ``'bold-owl-417'``.
        nested: allow a run to start while another is active; it becomes a child run.
        parent_run_id: the parent of a new run (default: the active run, when nested).
        tags: tags of the run (``str`` values; other values are converted).
        description: the run's description (MLflow's ``mlflow.note.content`` tag).
        log_system_metrics: accepted for MLflow's sake; ``True`` warns, as mltrail
            collects no system metrics.

    Returns:
        The ``ActiveRun``; use it in a ``with`` block to end the run when the block ends.

    Raises:
        InvalidParameterValue: a run is active already and ``nested`` is False.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run(run_name="baseline", tags={"team": "growth"}) as run:
        ...     mltrail.log_metric("rmse", 0.71)
        >>> finished = mltrail.get_run(run.info.run_id)
        >>> finished.info.run_name, finished.info.status
        ('baseline', 'FINISHED')
        >>> finished.data.tags["team"]
        'growth'
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
                run = client.get_run(run_id)  # the run returned has the new tags
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
    """End the active run; do nothing when there is none.

    Ending a run writes its metric summary and commits its folder to git (in the
    background: ``mltrail.flush`` waits for the commit).

    Args:
        status: how the run ended: ``"FINISHED"``, ``"FAILED"`` or ``"KILLED"``.

    Raises:
        InvalidParameterValue: ``status`` is not one of those three (the run stays active).

    Example:
        >>> import mltrail
        >>> run = mltrail.start_run()
        >>> mltrail.end_run(status="KILLED")
        >>> mltrail.get_run(run.info.run_id).info.status
        'KILLED'
        >>> mltrail.active_run() is None
        True
    """
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
    """Return the innermost active run of this process, or None.

    Returns:
        The ``ActiveRun`` that fluent calls log to, or None when no run is active.

    Example:
        >>> import mltrail
        >>> mltrail.active_run() is None
        True
        >>> with mltrail.start_run() as run:
        ...     mltrail.active_run().info.run_id == run.info.run_id
        True
    """
    return _stack[-1] if _stack else None


def last_active_run() -> Run | None:
    """Return the active run, else the run this process started last, as stored now.

    Returns:
        The ``Run`` read from the store (with everything logged so far), or None when this
        process has started no run.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run():
        ...     mltrail.log_param("depth", 3)
        3
        >>> mltrail.last_active_run().data.params
        {'depth': '3'}
    """
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
    """Log one parameter of the active run (started on first use if none is).

    Parameters are stored as strings and cannot change: logging the same key again with
    another value raises ``InvalidParameterValue``, as in MLflow.

    Args:
        key: the parameter's name.
        value: its value (stored as ``str(value)``).
        synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
            synchronously.

    Returns:
        ``value``, unchanged.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_param("alpha", 0.5)
        0.5
        >>> mltrail.get_run(run.info.run_id).data.params
        {'alpha': '0.5'}
    """
    warn_ignored("mltrail.log_param", synchronous=synchronous)
    _active()._writer.log_params({key: value})
    return value


def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Log several parameters of the active run (or of ``run_id``) at once.

    Args:
        params: parameter name -> value (each stored as a string).
        synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
            synchronously.
        run_id: the run to log to instead of the active one.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_params({"alpha": 0.5, "l1_ratio": 0.1})
        >>> sorted(mltrail.get_run(run.info.run_id).data.params.items())
        [('alpha', '0.5'), ('l1_ratio', '0.1')]
    """
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
    """Log one value of metric ``key`` to the active run (or to ``run_id``).

    Each call appends one point to the metric's history (a line in a text file of the
    run); ``run.data.metrics`` holds the latest value (MLflow's rule: highest step, then
    newest timestamp, then largest value).  Unlike MLflow, mltrail also keeps
    each metric's minimum, maximum and count (``run.data.metric_summaries``).

    Args:
        key: the metric's name.
        value: the value (a number).
        step: the training step (default 0).
        synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
            synchronously.
        timestamp: milliseconds since the epoch (default: now).
        run_id: the run to log to instead of the active one.
        model_id: the logged model (``m-...``) the value is about; default: the active
            model (``MLFLOW_ACTIVE_MODEL_ID``), else the models the run logged at this
            step (MLflow 3's rules).
        dataset: the dataset (``mltrail.data.from_pandas`` ...) the value was computed
            on; recorded with the link to the model and as an input of the run.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     for step, loss in enumerate([0.9, 0.5, 0.4]):
        ...         mltrail.log_metric("loss", loss, step=step)
        >>> mltrail.get_run(run.info.run_id).data.metrics
        {'loss': 0.4}

        A misspelt keyword is Python's own error, never silently ignored:

        >>> mltrail.log_metric("loss", 0.5, setp=3)
        Traceback (most recent call last):
        TypeError: log_metric() got an unexpected keyword argument 'setp'
    """
    if synchronous is not None:  # the hot path
        warn_ignored("mltrail.log_metric", synchronous=synchronous)
    if run_id is None:
        run = _stack[-1] if _stack else _active()
        if timestamp is None:
            timestamp = int(time.time() * 1000)
        run._writer.log_metric(key, value, step, timestamp)
        client, run_id = run._client, run.info.run_id
    else:
        client = _client()
        client.log_metric(run_id, key, value, timestamp, step)
    if model_id is not None or dataset is not None or _linking(client, run_id):
        point = Metric(key, float(value), int(timestamp or 0), int(step or 0))
        logged_models.after_metric(client.store, run_id, [point], model_id, dataset, True)


def _linking(client: Client, run_id: str) -> bool:
    """Whether metrics of this run may link to a model without being asked (MLflow 3)."""
    return logged_models.active_model_id() is not None or logged_models.has_outputs(
        client.store, run_id
    )


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log several metrics at one step to the active run (or to ``run_id``).

    Args:
        metrics: metric name -> value.
        step: the training step of every value (default 0).
        synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
            synchronously.
        run_id: the run to log to instead of the active one.
        timestamp: milliseconds since the epoch (default: now).
        model_id: the logged model the values are about (default as in ``log_metric``).
        dataset: the dataset they were computed on (as in ``log_metric``).

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_metrics({"precision": 0.8, "recall": 0.6}, step=1)
        >>> sorted(mltrail.get_run(run.info.run_id).data.metrics.items())
        [('precision', 0.8), ('recall', 0.6)]
    """
    warn_ignored("mltrail.log_metrics", synchronous=synchronous)
    client, rid = _run_client(run_id)
    writer = client.store.writer(rid)
    if timestamp is None:  # one call, one moment: every metric gets the same time (MLflow)
        timestamp = int(time.time() * 1000)
    for key, value in metrics.items():
        writer.log_metric(key, value, step, timestamp)
    if model_id is not None or dataset is not None or _linking(client, rid):
        points = [Metric(k, float(v), timestamp, int(step or 0)) for k, v in metrics.items()]
        logged_models.after_metric(client.store, rid, points, model_id, dataset, True)
    client.store.after_write_if_ended(rid, "Log metrics")


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set one tag of the active run (started on first use if none is).

    MLflow's own tags that stand for a field of the run (``mlflow.runName``,
    ``mlflow.note.content`` ...) change that field, as they do in MLflow.

    Args:
        key: the tag's name.
        value: its value (stored as a string).
        synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
            synchronously.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.set_tag("mlflow.runName", "tuned")
        ...     mltrail.set_tag("team", "growth")
        >>> stored = mltrail.get_run(run.info.run_id)
        >>> stored.info.run_name, stored.data.tags["team"]
        ('tuned', 'growth')
    """
    warn_ignored("mltrail.set_tag", synchronous=synchronous)
    client, rid = _run_client(None)
    client.set_tags(rid, {key: value})


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    """Set several tags of the active run (started on first use if none is).

    Args:
        tags: tag name -> value (each stored as a string).
        synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
            synchronously.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.set_tags({"team": "growth", "priority": 1})
        >>> mltrail.get_run(run.info.run_id).data.tags["priority"]
        '1'
    """
    warn_ignored("mltrail.set_tags", synchronous=synchronous)
    client, rid = _run_client(None)
    client.set_tags(rid, tags)


def delete_tag(key: str) -> None:
    """Delete a tag of the active run.

    Args:
        key: the tag's name.

    Raises:
        ResourceNotFound: the run has no tag ``key``.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.set_tag("draft", "yes")
        ...     mltrail.delete_tag("draft")
        >>> "draft" in mltrail.get_run(run.info.run_id).data.tags
        False
    """
    client, rid = _run_client(None)
    client.delete_tag(rid, key)


def flush(timeout: float | None = None) -> bool:
    """Wait until the background git commits of ended runs are done.

    mltrail's own addition (MLflow has no commits to wait for): call it before reading
    the store's git history, e.g. before ``git push``.  It also runs at exit.

    Args:
        timeout: the most seconds to wait; None waits as long as needed.

    Returns:
        True when every commit is done, False when ``timeout`` ran out first.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run():
        ...     mltrail.log_metric("loss", 0.3)
        >>> mltrail.flush()
        True
    """
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
