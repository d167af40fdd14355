"""``mltrail.sklearn.autolog()``: MLflow's scikit-learn autologging, logging to mltrail.

Enabling patches the training methods (``fit``, ``fit_transform``, ``fit_predict``) of
every estimator of ``sklearn.utils.all_estimators()`` plus ``Pipeline``,
``GridSearchCV`` and ``RandomizedSearchCV`` (minus the data-preparation modules
``preprocessing``, ``impute``, ``feature_extraction``, ``feature_selection`` and
``ColumnTransformer``, as MLflow).  For post-training metrics it also patches their
prediction methods and ``score``, and the metric functions of ``sklearn.metrics``.
``cross_val_score`` and its kin run with autologging suspended.  Each ``autolog()``
call first puts every original back, so ``autolog(disable=True)`` leaves scikit-learn
exactly as it was.  This module imports scikit-learn only when autologging is enabled.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mltrail.errors import InvalidParameterValue, MltrailError
from mltrail.sklearn.autolog_config import AutologConfig, log, set_config, suspended

if TYPE_CHECKING:
    from mltrail.sklearn.autolog_patch import Patch

#: The scikit-learn versions MLflow 3.17 tests its autologging with.
SUPPORTED_VERSIONS = ("1.6.0", "1.9.1")
FIT_METHODS = ("fit", "fit_transform", "fit_predict")
#: ``sklearn.model_selection`` functions that run with autologging suspended.
SUSPENDING_FUNCTIONS = (
    "cross_validate",
    "cross_val_predict",
    "cross_val_score",
    "learning_curve",
    "permutation_test_score",
    "validation_curve",
)
_EXCLUDED_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
_EXCLUDED_CLASSES = ("sklearn.compose._column_transformer.ColumnTransformer",)
_FORMATS = ("skops", "cloudpickle", "pickle")


class _Patched:
    """The patches in force, and whether ``mltrail.sklearn.autolog`` was called itself."""

    def __init__(self) -> None:
        self.patches: list[Patch] = []
        self.explicit = False
        self.lock = threading.Lock()


_patched = _Patched()


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable (or, with ``disable=True``, disable) autologging of scikit-learn training.

    The options are MLflow's, with its defaults.  ``log_datasets`` is accepted and has
    no effect: mltrail records no dataset inputs yet.
    """
    config = make_config(**{k: v for k, v in locals().items() if k != "disable"})
    configure(None if disable else config, explicit=True)


def make_config(**options: Any) -> AutologConfig:
    """An :class:`AutologConfig` from autolog's options, checked."""
    runs = options.get("max_tuning_runs", 5)
    if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 0):
        raise InvalidParameterValue(
            f"max_tuning_runs must be None or an integer >= 0, not {runs!r}."
        )
    fmt = options.get("serialization_format", "cloudpickle")
    if fmt not in _FORMATS:
        raise InvalidParameterValue(
            f"Invalid serialization_format {fmt!r}: use one of {', '.join(_FORMATS)}."
        )
    tags = options.pop("extra_tags", None) or {}
    if not isinstance(tags, dict):
        raise InvalidParameterValue(f"extra_tags must be a dict, not {type(tags).__name__}.")
    tags = {str(k): str(v) for k, v in tags.items() if k != "mlflow.autologging"}
    return AutologConfig(**options, extra_tags=tags)


def configure(config: AutologConfig | None, explicit: bool) -> None:
    """Put the originals back, then (unless ``config`` is None) patch with ``config``.

    A call from ``mltrail.autolog`` (``explicit=False``) leaves a configuration made
    by ``mltrail.sklearn.autolog`` (even ``disable=True``) in place, as
    ``mlflow.autolog`` does; only ``mltrail.autolog(disable=True)`` overrides it.
    """
    from mltrail.sklearn import autolog_patch

    with _patched.lock:
        if not explicit and _patched.explicit and config is not None:
            return
        _patched.explicit = explicit
        autolog_patch.revert_all(_patched.patches)
        set_config(config)  # first: a silent configuration also silences the version check
        if config is None:
            return
        if not _version_ok(config):
            set_config(None)
            return
        try:
            _apply(config, _patched.patches)
        except BaseException:
            autolog_patch.revert_all(_patched.patches)
            set_config(None)
            raise


def _apply(config: AutologConfig, out: list[Patch]) -> None:
    """Patch scikit-learn, appending each patch to ``out`` as soon as it is in force."""
    import sklearn.metrics
    import sklearn.model_selection

    from mltrail.sklearn import autolog_fit, autolog_post
    from mltrail.sklearn.autolog_patch import patch_function, patch_method

    def keep(patch: Patch | None) -> None:
        if patch is not None:
            out.append(patch)

    post = config.log_post_training_metrics
    seen: set[int] = set()
    for cls in estimator_classes():
        for name in FIT_METHODS:
            keep(patch_method(cls, name, autolog_fit.make_fit_wrapper, seen))
        for name in autolog_post.PREDICT_METHODS if post else ():
            keep(patch_method(cls, name, autolog_post.make_predict_wrapper, seen))
        if post:
            keep(patch_method(cls, "score", autolog_post.make_score_wrapper, seen))
    for name in autolog_post.metric_names() if post else ():
        keep(patch_function(sklearn.metrics, name, autolog_post.make_metric_wrapper))
    for name in SUSPENDING_FUNCTIONS:
        keep(patch_function(sklearn.model_selection, name, _make_suspending_wrapper))


def _make_suspending_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def without_autolog(*args: Any, **kwargs: Any) -> Any:
        with suspended():
            return original(*args, **kwargs)

    return without_autolog


@functools.cache
def estimator_classes() -> tuple[type, ...]:
    """The classes whose training methods are patched (sorted by name, for determinism)."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    classes = {cls for _, cls in all_estimators()} | {GridSearchCV, RandomizedSearchCV, Pipeline}
    kept = [
        cls
        for cls in classes
        if not cls.__module__.startswith(_EXCLUDED_MODULES)
        and f"{cls.__module__}.{cls.__name__}" not in _EXCLUDED_CLASSES
    ]
    return tuple(sorted(kept, key=lambda c: (c.__module__, c.__name__)))


def _version(text: str) -> tuple[int, ...] | None:
    """``(1, 9, 1)`` for a release version; None for dev/rc builds or an odd string."""
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:\.post\d+)?", text)
    return tuple(int(g or 0) for g in match.groups()) if match else None


def _version_ok(config: AutologConfig) -> bool:
    """False (autologging stays off) for an untested scikit-learn when asked to check."""
    try:
        import sklearn
    except ImportError as e:
        raise MltrailError(
            "mltrail.sklearn.autolog needs scikit-learn: pip install 'mltrail[sklearn]'."
        ) from e
    low, high = (_version(v) for v in SUPPORTED_VERSIONS)
    found = _version(sklearn.__version__)
    tested = found is not None and low is not None and high is not None and low <= found <= high
    if config.disable_for_unsupported_versions and not tested:
        log.warning(
            "scikit-learn %s is outside the range autologging is tested with (%s to %s): "
            "autologging stays off (disable_for_unsupported_versions=True).",
            sklearn.__version__,
            *SUPPORTED_VERSIONS,
        )
        return False
    if found is not None and low is not None and found < low:
        log.warning(
            "Autologging is tested with scikit-learn %s to %s, but %s is installed; if "
            "logging fails, upgrade scikit-learn.",
            *SUPPORTED_VERSIONS,
            sklearn.__version__,
        )
    return True
