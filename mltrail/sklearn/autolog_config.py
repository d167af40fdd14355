"""The settings of scikit-learn autologging, and the guard that keeps it harmless.

Autologging is process-wide, as MLflow's is: one :class:`AutologConfig` is in force
(``None`` while autologging is off).  :class:`Guard` runs each logging step of one
``fit`` call, swallows the step's failure and reports all failures of that call in a
single warning, so a logging problem never breaks the user's training.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

#: The one logger of autologging; its records are dropped while ``silent=True`` is in force.
log = logging.getLogger("mltrail.sklearn.autolog")
T = TypeVar("T")

#: The tag MLflow sets on the runs autologging creates (value: the integration name).
AUTOLOGGING_TAG = "mlflow.autologging"
FLAVOR = "sklearn"


@dataclass(frozen=True)
class AutologConfig:
    """The options of ``mltrail.sklearn.autolog`` (MLflow's names and defaults)."""

    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_models: bool = True
    log_datasets: bool = True
    exclusive: bool = False
    disable_for_unsupported_versions: bool = False
    silent: bool = False
    max_tuning_runs: int | None = 5
    log_post_training_metrics: bool = True
    serialization_format: str = "cloudpickle"
    registered_model_name: str | None = None
    pos_label: Any = None
    extra_tags: dict[str, str] = field(default_factory=dict)
    #: Set by ``mltrail.autolog``; an explicit ``mltrail.sklearn.autolog`` call wins over it.
    from_global: bool = False

    def run_tags(self) -> dict[str, str]:
        """Tags of the runs autologging starts itself."""
        return {**self.extra_tags, AUTOLOGGING_TAG: FLAVOR}


class _State:
    """The configuration in force, and the scopes where autologging stands aside."""

    def __init__(self) -> None:
        self.config: AutologConfig | None = None
        self.suspended = 0
        self.lock = threading.Lock()


_state = _State()


def active() -> AutologConfig | None:
    """The configuration in force, or None when autologging is off or suspended."""
    return None if _state.suspended else _state.config


def current() -> AutologConfig | None:
    """The configuration in force, even inside a suspended scope."""
    return _state.config


def set_config(config: AutologConfig | None) -> None:
    if _not_silenced not in log.filters:
        log.addFilter(_not_silenced)
    _state.config = config


@contextmanager
def suspended() -> Iterator[None]:
    """No autologging inside (MLflow's behaviour in ``cross_val_score`` and its kin)."""
    with _state.lock:
        _state.suspended += 1
    try:
        yield
    finally:
        with _state.lock:
            _state.suspended -= 1


def _not_silenced(record: logging.LogRecord) -> bool:
    config = _state.config
    return config is None or not config.silent


@contextmanager
def quiet(config: AutologConfig | None) -> Iterator[None]:
    """Python warnings raised by autologging's own work are hidden with ``silent=True``."""
    if config is not None and config.silent:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    else:
        yield


class Guard:
    """Runs the logging steps of one training call; a failing step is skipped, not raised."""

    def __init__(self, config: AutologConfig, what: str) -> None:
        self.config = config
        self.what = what
        self.failures: list[tuple[str, Exception]] = []

    def call(self, step: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``fn(*args, **kwargs)``, or None (the failure noted) if it raises."""
        try:
            with quiet(self.config):
                return fn(*args, **kwargs)
        except Exception as e:  # autologging must never break training: noted, reported once
            log.debug("autolog step %r of %s failed", step, self.what, exc_info=True)
            self.failures.append((step, e))
            return None

    def report(self) -> None:
        """One warning for all failed steps of this call (none if every step worked)."""
        if not self.failures:
            return
        steps = ", ".join(step for step, _ in self.failures)
        first = self.failures[0][1]
        log.warning(
            "mltrail autolog could not %s for %s (%s: %s); training was not affected. "
            "Set logging level DEBUG on 'mltrail.sklearn.autolog' for the tracebacks.",
            steps,
            self.what,
            type(first).__name__,
            first,
        )
        self.failures.clear()
