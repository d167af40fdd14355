"""The ``evaluators`` and ``evaluator_config`` arguments of ``evaluate``, checked in one place.

mltrail has MLflow's built-in ``classifier`` and ``regressor`` evaluators (``default``
names whichever fits the model type).  It has no SHAP evaluator: ``shap`` is refused and
``log_model_explainability`` is accepted but changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.evaluation import names

log = logging.getLogger(__name__)

EVALUATORS = ("default", names.CLASSIFIER, names.REGRESSOR)
#: evaluator_config keys understood, and the type each value must have (None: any).
KEYS: dict[str, type | tuple[type, ...] | None] = {
    "pos_label": None,
    "label_list": None,
    "average": str,
    "sample_weights": None,
    "metric_prefix": str,
    "log_model_explainability": bool,
    "max_classes_for_multiclass_roc_pr": int,
    "calibration_n_bins": int,
    "calibration_classifier_name": str,
    "col_mapping": dict,
}
#: Settings of MLflow's SHAP evaluator: accepted, and ignored (mltrail draws no SHAP plots).
IGNORED_PREFIX = "explainability_"


@dataclass(frozen=True)
class EvalConfig:
    """The settings of one evaluation."""

    model_type: str
    pos_label: Any = None
    label_list: Any = None
    average: str = "weighted"
    sample_weights: Any = None
    metric_prefix: str = ""
    max_classes_for_multiclass_roc_pr: int = 10
    calibration_n_bins: int = 10
    calibration_classifier_name: str = "Classifier"


def check_model_type(model_type: Any) -> str:
    """``model_type``, or a one-line error saying which ones mltrail evaluates."""
    if model_type in names.MODEL_TYPES:
        return str(model_type)
    if model_type in names.UNSUPPORTED_MODEL_TYPES:
        raise InvalidParameterValue(
            f"model_type {model_type!r} (LLM/retrieval evaluation) is not supported by "
            "mltrail; it evaluates 'classifier' and 'regressor' models."
        )
    raise InvalidParameterValue(
        f"Unknown model_type {model_type!r}: use 'classifier' or 'regressor'."
    )


def _names(evaluators: Any) -> list[str]:
    if evaluators is None:
        return ["default"]
    listed = [evaluators] if isinstance(evaluators, str) else evaluators
    if not isinstance(listed, list | tuple) or not all(isinstance(n, str) for n in listed):
        raise InvalidParameterValue(
            f"evaluators must be an evaluator name or a list of names, got {evaluators!r}."
        )
    for name in listed:
        if name == "shap":
            raise InvalidParameterValue(
                "The 'shap' evaluator (model explainability) is not supported by mltrail; "
                "use evaluators='default'."
            )
        if name not in EVALUATORS:
            raise InvalidParameterValue(
                f"Unknown evaluator {name!r}: mltrail has {', '.join(map(repr, EVALUATORS))}."
            )
    return list(listed)


def _settings(listed: list[str], evaluator_config: Any, nested: bool) -> dict[str, Any]:
    if evaluator_config is None:
        return {}
    if not isinstance(evaluator_config, dict):
        raise InvalidParameterValue(
            f"evaluator_config must be a dict, got {type(evaluator_config).__name__}."
        )
    if nested or any(name in evaluator_config for name in EVALUATORS):
        wrong = [k for k in evaluator_config if k not in listed]
        if wrong or not all(isinstance(v, dict) for v in evaluator_config.values()):
            raise InvalidParameterValue(
                "With a list of evaluators, evaluator_config maps each evaluator's name "
                f"({', '.join(listed)}) to its own dict of settings."
            )
        merged: dict[str, Any] = {}
        for name in listed:
            merged.update(evaluator_config.get(name, {}))
        return merged
    return dict(evaluator_config)


def resolve(model_type: Any, evaluators: Any, evaluator_config: Any) -> EvalConfig:
    """The evaluation's settings, or a one-line error naming the wrong argument or key."""
    kind = check_model_type(model_type)
    listed = _names(evaluators)
    other = {names.CLASSIFIER: names.REGRESSOR, names.REGRESSOR: names.CLASSIFIER}[kind]
    if other in listed:
        raise InvalidParameterValue(
            f"The {other!r} evaluator cannot evaluate a {kind}; use evaluators='default'."
        )
    settings = _settings(listed, evaluator_config, isinstance(evaluators, list | tuple))
    for key, value in settings.items():
        if key.startswith(IGNORED_PREFIX):
            continue
        if key not in KEYS:
            raise InvalidParameterValue(
                f"Unknown evaluator_config key {key!r}; mltrail understands "
                f"{', '.join(sorted(KEYS))}."
            )
        wanted = KEYS[key]
        if wanted is not None and not isinstance(value, wanted):
            raise InvalidParameterValue(
                f"evaluator_config[{key!r}] must be a {getattr(wanted, '__name__', wanted)}, "
                f"got {value!r}."
            )
    _check_prefix(settings.get("metric_prefix", ""))
    if settings.get("log_model_explainability", True):
        log.info("mltrail draws no SHAP explainability plots (log_model_explainability).")
    known = {k: v for k, v in settings.items() if k in EvalConfig.__dataclass_fields__}
    return EvalConfig(model_type=kind, **known)


def _check_prefix(prefix: str) -> None:
    """A ``metric_prefix`` must make valid metric keys and plain plot file names."""
    from mltrail.validation import validate_key

    if not prefix:
        return
    if "/" in prefix:
        raise InvalidParameterValue(
            f"metric_prefix {prefix!r} may not contain '/': it also prefixes the plot files."
        )
    validate_key("metric", prefix + names.EXAMPLE_COUNT)


def col_mapping(evaluator_config: Any) -> dict[str, str]:
    """The ``col_mapping`` setting (column renames for ``targets`` and ``predictions``)."""
    if not isinstance(evaluator_config, dict):
        return {}
    found = evaluator_config.get("col_mapping", {})
    return found if isinstance(found, dict) else {}
