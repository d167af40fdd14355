"""The classifier plots MLflow's autologging adds to a run, drawn where matplotlib exists.

``training_confusion_matrix.png`` for every classifier; ``training_roc_curve.png`` and
``training_precision_recall_curve.png`` when there are two classes.  Figures are drawn
without pyplot (no GUI window, no global figure state).
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable
from typing import Any

from mltrail.sklearn.autolog_config import log
from mltrail.sklearn.autolog_content import TRAINING_PREFIX

Draw = Callable[[Any], Any]


def _png(draw: Draw, title: str, font_size: float) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure

    style: dict[Any, Any] = {
        "font.size": font_size,
        "axes.labelsize": 8.0,
        "figure.autolayout": True,
    }
    with matplotlib.rc_context(style):
        figure = Figure(figsize=(6.0, 4.0))
        axes = figure.add_subplot()
        draw(axes)
        axes.set_title(title)
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=175)
    return out.getvalue()


def classifier_plots(est: Any, x: Any, y: Any, weight: Any) -> dict[str, bytes]:
    """``{file name: PNG bytes}`` for a fitted classifier; empty without matplotlib or y."""
    from sklearn.base import is_classifier

    if y is None or not is_classifier(est):
        return {}
    if importlib.util.find_spec("matplotlib") is None:
        log.info("matplotlib is not installed: the classifier plots are not logged.")
        return {}
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

    labels = getattr(est, "classes_", None)
    count = len(labels) if labels is not None else len(set(y))
    common = {"sample_weight": weight}
    todo: dict[str, tuple[Draw, str, float]] = {
        "confusion_matrix": (
            lambda ax: ConfusionMatrixDisplay.from_estimator(
                est, x, y, normalize="true", cmap="Blues", ax=ax, **common
            ),
            "Normalized confusion matrix",
            min(8.0, 50.0 / max(count, 1)),
        )
    }
    if len(set(y)) == 2:
        todo["roc_curve"] = (
            lambda ax: RocCurveDisplay.from_estimator(est, x, y, ax=ax, **common),
            "ROC curve",
            8.0,
        )
        todo["precision_recall_curve"] = (
            lambda ax: PrecisionRecallDisplay.from_estimator(est, x, y, ax=ax, **common),
            "Precision recall curve",
            8.0,
        )
    files = {}
    for name, (draw, title, size) in todo.items():
        try:
            files[f"{TRAINING_PREFIX}{name}.png"] = _png(draw, title, size)
        except Exception as e:  # one plot failing (odd labels, old matplotlib) skips only it
            log.warning(
                "The plot %s%s could not be drawn and is not logged: %s", TRAINING_PREFIX, name, e
            )
    return files
