"""An experiment's runs for the browser: ``runs.js`` and its column parts (docs/SITE.md).

``runs.js`` is small whatever the number of runs: the experiment, its columns, the run
count, the newest ``HEAD_RUNS`` runs in full (so the table draws at once) and the list
of fields. The values of every run are in parts: the runs, oldest first, are cut into
chunks of ``CHUNK_RUNS``, and ``runs-<chunk>-<field>.js`` holds one field (its index in
``fields``) of one chunk. A new run (the newest) changes only the last chunk, so the
other parts stay byte for byte as they were and a rebuild neither encodes nor writes
them; and the page loads exactly the columns it needs, in pieces small enough that
no single script keeps the browser busy for long.
A text column with few distinct values is written as a dictionary and codes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..gather.runtable import RunSequence
from ..gather.site import ExperimentRecord
from .datafiles import run_row

#: Runs written in full in ``runs.js`` (the first screens of the table, without any part).
HEAD_RUNS = 100
#: Runs per chunk of parts (oldest first: chunk ``c`` holds runs ``c * CHUNK_RUNS`` on).
CHUNK_RUNS = 10_000

ATTRIBUTES = ("id", "name", "status", "start", "end", "duration", "user", "commit", "parent")


def fields(record: ExperimentRecord) -> list[str]:
    """Every field of the parts, in order: attributes, then metrics, params, tags."""
    cols = record.columns
    return [
        *ATTRIBUTES,
        *(f"metrics.{k}" for k in cols.metrics),
        *(f"params.{k}" for k in cols.params),
        *(f"tags.{k}" for k in cols.tags),
    ]


def chunk_count(record: ExperimentRecord) -> int:
    """How many chunks the experiment's runs make (each has its search entries' part)."""
    return -(-len(record.runs) // CHUNK_RUNS)


def has_parts(record: ExperimentRecord) -> bool:
    """Whether the runs' columns have parts (not when ``runs.js`` holds every run)."""
    return len(record.runs) > HEAD_RUNS


def chunk_runs(record: ExperimentRecord, chunk: int) -> RunSequence:
    """The runs of ``chunk``, oldest first (``record.runs`` is newest first)."""
    count = len(record.runs)
    start = max(0, count - (chunk + 1) * CHUNK_RUNS)
    return record.runs[start : count - chunk * CHUNK_RUNS][::-1]


def chunk_digest(run_ids: Sequence[str], signatures: Mapping[str, str]) -> str:
    """A digest of the ids and folder signatures of a chunk's runs, in order."""
    text = "\0".join(
        map("\1".join, zip(run_ids, map(signatures.__getitem__, run_ids), strict=True))
    )
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


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


def head_payload(record: ExperimentRecord, head: dict[str, Any]) -> dict[str, Any]:
    """``runs.js``'s payload: ``head`` (the experiment's fields), the count, the newest
    runs in full, the fields of the parts and how many chunks of them there are."""
    return {
        **head,
        "count": len(record.runs),
        "runs": [run_row(run) for run in record.runs[:HEAD_RUNS]],
        "fields": fields(record),
        "chunk_runs": CHUNK_RUNS,
        "chunks": chunk_count(record) if has_parts(record) else 0,
    }


def chunk_parts(record: ExperimentRecord, chunk: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each part of ``chunk``: (field index, payload of ``runs-<chunk>-<field>.js``)."""
    rows = [run_row(run) for run in chunk_runs(record, chunk)]
    experiment_id = record.experiment.experiment_id
    for n, name in enumerate(fields(record)):
        group, dot, key = name.partition(".")
        values = [row[group].get(key) for row in rows] if dot else [row[name] for row in rows]
        payload = {"experiment": experiment_id, "chunk": chunk, "field": n}
        yield n, {**payload, "values": encode(values)}
