"""Post-training metrics: ``sklearn.metrics`` calls and ``model.score`` after ``fit``.

A model fitted under autologging is remembered with its run.  Its predictions
(``predict``, ``predict_proba``, ``predict_log_proba``, ``transform``) are remembered
with the run and the name of the variable the caller passed as input data.  A later
``sklearn.metrics`` call that gets one of those prediction objects is logged to that
run as ``<metric>[-<call index>]_<dataset name>`` (``accuracy_score_X_test``,
``accuracy_score-2_X_test``); ``model.score(X_test, y)`` as
``<ModelClass>_score_X_test``.  A second dataset object under an already used variable
name becomes ``X_test-2``; data without a variable name is ``unknown_dataset``.  The
calls are described in the run's ``metric_info.json``.  All of this follows MLflow.

Only the original prediction object maps to a run (not a copy or a slice of it), and
only metric functions looked up on ``sklearn.metrics`` after ``autolog()`` are seen.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from mltrail.sklearn import autolog_config
from mltrail.sklearn.autolog_config import Guard
from mltrail.sklearn.autolog_patch import TrainingSession

METRIC_INFO_FILE = "metric_info.json"
UNKNOWN_DATASET = "unknown_dataset"
PREDICT_METHODS = ("predict", "predict_proba", "transform", "predict_log_proba")
_EXCLUDED_METRICS = ("check_scoring", "get_scorer", "make_scorer", "get_scorer_names")
_OUR_MODULE_PREFIX = "mltrail.sklearn.autolog"


class _Tracker:
    """Which run each fitted model, prediction and dataset name belongs to (ids only)."""

    def __init__(self) -> None:
        self.model_runs: dict[int, str] = {}
        self.predictions: dict[int, tuple[str, str]] = {}
        self.datasets: defaultdict[str, defaultdict[str, list[int]]] = _nested()
        self.calls: defaultdict[str, defaultdict[str, list[tuple[str, str]]]] = _nested()
        self.paused = 0
        self.lock = threading.RLock()

    def enabled(self) -> bool:
        """Evaluations are watched: autologging is on, not paused, no training running."""
        config = autolog_config.active()
        if config is None or self.paused or TrainingSession.is_active():
            return False
        if config.exclusive:  # MLflow's exclusive mode leaves the user's runs alone
            from mltrail.tracking import fluent

            return fluent.active_run() is None
        return True

    @contextmanager
    def pause(self) -> Iterator[None]:
        """Metric calls made inside a prediction or a metric are not logged again."""
        with self.lock:
            self.paused += 1
        try:
            yield
        finally:
            with self.lock:
                self.paused -= 1


def _nested() -> defaultdict[str, defaultdict[str, list[Any]]]:
    return defaultdict(lambda: defaultdict(list))


_tracker = _Tracker()


def _remember(table: dict[int, Any], obj: Any, value: Any) -> None:
    """``table[id(obj)] = value`` for as long as ``obj`` lives (ids are reused after)."""
    key = id(obj)
    try:
        cleanup = weakref.finalize(obj, table.pop, key, None)
    except TypeError:  # not weak-referenceable (a list, a float): not remembered
        return
    cleanup.atexit = False
    table[key] = value


def register_model(model: Any, run_id: str) -> None:
    """``model`` was fitted in ``run_id``: its later evaluations are logged there."""
    _remember(_tracker.model_runs, model, run_id)


def _with_index(name: str, index: int) -> str:
    return name if index == 0 else f"{name}-{index + 1}"


def _is_argument(frame: FrameType, value: Any) -> bool:
    info = inspect.getargvalues(frame)
    values = [info.locals.get(a) for a in info.args]
    if info.varargs:
        values.extend(info.locals.get(info.varargs) or ())
    if info.keywords:
        values.extend((info.locals.get(info.keywords) or {}).values())
    return any(v is value for v in values)


def variable_name(value: Any, fallback: str) -> str:
    """The name the caller's code gives ``value``, found as MLflow does.

    From the first frame outside autologging, go up while ``value`` is an argument of
    the frame's function; in the first frame where it is not, the first local (or
    global) variable bound to it names it.
    """
    if value is None:
        return fallback
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_OUR_MODULE_PREFIX):
        frame = frame.f_back
    while frame is not None and _is_argument(frame, value):
        frame = frame.f_back
    if frame is None:
        return fallback
    return next((k for k, v in frame.f_locals.items() if v is value), fallback)


def _dataset_name(run_id: str, data: Any) -> str:
    name = variable_name(data, UNKNOWN_DATASET)
    ids = _tracker.datasets[run_id][name]
    if id(data) not in ids:
        ids.append(id(data))
    return _with_index(name, ids.index(id(data)))


def _first_arg(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args:
        return args[0]
    names = list(inspect.signature(fn).parameters)[1:]
    return kwargs.get(names[0]) if names else None


def _call_text(
    fn: Callable[..., Any], owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str:
    """``accuracy_score(y_true=y_test, y_pred=pred)``: the call, for ``metric_info.json``."""
    import numpy as np

    def show(arg: Any) -> str:
        if arg is None or np.isscalar(arg):
            return repr(arg[:32] + "...") if isinstance(arg, str) and len(arg) > 32 else repr(arg)
        return variable_name(arg, f"<{type(arg).__name__}>")

    names = list(inspect.signature(fn).parameters)
    if owner is not None:
        names = names[1:]
    parts = [f"{n}={show(a)}" for n, a in zip(names, args, strict=False)]
    parts += [f"{n}={show(a)}" for n, a in kwargs.items()]
    prefix = f"{type(owner).__name__}." if owner is not None else ""
    return f"{prefix}{fn.__name__}({', '.join(parts)})"


def _loggable(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _log(run_id: str, metric: str, dataset: str, call: str, value: Any) -> None:
    """Log ``value`` under its indexed key and rewrite the run's ``metric_info.json``."""
    from mltrail.tracking.client import Client

    with _tracker.lock:
        calls = _tracker.calls[run_id]
        key = f"{_with_index(metric, len(calls[metric]))}_{dataset}"
        calls[metric].append((key, call))
        info = dict(sorted(item for entries in calls.values() for item in entries))
    client = Client()
    client.log_metric(run_id, key, float(value))
    client.log_dict(run_id, info, METRIC_INFO_FILE)


def _guard(what: str) -> Guard | None:
    config = autolog_config.current()
    return Guard(config, what) if config is not None else None


def make_predict_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def predict(self: Any, *args: Any, **kwargs: Any) -> Any:
        run_id = _tracker.model_runs.get(id(self))
        if run_id is None or not _tracker.enabled():
            return original(self, *args, **kwargs)
        with _tracker.pause():
            result = original(self, *args, **kwargs)
        guard = _guard(f"{type(self).__name__}.{original.__name__}")
        if guard is not None:
            data = _first_arg(original, args, kwargs)
            name = guard.call("name the dataset", _dataset_name, run_id, data)
            if name is not None:
                guard.call(
                    "track the prediction", _remember, _tracker.predictions, result, (name, run_id)
                )
            guard.report()
        return result

    return predict


def make_score_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def score(self: Any, *args: Any, **kwargs: Any) -> Any:
        run_id = _tracker.model_runs.get(id(self))
        if run_id is None or not _tracker.enabled():
            return original(self, *args, **kwargs)
        with _tracker.pause():
            value = original(self, *args, **kwargs)
        guard = _guard(f"{type(self).__name__}.score")
        if guard is not None and _loggable(value):
            guard.call("log the score", _log_score, original, self, args, kwargs, run_id, value)
            guard.report()
        return value

    return score


def _log_score(fn: Any, model: Any, args: tuple, kwargs: dict, run_id: str, value: Any) -> None:
    call = _call_text(fn, model, args, kwargs)
    dataset = _dataset_name(run_id, _first_arg(fn, args, kwargs))
    _log(run_id, f"{type(model).__name__}_score", dataset, call, value)


def make_metric_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def metric(*args: Any, **kwargs: Any) -> Any:
        if not _tracker.enabled():
            return original(*args, **kwargs)
        with _tracker.pause():
            value = original(*args, **kwargs)
        guard = _guard(original.__name__)
        if guard is not None and _loggable(value):
            guard.call("log the metric", _log_metric_call, original, args, kwargs, value)
            guard.report()
        return value

    return metric


def _log_metric_call(fn: Any, args: tuple, kwargs: dict, value: Any) -> None:
    import numpy as np

    for arg in (*args, *kwargs.values()):
        if arg is not None and not np.isscalar(arg) and id(arg) in _tracker.predictions:
            dataset, run_id = _tracker.predictions[id(arg)]
            break
    else:
        return
    _log(run_id, fn.__name__, dataset, _call_text(fn, None, args, kwargs), value)


def metric_names() -> list[str]:
    """The metric functions of ``sklearn.metrics`` that are watched (MLflow's list)."""
    from sklearn import metrics

    return [
        name
        for name in metrics.__all__
        if name not in _EXCLUDED_METRICS
        and not name.startswith("plot_")
        and callable(getattr(metrics, name, None))
        and not inspect.isclass(getattr(metrics, name))
    ]
