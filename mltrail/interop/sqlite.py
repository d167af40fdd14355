"""Read an MLflow SQLite database (``sqlite:///mlflow.db``) with ``sqlite3``, against
MLflow's schema (its ``experiments``, ``runs``, ``metrics`` ... tables), read only.

Artifacts are files where each run's ``artifact_uri`` says (a local path or URI, or
``mlflow-artifacts:/...`` served from ``mlartifacts/`` beside the database), read only
when they lie inside the database's folder: a database must not make the import copy
files from elsewhere on this machine.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mltrail.interop import local
from mltrail.interop.records import (
    DELETED_STAGE,
    MODEL_STATUS,
    Artifact,
    BadRun,
    DatasetIn,
    ExperimentIn,
    LoggedModelIn,
    ModelIn,
    RunIn,
    SourceError,
    VersionIn,
)
from mltrail.store.logged_models import LinkedPoint

_MODEL_TAGS = "SELECT key, value FROM registered_model_tags WHERE name = ?"
_TABLES = {"experiments", "runs", "metrics", "params", "tags", "experiment_tags"}
_MODEL_TABLES = {
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
}
_LOGGED_MODELS = (
    "SELECT model_id, name, source_run_id, status, status_message, model_type, "
    "creation_timestamp_ms, last_updated_timestamp_ms, lifecycle_stage FROM logged_models "
    "WHERE experiment_id = ? ORDER BY model_id"
)
_MODEL_METRICS = (
    "SELECT metric_name, metric_value, metric_timestamp_ms, metric_step, run_id, dataset_name, "
    "dataset_digest FROM logged_model_metrics WHERE model_id = ? "
    "ORDER BY run_id, metric_timestamp_ms, metric_step, metric_name"
)
_DATASETS = (
    "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, "
    "d.dataset_schema, d.dataset_profile FROM inputs i JOIN datasets d "
    "ON d.dataset_uuid = i.source_id WHERE i.destination_id = ? AND i.source_type = 'DATASET' "
    "AND i.destination_type = 'RUN' ORDER BY d.name, d.digest, i.input_uuid"
)
#: MLflow 3 writes a model input as run -> model, and an output as run -> model with a step.
_MODEL_INPUTS = (
    "SELECT destination_id FROM inputs WHERE source_id = ? AND source_type = 'RUN_INPUT' "
    "AND destination_type = 'MODEL_INPUT' ORDER BY destination_id"
)
_MODEL_OUTPUTS = (
    "SELECT destination_id, step FROM inputs WHERE source_id = ? AND source_type = 'RUN_OUTPUT' "
    "AND destination_type = 'MODEL_OUTPUT' ORDER BY destination_id"
)


class SqliteSource:
    """An MLflow tracking database in a SQLite file."""

    def __init__(self, uri: str) -> None:
        path = Path(unquote(uri[len("sqlite:") :].lstrip("/")))
        path = Path("/" + str(path)) if uri.startswith("sqlite:////") else path
        self.path = path.resolve()
        self.label = f"sqlite:///{self.path}"
        self.root = self.path.parent
        if not self.path.is_file():
            raise SourceError(f"{uri}: no such database file ({self.path}).")
        try:
            self.db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
            names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error as e:
            raise SourceError(f"{self.path}: not a readable SQLite database ({e}).") from e
        if not names >= _TABLES:
            raise SourceError(f"{self.path}: not an MLflow database (no {', '.join(_TABLES)}).")
        self._tables = names

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise SourceError(f"{self.path}: cannot read MLflow's tables ({e}).") from e

    def experiments(self) -> list[ExperimentIn]:
        rows = self._rows(
            "SELECT experiment_id, name, lifecycle_stage, creation_time, last_update_time "
            "FROM experiments ORDER BY experiment_id"
        )
        tags: dict[str, dict[str, str]] = {}
        for key, value, eid in self._rows("SELECT key, value, experiment_id FROM experiment_tags"):
            tags.setdefault(str(eid), {})[key] = value or ""
        return [
            ExperimentIn(
                str(eid), name, stage or "active", created, updated, tags.get(str(eid), {})
            )
            for eid, name, stage, created, updated in rows
        ]

    def runs(self, experiment: ExperimentIn) -> Iterator[RunIn | BadRun]:
        rows = self._rows(
            "SELECT run_uuid, name, status, start_time, end_time, lifecycle_stage, deleted_time,"
            " user_id, artifact_uri FROM runs WHERE experiment_id = ?",
            int(experiment.experiment_id),
        )
        for run_id, name, status, start, end, stage, deleted, user, uri in rows:
            try:
                yield RunIn(
                    run_id=str(run_id),
                    experiment_id=experiment.experiment_id,
                    run_name=name or "",
                    status=str(status),
                    start_time=int(start),
                    end_time=end,
                    lifecycle_stage=stage or "active",
                    deleted_time=deleted,
                    user_id=user or "",
                    artifact_uri=uri or "",
                    params=self._values("params", run_id),
                    tags=self._values("tags", run_id),
                    metric_keys=tuple(
                        r[0]
                        for r in self._rows(
                            "SELECT DISTINCT key FROM metrics WHERE run_uuid = ? ORDER BY key",
                            run_id,
                        )
                    ),
                    dataset_inputs=self._datasets(run_id),
                    model_inputs=tuple(str(r[0]) for r in self._edges(_MODEL_INPUTS, run_id)),
                    model_outputs={
                        str(m): int(step or 0) for m, step in self._edges(_MODEL_OUTPUTS, run_id)
                    },
                )
            except (TypeError, ValueError) as e:
                yield BadRun(f"{self.path} run {run_id}", str(e))

    def _values(self, table: str, run_id: str) -> dict[str, str]:
        sql = f"SELECT key, value FROM {table} WHERE run_uuid = ?"
        return {k: v or "" for k, v in self._rows(sql, run_id)}

    def _edges(self, sql: str, run_id: str) -> list[tuple[Any, ...]]:
        return self._rows(sql, run_id) if "inputs" in self._tables else []

    def _datasets(self, run_id: str) -> tuple[DatasetIn, ...]:
        """The run's dataset inputs (``inputs`` -> ``datasets``, tags in ``input_tags``)."""
        if not {"inputs", "datasets", "input_tags"} <= self._tables:
            return ()
        found = []
        for uuid, name, digest, kind, source, schema, profile in self._rows(_DATASETS, run_id):
            tags = self._rows("SELECT name, value FROM input_tags WHERE input_uuid = ?", uuid)
            found.append(DatasetIn(name, digest, kind, source, schema, profile, dict(sorted(tags))))
        return tuple(found)

    def metric_history(self, run: RunIn, key: str) -> Iterator[tuple[int, float, int]]:
        cursor = self.db.execute(
            "SELECT timestamp, value, step, is_nan FROM metrics WHERE run_uuid = ? AND key = ?",
            (run.run_id, key),
        )
        while rows := cursor.fetchmany(10_000):
            for timestamp, value, step, is_nan in rows:
                yield int(timestamp), float("nan") if is_nan else float(value), int(step)

    def _local(self, uri: str) -> Path | None:
        """The folder ``uri`` names on this machine, if it is inside the database's folder."""
        if uri.startswith("mlflow-artifacts:"):
            rest = urlparse(uri).path.lstrip("/")
            path = self.root / "mlartifacts" / rest
        elif uri.startswith("file:") or "://" not in uri:
            path = Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)
            path = path if path.is_absolute() else self.root / path
        else:
            return None
        path = Path(os.path.normpath(path))
        return path if path == self.root or self.root in path.parents else None

    def artifacts(self, run: RunIn) -> Iterator[Artifact | BadRun]:
        return self._artifacts_at(run.artifact_uri)

    def _artifacts_at(self, uri: str) -> Iterator[Artifact | BadRun]:
        path = self._local(uri)
        if path is None:
            yield BadRun(uri, "not a local folder inside the database's folder")
            return
        yield from local.artifact_files(path)

    def logged_models(self, experiment: ExperimentIn) -> list[LoggedModelIn | BadRun]:
        if not self._tables >= _MODEL_TABLES:
            return []
        rows = self._rows(_LOGGED_MODELS, int(experiment.experiment_id))
        found: list[LoggedModelIn | BadRun] = []
        for mid, name, run_id, status, message, kind, created, updated, stage in rows:
            params = "SELECT param_key, param_value FROM logged_model_params WHERE model_id = ?"
            tags = "SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = ?"
            try:
                found.append(
                    LoggedModelIn(
                        str(mid),
                        str(name or mid),
                        run_id and str(run_id),
                        experiment_id=experiment.experiment_id,
                        status=MODEL_STATUS.get(status, str(status)),
                        status_message=message,
                        model_type=kind,
                        creation_timestamp=int(created),
                        last_updated_timestamp=int(updated or created),
                        params=dict(self._rows(params, mid)),
                        tags=dict(self._rows(tags, mid)),
                        metrics=tuple(
                            LinkedPoint(k, _float(v), int(t), int(s), str(r), dn, dd)
                            for k, v, t, s, r, dn, dd in self._rows(_MODEL_METRICS, mid)
                        ),
                        deleted=stage == "deleted",
                    )
                )
            except (TypeError, ValueError) as e:
                found.append(BadRun(f"{self.path} logged model {mid}", str(e)))
        return found

    def logged_model_artifacts(self, model_id: str) -> Iterator[Artifact | BadRun]:
        rows = self._rows(
            "SELECT artifact_location FROM logged_models WHERE model_id = ?", model_id
        )
        return self._artifacts_at(str(rows[0][0])) if rows else iter(())

    def models(self) -> Iterator[ModelIn | BadRun]:
        if "registered_models" not in self._tables:
            return
        rows = self._rows(
            "SELECT name, creation_time, last_updated_time, description FROM registered_models"
        )
        for name, created, updated, description in rows:
            try:
                yield ModelIn(
                    name=name,
                    creation_timestamp=int(created),
                    last_updated_timestamp=int(updated or created),
                    description=description or "",
                    tags=dict(self._rows(_MODEL_TAGS, name)),
                    versions=tuple(self._versions(name)),
                    aliases={
                        a: int(v)
                        for a, v in self._rows(
                            "SELECT alias, version FROM registered_model_aliases WHERE name = ?",
                            name,
                        )
                    },
                )
            except (TypeError, ValueError) as e:
                yield BadRun(f"{self.path} registered model {name!r}", str(e))

    def _versions(self, name: str) -> Iterator[VersionIn]:
        rows = self._rows(
            "SELECT version, creation_time, last_updated_time, current_stage, description, "
            "user_id, source, run_id, run_link, status FROM model_versions WHERE name = ? "
            "ORDER BY version",
            name,
        )
        for version, created, updated, stage, desc, user, source, run_id, link, status in rows:
            tags = self._rows(
                "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
                name,
                version,
            )
            yield VersionIn(
                name=name,
                version=int(version),
                creation_timestamp=int(created),
                last_updated_timestamp=int(updated or created),
                current_stage=stage or "None",
                description=desc or "",
                user_id=user or "",
                source=source or "",
                run_id=run_id,
                run_link=link,
                status=status or "READY",
                tags={k: v or "" for k, v in tags},
                deleted=stage == DELETED_STAGE,
            )

    def close(self) -> None:
        self.db.close()


def _float(value: Any) -> float:
    """A SQL ``FLOAT`` (MLflow stores NaN as NULL)."""
    return float("nan") if value is None else float(value)
