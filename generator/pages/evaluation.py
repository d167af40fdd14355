"""The run page's Evaluation section: what ``evaluate`` (mltrail's or MLflow's) logged.

An evaluation is found by MLflow's names alone, so runs imported from MLflow show it
too: a metric ``<prefix>example_count`` beside other default-evaluator metrics with the
same prefix, the plots ``<prefix><plot>.png`` at the top of the artifacts, and, for a
multiclass classifier, ``per_class_metrics.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mltrail.entities import Run
from mltrail.evaluation import names

from .. import urls
from ..gather.run import ArtifactNode, find_node
from .base import doc


@dataclass(frozen=True)
class EvaluationPlot:
    name: str = doc("MLflow's artifact name (confusion_matrix, roc_curve_plot ...)")
    title: str = doc("a heading for it (Confusion matrix, ROC curve ...)")
    path: str = doc("the PNG's path in the run's artifacts")
    url: str = doc("the PNG's copy in this site")


@dataclass(frozen=True)
class EvaluationView:
    prefix: str = doc("the metric_prefix of the evaluation ('' for none)")
    model_type: str = doc("classifier or regressor (from the metrics logged)")
    metrics: tuple[tuple[str, float], ...] = doc("(full metric key, latest value), MLflow's order")
    plots: tuple[EvaluationPlot, ...] = doc("its plots present in the artifacts")
    per_class: tuple[tuple[str, ...], ...] = doc("per_class_metrics.csv: header and rows, or ()")
    per_class_url: str | None = doc("that table's copy in this site, or None")


def evaluations(run: Run, artifacts: Sequence[ArtifactNode]) -> tuple[EvaluationView, ...]:
    """The run's evaluations, one per metric prefix, sorted by prefix."""
    metrics = run.data.metrics
    found = []
    for key in sorted(metrics):
        if not key.endswith(names.EXAMPLE_COUNT):
            continue
        prefix = key[: -len(names.EXAMPLE_COUNT)]
        present = [n for n in names.ALL_METRICS if prefix + n in metrics]
        if len(present) < 2:
            continue
        kind = names.REGRESSOR if "r2_score" in present else names.CLASSIFIER
        table, table_url = _per_class(run.info.run_id, artifacts, kind, present)
        found.append(
            EvaluationView(
                prefix=prefix,
                model_type=kind,
                metrics=tuple((prefix + n, metrics[prefix + n]) for n in present),
                plots=_plots(run.info.run_id, artifacts, prefix),
                per_class=table,
                per_class_url=table_url,
            )
        )
    return tuple(found)


def _plots(
    run_id: str, artifacts: Sequence[ArtifactNode], prefix: str
) -> tuple[EvaluationPlot, ...]:
    found = []
    for name in names.PLOTS:
        path = names.plot_file(name, prefix)
        node = find_node(artifacts, path)
        if node is not None and node.source is not None:
            url = urls.href(urls.artifact(run_id, path))
            found.append(EvaluationPlot(name, names.PLOT_TITLES[name], path, url))
    return tuple(found)


def _per_class(
    run_id: str, artifacts: Sequence[ArtifactNode], kind: str, present: list[str]
) -> tuple[tuple[tuple[str, ...], ...], str | None]:
    if kind != names.CLASSIFIER or "true_positives" in present:  # binary: no table
        return (), None
    node = find_node(artifacts, names.PER_CLASS_METRICS_FILE)
    if node is None or node.source is None:
        return (), None
    rows = node.preview.rows if node.preview is not None else ()
    return rows, urls.href(urls.artifact(run_id, names.PER_CLASS_METRICS_FILE))
