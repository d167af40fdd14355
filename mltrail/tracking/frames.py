"""``search_runs(output_format="pandas")``: runs as a DataFrame shaped like MLflow's."""

from __future__ import annotations

from typing import Any

from mltrail.entities import Run

_INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def runs_to_frame(runs: list[Run]) -> Any:
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for run in runs:
        info = run.info
        row: dict[str, Any] = {c: getattr(info, c) for c in _INFO_COLUMNS}
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=_columns(rows))
    for col in ("start_time", "end_time"):
        frame[col] = pd.to_datetime(frame[col], unit="ms", utc=True)
    return frame


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    keys = {k for row in rows for k in row} - set(_INFO_COLUMNS)
    order = {"metrics": 0, "params": 1, "tags": 2}
    return [*_INFO_COLUMNS, *sorted(keys, key=lambda k: (order[k.split(".", 1)[0]], k))]
