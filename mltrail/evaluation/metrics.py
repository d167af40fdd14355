"""MLflow's default metrics, computed with scikit-learn.

Classifiers: counts of the confusion matrix (binary), accuracy, recall, precision and F1
(``binary`` average for two classes, ``weighted`` by default for more), log loss and
ROC/PR areas when the model gives class probabilities.  Regressors: errors, R² and sums
of the target.  Names and values are MLflow 3's (``mltrail.evaluation.names``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.evaluation import names


@dataclass(frozen=True)
class Labels:
    """The classes of a classifier's evaluation, as MLflow orders them."""

    #: Sorted classes; for two classes, the positive one moved last.
    classes: Any
    #: The positive class (binary only; None for more classes).
    pos_label: Any
    #: The column of the positive class in ``predict_proba``'s output (binary only).
    pos_index: int

    @property
    def binary(self) -> bool:
        """Two classes."""
        return len(self.classes) == 2


def resolve_labels(y_true: Any, y_pred: Any, label_list: Any, pos_label: Any) -> Labels:
    """The classes: ``label_list``, or those in the targets and predictions."""
    import numpy as np

    found = np.unique(np.concatenate([y_true, y_pred])) if label_list is None else None
    classes = np.sort(np.asarray(label_list if label_list is not None else found))
    if len(classes) < 2:
        raise InvalidParameterValue(
            f"A classifier's evaluation needs at least two classes; found {len(classes)}. "
            "Give every class in evaluator_config={'label_list': [...]}."
        )
    if pos_label is not None and label_list is not None and pos_label not in list(classes):
        raise InvalidParameterValue(
            f"pos_label {pos_label!r} is not in label_list {list(classes)}."
        )
    if len(classes) != 2:
        return Labels(classes, None, 1)
    if pos_label is None or pos_label not in list(classes):
        index = 1
        pos = classes[-1] if pos_label is None else pos_label
    else:
        index = int(np.flatnonzero(classes == pos_label)[0])
        pos = pos_label
    ordered = np.append(classes[classes != pos], pos)
    return Labels(ordered, pos, index)


def _counts(y_true: Any, y_pred: Any, labels: Any) -> dict[str, int]:
    from sklearn.metrics import confusion_matrix

    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=labels).ravel()
    return {"true_negatives": int(tn), "false_positives": int(fp),
            "false_negatives": int(fn), "true_positives": int(tp)}  # fmt: skip


def _scores(y_true: Any, y_pred: Any, average: str, pos_label: Any, weights: Any) -> dict[str, Any]:
    from sklearn import metrics as sk

    kw = {"average": average, "pos_label": pos_label, "sample_weight": weights}
    return {
        names.EXAMPLE_COUNT: len(y_true),
        "accuracy_score": float(sk.accuracy_score(y_true, y_pred, sample_weight=weights)),
        "recall_score": float(sk.recall_score(y_true, y_pred, **kw)),
        "precision_score": float(sk.precision_score(y_true, y_pred, **kw)),
        "f1_score": float(sk.f1_score(y_true, y_pred, **kw)),
    }


def binary_metrics(
    y_true: Any, y_pred: Any, labels: Labels, proba: Any, weights: Any
) -> dict[str, Any]:
    """MLflow's metrics of a binary classifier (``proba``: ``predict_proba``'s output)."""
    from sklearn import metrics as sk

    found: dict[str, Any] = _counts(y_true, y_pred, labels.classes)
    found.update(_scores(y_true, y_pred, "binary", labels.pos_label, weights))
    if proba is not None:
        found["log_loss"] = float(
            sk.log_loss(y_true, proba, labels=labels.classes, sample_weight=weights)
        )
        positive = proba[:, labels.pos_index]
        found["roc_auc"] = float(sk.roc_auc_score(_is(y_true, labels.pos_label), positive,
                                                  sample_weight=weights))  # fmt: skip
        found["precision_recall_auc"] = float(sk.average_precision_score(
            y_true, positive, pos_label=labels.pos_label, sample_weight=weights))  # fmt: skip
    return found


def multiclass_metrics(
    y_true: Any, y_pred: Any, labels: Labels, proba: Any, weights: Any, average: str
) -> dict[str, Any]:
    """MLflow's metrics of a classifier of three or more classes."""
    from sklearn import metrics as sk

    found = _scores(y_true, y_pred, average, None, weights)
    if proba is not None:
        found["log_loss"] = float(
            sk.log_loss(y_true, proba, labels=labels.classes, sample_weight=weights)
        )
        if average in ("macro", "weighted"):
            auc = sk.roc_auc_score(
                y_true, proba, sample_weight=weights, average=average, multi_class="ovr"
            )
            found["roc_auc"] = float(auc)
    return found


def per_class_rows(y_true: Any, y_pred: Any, classes: Any, weights: Any) -> list[dict[str, Any]]:
    """One row per class: the binary metrics of that class against all others."""
    rows = []
    for cls in classes:
        truth, pred = _is(y_true, cls), _is(y_pred, cls)
        row: dict[str, Any] = {"positive_class": cls}
        row.update(_counts(truth, pred, [0, 1]))
        row.update(_scores(truth, pred, "binary", 1, weights))
        rows.append(row)
    return rows


def _is(values: Any, cls: Any) -> Any:
    import numpy as np

    return np.where(np.asarray(values) == cls, 1, 0)


def regressor_metrics(y_true: Any, y_pred: Any, weights: Any) -> dict[str, Any]:
    """MLflow's metrics of a regressor."""
    import numpy as np
    from sklearn import metrics as sk

    y = np.asarray(y_true, dtype=float)
    total = float((y * np.asarray(weights)).sum() if weights is not None else y.sum())
    mse = float(sk.mean_squared_error(y, y_pred, sample_weight=weights))
    return {
        names.EXAMPLE_COUNT: len(y),
        "mean_absolute_error": float(sk.mean_absolute_error(y, y_pred, sample_weight=weights)),
        "mean_squared_error": mse,
        "root_mean_squared_error": float(np.sqrt(mse)),
        "sum_on_target": total,
        "mean_on_target": total / len(y),
        "r2_score": float(sk.r2_score(y, y_pred, sample_weight=weights)),
        "max_error": float(sk.max_error(y, y_pred)),
        "mean_absolute_percentage_error": float(
            sk.mean_absolute_percentage_error(y, y_pred, sample_weight=weights)
        ),
    }
