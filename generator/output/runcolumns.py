"""An experiment's runs for the browser: ``runs.js`` and its column parts (docs/SITE.md).

``runs.js`` is small whatever the number of runs: the experiment, its columns, the run
count, the newest ``HEAD_RUNS`` runs in full (so the table draws at once) and the list of
parts. Each part, ``runs-<n>.js``, holds whole columns for every run (in the order of
``runs.js``: newest first) of one group, so the page loads the columns it shows first
and the others (e.g. hidden tags) only when something needs them (a sort, a filter, the
column chooser, the charts).
A text column with few distinct values is written as a dictionary and codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..gather.site import ExperimentRecord
from .datafiles import run_row
from .jsdata import script_json

#: Runs written in full in ``runs.js`` (the first screens of the table, without any part).
HEAD_RUNS = 100
#: A part holds consecutive columns of one group (attributes, metrics, params or tags) up
#: to about this many bytes (a bigger column: alone).
PART_BYTES = 256 * 1024

ATTRIBUTES = ("id", "name", "status", "start", "end", "duration", "user", "commit", "parent")


@dataclass(frozen=True)
class ExperimentData:
    """``runs.js``'s payload and, in order, each part's (part n is ``runs-<n>.js``)."""

    head: dict[str, Any]
    parts: tuple[dict[str, Any], ...]


def _columns(
    record: ExperimentRecord, rows: list[dict[str, Any]]
) -> Iterator[tuple[str, list[Any]]]:
    """Every column of the data, by field name: attributes, then metrics, params, tags."""
    for name in ATTRIBUTES:
        yield name, [row[name] for row in rows]
    cols = record.columns
    for group, keys in (("metrics", cols.metrics), ("params", cols.params), ("tags", cols.tags)):
        for key in keys:
            yield f"{group}.{key}", [row[group].get(key) for row in rows]


def encode(values: list[Any]) -> Any:
    """A column as a plain list, or ``{"dict": [...], "codes": [...]}`` when that is smaller.

    A code is an index in ``dict``; ``-1`` stands for a missing value (``null``).
    """
    if not values or any(not isinstance(v, str | None) for v in values):
        return values
    distinct = sorted({v for v in values if v is not None})
    if len(distinct) * 4 > len(values):
        return values
    index = {v: n for n, v in enumerate(distinct)}
    return {"dict": distinct, "codes": [-1 if v is None else index[v] for v in values]}


def experiment_data(record: ExperimentRecord, head: dict[str, Any]) -> ExperimentData:
    """Split an experiment's runs into ``runs.js`` (`head`: its other fields) and parts."""
    runs = record.runs
    parts: list[dict[str, Any]] = []
    if len(runs) > HEAD_RUNS:
        current: dict[str, Any] = {}
        size = 0
        rows = [run_row(run) for run in runs]
        group = ""
        for name, values in _columns(record, rows):
            column = encode(values)
            length = len(script_json(column))
            same = name.partition(".")[0] if "." in name else ""  # attributes: ""
            if current and (size + length > PART_BYTES or same != group):
                parts.append(current)
                current, size = {}, 0
            current[name] = column
            size += length
            group = same
        parts.append(current)
    experiment_id = record.experiment.experiment_id
    payload = {
        **head,
        "count": len(runs),
        "runs": [run_row(run) for run in runs[:HEAD_RUNS]],  # (twice for these: cheap)
        "parts": [sorted(part) for part in parts],
    }
    return ExperimentData(
        head=payload,
        parts=tuple(
            {"experiment": experiment_id, "part": n, "columns": part}
            for n, part in enumerate(parts)
        ),
    )
