"""Model evaluation: ``mltrail.evaluate`` (also ``mltrail.models.evaluate``), MLflow's
default evaluator for classifiers and regressors.

Importing this package is light; scikit-learn and matplotlib load when ``evaluate``
runs (``pip install 'mltrail[evaluate]'``).
"""

from mltrail.evaluation.api import evaluate
from mltrail.evaluation.result import (
    CsvEvaluationArtifact,
    EvaluationArtifact,
    EvaluationResult,
    ImageEvaluationArtifact,
    JsonEvaluationArtifact,
)


def list_evaluators() -> list[str]:
    """The names of the evaluators mltrail has (MLflow's ``list_evaluators``).

    Returns:
        ``["default", "classifier", "regressor"]``.

    Example:
        >>> from mltrail.evaluation import list_evaluators
        >>> list_evaluators()
        ['default', 'classifier', 'regressor']
    """
    from mltrail.evaluation.config import EVALUATORS

    return list(EVALUATORS)


__all__ = [
    "CsvEvaluationArtifact",
    "EvaluationArtifact",
    "EvaluationResult",
    "ImageEvaluationArtifact",
    "JsonEvaluationArtifact",
    "evaluate",
    "list_evaluators",
]
