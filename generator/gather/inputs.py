"""Gather what MLflow 3 records beside a run: the models it logged (``logged-models/``)
and the datasets and models it used (``inputs.yaml``).

A damaged record costs only itself: it is left out with a warning, as a damaged run is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrail.errors import CorruptedRecord
from mltrail.store import FileStore
from mltrail.store import inputs as inputs_files
from mltrail.store import logged_models as model_files
from mltrail.store.logged_models import LinkedPoint

from .. import urls

log = logging.getLogger(__name__)

CONTEXT_TAG = "mlflow.data.context"
_PLAIN_DIGEST = re.compile(r"[a-z0-9_]{1,64}")


@dataclass(frozen=True)
class LoggedRecord:
    """One logged model of a run: its ``model.yaml`` and the metric points linked to it."""

    record: Mapping[str, Any]
    links: tuple[LinkedPoint, ...]


@dataclass(frozen=True)
class RunInputs:
    """A run's ``inputs.yaml``: dataset entries (as stored) and the ids of models it used."""

    datasets: tuple[Mapping[str, Any], ...] = ()
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetUse:
    run_id: str
    #: The context the run gave it (``training``, ``evaluation`` ...), None without one.
    context: str | None


@dataclass(frozen=True)
class DatasetEntry:
    """Every use of one dataset digest across the site's runs."""

    digest: str
    #: Its page: ``datasets/<slug>.html`` (:func:`dataset_slug`).
    slug: str
    #: The names it was logged under (usually one), sorted.
    names: tuple[str, ...]
    #: Source, schema and profile as the newest run recorded them.
    entry: Mapping[str, Any]
    #: The runs that used it, newest first (a run once per context).
    uses: tuple[DatasetUse, ...]


@dataclass(frozen=True)
class DatasetsData:
    #: By first name, then digest.
    entries: tuple[DatasetEntry, ...] = ()
    _by_slug: Mapping[str, DatasetEntry] = field(default_factory=dict, repr=False)

    def get(self, slug: str) -> DatasetEntry | None:
        return self._by_slug.get(slug)


def dataset_slug(digest: str) -> str:
    """The file name stem of a digest's page: ``d-<digest>`` for a plain lower-case digest
    (MLflow's are hex), else ``dh-<sha256 prefix>`` (the forms differ in their second letter;
    no two digests share a page on a case-insensitive disk).

    Example:
        >>> dataset_slug("a1b2c3d4"), dataset_slug("A/B")[:3]
        ('d-a1b2c3d4', 'dh-')
    """
    return urls.plain_or_hashed(digest, _PLAIN_DIGEST, "d-", "dh-", size=24)


def read_logged_models(run_path: Path) -> tuple[LoggedRecord, ...]:
    """The run's logged models, by creation time then id."""
    records, bad = model_files.list_records(run_path)
    for error in bad:
        log.warning("skipping an unreadable logged model: %s", error)
    records.sort(key=lambda r: (r["creation_timestamp"], r["model_id"]))
    return tuple(
        LoggedRecord(
            rec, tuple(model_files.read_links(model_files.model_dir(run_path, rec["model_id"])))
        )
        for rec in records
    )


def read_inputs(run_path: Path) -> RunInputs:
    """The run's ``inputs.yaml`` (empty, with a warning, when it is damaged)."""
    try:
        rec = inputs_files.read_inputs(run_path)
    except (CorruptedRecord, OSError) as e:
        log.warning("skipping the unreadable inputs of run %s: %s", run_path.name, e)
        return RunInputs()
    return RunInputs(tuple(rec["datasets"]), tuple(sorted({m["model_id"] for m in rec["models"]})))


def context_of(entry: Mapping[str, Any]) -> str | None:
    tags = entry.get("tags") or {}
    value = tags.get(CONTEXT_TAG) if isinstance(tags, Mapping) else None
    return str(value) if value is not None else None


def gather_datasets(store: FileStore, run_ids: Iterable[str]) -> DatasetsData:
    """Every dataset the runs used, grouped by digest; ``run_ids``: the runs with an
    inputs record (``SiteData.with_inputs``), newest first."""
    uses: dict[str, list[DatasetUse]] = {}
    names: dict[str, set[str]] = {}
    first: dict[str, Mapping[str, Any]] = {}
    for rid in run_ids:
        for entry in read_inputs(store.run_path(rid)).datasets:
            digest = entry["digest"]
            first.setdefault(digest, entry)
            names.setdefault(digest, set()).add(entry["name"])
            use = DatasetUse(rid, context_of(entry))
            if use not in uses.setdefault(digest, []):
                uses[digest].append(use)
    entries = sorted(
        (
            DatasetEntry(d, dataset_slug(d), tuple(sorted(names[d])), first[d], tuple(uses[d]))
            for d in uses
        ),
        key=lambda e: (e.names[0].lower(), e.names[0], e.digest),
    )
    return DatasetsData(tuple(entries), {e.slug: e for e in entries})
