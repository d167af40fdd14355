"""MLflow's built-in ``classifier`` and ``regressor`` evaluators: metrics, plots, tables.

Each returns the metrics (unprefixed, in MLflow's order) and the files it wrote into a
folder; ``evaluate`` logs them to the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrail.evaluation import metrics, names, plots
from mltrail.evaluation.config import EvalConfig
from mltrail.evaluation.result import (
    CsvEvaluationArtifact,
    EvaluationArtifact,
    ImageEvaluationArtifact,
)

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """Metrics computed and files written (artifact name -> file name, artifact class)."""

    metrics: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, type[EvaluationArtifact]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
    """Targets, predictions and (for classifiers) probabilities of one evaluation."""

    y_true: Any
    y_pred: Any
    proba: Any
    score: float | None


def _plot(out: Outcome, folder: Path, config: EvalConfig, name: str, draw: Any) -> None:
    file_name = names.plot_file(name, config.metric_prefix)
    with plots.style():
        fig = draw()
        plots.save(fig, folder / file_name)
    out.files[name] = (file_name, ImageEvaluationArtifact)


def classify(inputs: Inputs, config: EvalConfig, folder: Path) -> Outcome:
    """Evaluate a classifier: MLflow's metrics, plots and (multiclass) per-class table."""
    out = Outcome()
    if inputs.score is not None:
        out.metrics[names.SCORE] = inputs.score
    y, pred, proba, w = inputs.y_true, inputs.y_pred, inputs.proba, config.sample_weights
    labels = metrics.resolve_labels(y, pred, config.label_list, config.pos_label)
    if labels.binary:
        out.metrics.update(metrics.binary_metrics(y, pred, labels, proba, w))
        if proba is not None:
            _binary_plots(out, inputs, labels, config, folder)
    else:
        out.metrics.update(metrics.multiclass_metrics(y, pred, labels, proba, w, config.average))
        _multiclass_artifacts(out, inputs, labels, config, folder)
    _plot(out, folder, config, names.CONFUSION_MATRIX,
          lambda: plots.confusion_matrix(y, pred, labels.classes, w))  # fmt: skip
    return out


def _binary_plots(out: Outcome, inputs: Inputs, labels: metrics.Labels, config: EvalConfig,
                  folder: Path) -> None:  # fmt: skip
    y, proba, w, pos = inputs.y_true, inputs.proba, config.sample_weights, labels.pos_label
    truth, score = [metrics._is(y, pos)], [proba[:, labels.pos_index]]
    roc, pr = plots.curves("roc", truth, score, w), plots.curves("pr", truth, score, w)
    _plot(out, folder, config, names.ROC_CURVE, lambda: plots.curve_plot("roc", roc, [], pos))
    _plot(out, folder, config, names.PR_CURVE, lambda: plots.curve_plot("pr", pr, [], pos))
    _plot(out, folder, config, names.LIFT_CURVE,
          lambda: plots.lift_curve(y, proba, labels.classes, pos))  # fmt: skip
    _calibration(out, inputs, labels, config, folder)


def _calibration(out: Outcome, inputs: Inputs, labels: metrics.Labels, config: EvalConfig,
                 folder: Path) -> None:  # fmt: skip
    _plot(out, folder, config, names.CALIBRATION_CURVE, lambda: plots.calibration_curve(
        inputs.y_true, inputs.proba, labels.classes, labels.pos_label, config.calibration_n_bins,
        config.calibration_classifier_name))  # fmt: skip


def _multiclass_artifacts(out: Outcome, inputs: Inputs, labels: metrics.Labels,
                          config: EvalConfig, folder: Path) -> None:  # fmt: skip
    import pandas as pd

    y, proba, w, classes = inputs.y_true, inputs.proba, config.sample_weights, labels.classes
    table = pd.DataFrame(metrics.per_class_rows(y, inputs.y_pred, classes, w))
    if proba is not None:
        _calibration(out, inputs, labels, config, folder)
        if len(classes) <= config.max_classes_for_multiclass_roc_pr:
            truths = [metrics._is(y, c) for c in classes]
            scores = [proba[:, i] for i in range(len(classes))]
            roc, pr = plots.curves("roc", truths, scores, w), plots.curves("pr", truths, scores, w)
            _plot(out, folder, config, names.ROC_CURVE,
                  lambda: plots.curve_plot("roc", roc, classes, None))  # fmt: skip
            table["roc_auc"] = [c.area for c in roc]
            _plot(out, folder, config, names.PR_CURVE,
                  lambda: plots.curve_plot("pr", pr, classes, None))  # fmt: skip
            table["precision_recall_auc"] = [c.area for c in pr]
        else:
            log.warning("%d classes: more than max_classes_for_multiclass_roc_pr (%d), so no "
                        "ROC or precision-recall plots.", len(classes),
                        config.max_classes_for_multiclass_roc_pr)  # fmt: skip
    table.to_csv(folder / names.PER_CLASS_METRICS_FILE, index=False)
    out.files[names.PER_CLASS_METRICS] = (names.PER_CLASS_METRICS_FILE, CsvEvaluationArtifact)


def regress(inputs: Inputs, config: EvalConfig, folder: Path) -> Outcome:
    """Evaluate a regressor: MLflow's metrics (it draws no plots for regressors)."""
    del folder
    out = Outcome()
    if inputs.score is not None:
        out.metrics[names.SCORE] = inputs.score
    out.metrics.update(metrics.regressor_metrics(inputs.y_true, inputs.y_pred,
                                                 config.sample_weights))  # fmt: skip
    return out
