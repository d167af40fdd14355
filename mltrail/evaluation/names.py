"""The names MLflow's default evaluator gives what it logs: metrics, plots and tables.

Light on purpose (no numpy, scikit-learn or matplotlib): the site generator reads these
names to find the evaluation results of a run, which may come from MLflow itself.
"""

from __future__ import annotations

CLASSIFIER = "classifier"
REGRESSOR = "regressor"
MODEL_TYPES = (CLASSIFIER, REGRESSOR)
#: MLflow's other model types: LLM and retrieval evaluation, which mltrail does not do.
UNSUPPORTED_MODEL_TYPES = ("question-answering", "text-summarization", "text", "retriever",
                           "databricks-agent")  # fmt: skip

#: Every evaluation logs this metric; the site finds evaluations (and their
#: ``metric_prefix``) by it.
EXAMPLE_COUNT = "example_count"
#: ``model.score(X, y)`` of a scikit-learn model, logged before the other metrics.
SCORE = "score"

COMMON_CLASSIFIER_METRICS = (
    EXAMPLE_COUNT, "accuracy_score", "recall_score", "precision_score", "f1_score", "log_loss",
)  # fmt: skip
BINARY_CLASSIFIER_METRICS = (
    "true_negatives", "false_positives", "false_negatives", "true_positives",
    *COMMON_CLASSIFIER_METRICS, "roc_auc", "precision_recall_auc",
)  # fmt: skip
MULTICLASS_CLASSIFIER_METRICS = (*COMMON_CLASSIFIER_METRICS, "roc_auc")
REGRESSOR_METRICS = (
    EXAMPLE_COUNT, "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
    "sum_on_target", "mean_on_target", "r2_score", "max_error", "mean_absolute_percentage_error",
)  # fmt: skip
#: Every metric name the default evaluator may log (without a prefix), in display order.
ALL_METRICS = tuple(
    dict.fromkeys(
        (SCORE, *BINARY_CLASSIFIER_METRICS, *MULTICLASS_CLASSIFIER_METRICS, *REGRESSOR_METRICS)
    )
)

CONFUSION_MATRIX = "confusion_matrix"
ROC_CURVE = "roc_curve_plot"
PR_CURVE = "precision_recall_curve_plot"
LIFT_CURVE = "lift_curve_plot"
CALIBRATION_CURVE = "calibration_curve_plot"
#: Plot artifacts (``<metric_prefix><name>.png`` at the top of the run's artifacts), in the
#: order a reader wants them.
PLOTS = (CONFUSION_MATRIX, ROC_CURVE, PR_CURVE, LIFT_CURVE, CALIBRATION_CURVE)
PLOT_TITLES = {
    CONFUSION_MATRIX: "Confusion matrix",
    ROC_CURVE: "ROC curve",
    PR_CURVE: "Precision-recall curve",
    LIFT_CURVE: "Lift curve",
    CALIBRATION_CURVE: "Calibration curve",
}
#: Multiclass classifiers: one row of binary metrics per class (MLflow writes it without
#: the ``metric_prefix``).
PER_CLASS_METRICS = "per_class_metrics"
PER_CLASS_METRICS_FILE = f"{PER_CLASS_METRICS}.csv"


def plot_file(name: str, prefix: str = "") -> str:
    """The artifact file name of plot ``name`` for an evaluation with ``prefix``."""
    return f"{prefix}{name}.png"
