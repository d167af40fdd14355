"""The data files pages load with ``<script src>`` (docs/SITE.md, "Data files").

Each is one call of a registration function of ``assets/mltrail.js`` with a JSON
argument made script-safe by ``output.jsdata``; keys are sorted, so the bytes are
deterministic.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from collections.abc import Iterable
from typing import Any

from mltrail.entities import Run

from .. import urls
from ..gather.run import MetricHistory, RunDetail
from ..gather.series import series_to_csv
from ..gather.site import ExperimentRecord, SiteData, user_tags
from .jsdata import script_call


def data_script(function: str, payload: Any) -> bytes:
    """A data file: ``MLTRAIL.<function>(<script-safe JSON>);``."""
    return script_call(f"MLTRAIL.{function}", payload).encode()


def nonfinite_name(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return None


def metric_value(value: float) -> float | str:
    """A latest value for JSON: finite as a number, else "NaN"/"Infinity"/"-Infinity"."""
    return nonfinite_name(value) or value


def run_row(run: Run) -> dict[str, Any]:
    """One run of ``runs.js``."""
    info = run.info
    tags = run.data.tags
    return {
        "id": info.run_id,
        "name": info.run_name,
        "status": info.status,
        "start": info.start_time,
        "end": info.end_time,
        "duration": None if info.end_time is None else info.end_time - info.start_time,
        "user": info.user_id,
        "commit": tags.get("mlflow.source.git.commit"),
        "parent": tags.get("mlflow.parentRunId"),
        "params": run.data.params,
        "metrics": {k: metric_value(v) for k, v in run.data.metrics.items()},
        "tags": user_tags(run),
    }


def experiment_header(record: ExperimentRecord) -> dict[str, Any]:
    """The experiment's fields of ``runs.js`` (its runs: ``output.runcolumns``)."""
    exp = record.experiment
    cols = record.columns
    return {
        "id": exp.experiment_id,
        "name": exp.name,
        "primary_metric": record.primary_metric,
        "lower_is_better": record.lower_is_better,
        "columns": {
            "params": list(cols.params),
            "metrics": list(cols.metrics),
            "tags": list(cols.tags),
        },
    }


def run_payload(detail: RunDetail) -> dict[str, Any]:
    """``data.js`` of a run. ``metrics`` (left out when empty) holds only the latest
    values the client cannot take from the series' last point (usually none: the
    history sorted by step and time ends with it), so 100,000 runs do not write each
    one twice; ``shared`` the steps and the times most series have (see
    :func:`share_axes`)."""
    run = detail.run
    last = {h.key: _last_value(h) for h in detail.histories}
    series = {h.key: h.series.to_json() for h in detail.histories}
    payload: dict[str, Any] = {
        "id": run.info.run_id,
        "name": run.info.run_name,
        "experiment_id": run.info.experiment_id,
        "params": run.data.params,
        "series": series,
    }
    metrics = {
        k: metric_value(v)
        for k, v in run.data.metrics.items()
        if k not in last or not _same_float(last[k], v)
    }
    if metrics:
        payload["metrics"] = metrics
    shared = share_axes(series)
    if shared:
        payload["shared"] = shared
    return payload


def share_axes(series: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``step`` and the ``time`` most of the ``series`` entries have (when two or
    more have it), taken out of those entries: a series without its own ``step`` or
    ``time`` has the shared one. The metrics of a run are mostly logged together, so
    they are written once (5 metrics: 200 bytes less per run)."""
    shared = {}
    for axis in ("step", "time"):
        counts = Counter(json.dumps(entry[axis]) for entry in series.values())
        if not counts:
            continue
        common, times = counts.most_common(1)[0]
        if times < 2:
            continue
        shared[axis] = json.loads(common)
        for entry in series.values():
            if json.dumps(entry[axis]) == common:
                del entry[axis]
    return shared


def _last_value(history: MetricHistory) -> float | None:
    series = history.series
    if not series.value:
        return None
    last = series.value[-1]
    return float(series.nonfinite[len(series.value) - 1]) if last is None else last


def _same_float(a: float | None, b: float) -> bool:
    """Whether ``a`` reads in the page as ``b`` does: the same bits, or both NaN."""
    if a is None:
        return False
    return (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)


def search_index(site: SiteData, parts: list[str]) -> dict[str, Any]:
    """``search.js``: the entries of experiments, models (name, description, aliases,
    tags) and datasets (names, digest, source), and ``parts``: the site paths of the
    files holding the runs' entries (:func:`run_search_part`)."""
    entries = []
    for record in site.experiments:
        exp = record.experiment
        words = [exp.name, *(f"{k} {v}" for k, v in sorted(exp.tags.items()))]
        entries.append(
            _entry("experiment", exp.name, urls.experiment_page(exp.experiment_id), words)
        )
    for model in site.registry.models:
        m = model.model
        words = [
            m.name,
            m.description or "",
            *(f"@{a}" for a in sorted(m.aliases)),
            *(f"{k} {v}" for k, v in sorted(m.tags.items())),
        ]
        entries.append(_entry("model", m.name, urls.model_page(model.slug), filter(None, words)))
    for d in site.datasets.entries:
        words = [*d.names, d.digest, str(d.entry["source"])]
        entries.append(_entry("dataset", d.names[0], urls.dataset_page(d.slug), words))
    return {"entries": entries, "parts": [urls.href(part) for part in parts]}


def run_search_part(experiment_name: str, runs: Iterable[Run]) -> dict[str, Any]:
    """A search part: the entries of ``runs`` of one experiment, each ``[id, name,
    words]`` (its params and tags), which ``MLTRAIL.searchPart`` turns into the entry
    ``{"kind": "run", "title": name, "url": "runs/<id>/index.html", "text": "<name>
    <id> <experiment> <words>"}``: kind, url and the text's repeats are not written
    100,000 times (100 bytes a run)."""
    rows = []
    for run in runs:
        words = [
            *(f"{k} {v}" for k, v in sorted(run.data.params.items())),
            *(f"{k} {v}" for k, v in sorted(user_tags(run).items())),
        ]
        rows.append([run.info.run_id, run.info.run_name, " ".join(words)])
    return {"experiment": experiment_name, "runs": rows}


def _entry(kind: str, title: str, url: str, words: Iterable[str]) -> dict[str, str]:
    return {"kind": kind, "title": title, "url": urls.href(url), "text": " ".join(words)}


def history_csv(history: MetricHistory) -> bytes:
    """The full history as ``step,timestamp,value`` lines (values in round-trip form)."""
    return series_to_csv(history.points).encode()
