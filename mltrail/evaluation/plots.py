"""The plots of MLflow's default evaluator, drawn with matplotlib's object API.

Each function returns a ``Figure`` (never pyplot's global figure, so evaluating in a
thread or a notebook leaves the user's figures alone); :func:`save` writes it as a PNG
without a timestamp or version in its metadata, so the same evaluation writes the same
bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

#: MLflow's settings for its evaluation plots.
RC = {"figure.dpi": 175, "figure.figsize": [6.0, 4.0], "font.size": 8}


class Curve(NamedTuple):
    """One line of a ROC or precision-recall plot and the area it summarizes."""

    label: str
    x: Any
    y: Any
    area: float


@contextmanager
def style(font_size: float | None = None) -> Iterator[None]:
    """MLflow's plot settings for the figures made and saved inside."""
    import matplotlib

    rc: dict[str, Any] = dict(RC)
    if font_size is not None:
        rc.update({"font.size": font_size, "axes.labelsize": 8})
    with matplotlib.rc_context(rc):  # type: ignore[arg-type]
        yield


def _figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(layout="tight")
    return fig, fig.add_subplot()


def save(fig: Any, path: Path) -> None:
    """Write ``fig`` to ``path`` as a PNG, with no timestamp or software version in it."""
    fig.savefig(path, format="png", bbox_inches="tight", metadata={"Software": None})


def confusion_matrix(y_true: Any, y_pred: Any, classes: Any, weights: Any) -> Any:
    """The confusion matrix, each row normalized by the true class's count."""
    from sklearn.metrics import ConfusionMatrixDisplay
    from sklearn.metrics import confusion_matrix as matrix

    values = matrix(y_true, y_pred, labels=classes, normalize="true", sample_weight=weights)
    with style(min(8, math.ceil(50.0 / len(classes)))):
        fig, ax = _figure()
        ConfusionMatrixDisplay(values, display_labels=list(classes)).plot(cmap="Blues", ax=ax)
        ax.set_title("Normalized confusion matrix")
    return fig


def curves(kind: str, truths: Sequence[Any], scores: Sequence[Any], weights: Any) -> list[Curve]:
    """ROC (``kind="roc"``, summarized by its area) or precision-recall curves (``"pr"``,
    summarized by average precision) of one-vs-rest problems (``truths``: 0/1 arrays)."""
    from sklearn import metrics as sk

    found = []
    for truth, score in zip(truths, scores, strict=True):
        if kind == "roc":
            x, y, _ = sk.roc_curve(truth, score, sample_weight=weights)
            area, name = float(sk.roc_auc_score(truth, score, sample_weight=weights)), "AUC"
        else:
            y, x, _ = sk.precision_recall_curve(truth, score, sample_weight=weights)
            area = float(sk.average_precision_score(truth, score, sample_weight=weights))
            name = "AP"
        found.append(Curve(f"{name}={area:.3f}", x, y, area))
    return found


def curve_plot(kind: str, curves: Sequence[Curve], classes: Any, pos_label: Any) -> Any:
    """A ROC (``kind="roc"``) or precision-recall (``"pr"``) plot of ``curves``.

    One curve is the binary case (labelled by its area); several are one per class.
    """
    roc = kind == "roc"
    x_name, y_name = (
        ("False Positive Rate", "True Positive Rate") if roc else ("Recall", "Precision")
    )
    suffix = f" (Positive label: {pos_label})" if pos_label is not None else ""
    fig, ax = _figure()
    many = len(curves) > 1
    for cls, curve in zip(classes if many else [None], curves, strict=False):
        label = f"label={cls},{curve.label}" if many else curve.label
        ax.plot(curve.x, curve.y, drawstyle="steps-post", linewidth=1, label=label)
    baseline = ([0, 1], [0, 1]) if roc else ([0, 1], [1, 0])
    ax.plot(*baseline, color="gray", alpha=0.3, linestyle="dashed")
    ax.set_xlabel(x_name + suffix)
    ax.set_ylabel(y_name + suffix)
    ax.set_title("ROC curve" if roc else "Precision recall curve")
    if many:
        ax.legend(loc="center left", bbox_to_anchor=(1, 0.5))
    else:
        ax.legend(loc="best")
    return fig


def lift_curve(y_true: Any, proba: Any, classes: Any, pos_label: Any) -> Any:
    """The lift of each class: the share of that class found in the top x% of scores,
    divided by x (a binary classifier's plot)."""
    import numpy as np

    truth = np.asarray(y_true)
    share = np.arange(1, len(truth) + 1) / len(truth)
    fig, ax = _figure()
    for column, cls in enumerate(sorted(classes)):
        hits = truth[np.argsort(np.asarray(proba)[:, column], kind="stable")[::-1]] == cls
        gains = np.cumsum(hits) / max(hits.sum(), 1)
        label = f"Class {cls}" + (" (positive)" if cls == pos_label else "")
        ax.plot(share, gains / share, lw=3, label=label)
    ax.plot([0, 1], [1, 1], "k--", lw=2, label="Baseline")
    ax.set_title("Lift Curve", fontsize="large")
    ax.set_xlabel("Percentage of sample")
    ax.set_ylabel("Lift")
    ax.grid(True)
    ax.legend(loc="best")
    return fig


def calibration_curve(y_true: Any, proba: Any, classes: Any, pos_label: Any,
                      n_bins: int, name: str) -> Any:  # fmt: skip
    """Observed frequency of the positive class against the predicted probability (the
    positive class of a binary classifier, or every class of a multiclass one)."""
    import numpy as np
    from sklearn.calibration import calibration_curve as points

    truth = np.asarray(y_true)
    ordered = sorted(classes)
    shown = [pos_label] if pos_label is not None else ordered
    fig, ax = _figure()
    for cls in shown:
        column = np.asarray(proba)[:, ordered.index(cls)]
        observed, predicted = points(truth == cls, column, n_bins=n_bins)
        ax.plot(predicted, observed, marker="o", markersize=3, label=f"Class {cls}")
    ax.plot([0, 1], [0, 1], linestyle="dotted", color="black", label="Perfect Calibration")
    ax.set_title(f"{name} Calibration", fontsize=12)
    ax.set_xlabel("Mean Predicted Probability", fontsize=10)
    ax.set_ylabel("Fraction of True Positives", fontsize=10)
    ax.legend(loc="best")
    return fig
