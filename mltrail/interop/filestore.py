"""Read an MLflow file store (``mlruns/``): the layout of MLflow's ``FileStore``.

``<root>/<experiment id>/meta.yaml`` (deleted experiments under ``.trash/``), runs in
``<experiment>/<run id>/`` (``meta.yaml``, ``params/``, ``tags/``, ``metrics/``,
``artifacts/``, ``inputs/``), logged models in ``<experiment>/models/m-*/`` and the
registry in ``<root>/models/<name>/`` (``meta.yaml``, ``tags/``, ``aliases/``,
``version-<n>/``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mltrail.errors import StoreError
from mltrail.interop import local
from mltrail.interop.records import (
    DELETED_STAGE,
    MODEL_STATUS,
    RUN_STATUS,
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
from mltrail.store import formats
from mltrail.store.logged_models import LinkedPoint

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TRASH = ".trash"
_META = "meta.yaml"
_MODELS = "models"


def _meta(folder: Path) -> dict[str, Any]:
    """A ``meta.yaml`` read as mltrail reads its own records (size cap, no aliases, no
    links); ValueError naming the file when it is not a mapping."""
    try:
        return formats.read_mapping(folder / _META, missing_ok=False)
    except (StoreError, FileNotFoundError, OSError) as e:
        raise ValueError(f"{folder / _META}: {e}") from e


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


class FileStoreSource:
    """An MLflow file store folder, read only."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.label = self.root.as_uri()
        if not self.root.is_dir():
            raise SourceError(f"{root}: no such folder (an MLflow file store is a folder).")
        self._exp_dirs: dict[str, Path] = {}

    # -- experiments ----------------------------------------------------------------
    def experiments(self) -> list[ExperimentIn]:
        found = []
        for base in (self.root, self.root / _TRASH):
            names = sorted(os.listdir(base)) if base.is_dir() else []
            for name in names:
                folder = base / name
                if not name.isdigit() or folder.is_symlink() or not (folder / _META).is_file():
                    continue
                try:
                    meta = _meta(folder)
                    exp = ExperimentIn(
                        experiment_id=str(meta["experiment_id"]),
                        name=str(meta["name"]),
                        lifecycle_stage=str(meta.get("lifecycle_stage") or "active"),
                        creation_time=_int(meta.get("creation_time")),
                        last_update_time=_int(meta.get("last_update_time")),
                        tags=local.read_values(folder / "tags"),
                    )
                except (KeyError, ValueError, TypeError, OSError) as e:
                    raise SourceError(f"Cannot read the experiment {folder}: {e}") from e
                if exp.experiment_id != name:
                    raise SourceError(f"{folder / _META}: experiment_id is not its folder's name.")
                self._exp_dirs[exp.experiment_id] = folder
                found.append(exp)
        if not found:
            raise SourceError(
                f"{self.root} is not an MLflow file store: no experiment folder with a meta.yaml."
            )
        return found

    # -- runs -------------------------------------------------------------------------
    def _run_dirs(self, experiment: ExperimentIn) -> Iterator[Path]:
        folder = self._exp_dirs[experiment.experiment_id]
        for name in sorted(os.listdir(folder)):
            path = folder / name
            ok = _RUN_ID.fullmatch(name) and name != _MODELS and not path.is_symlink()
            if ok and (path / _META).is_file():
                yield path

    def runs(self, experiment: ExperimentIn) -> Iterator[RunIn | BadRun]:
        for path in self._run_dirs(experiment):
            try:
                yield self._run(path, experiment.experiment_id)
            except (KeyError, ValueError, TypeError, OSError, UnicodeDecodeError) as e:
                yield BadRun(str(path), f"{type(e).__name__}: {e}")

    def _run(self, path: Path, experiment_id: str) -> RunIn:
        meta = _meta(path)
        run_id = str(meta.get("run_id") or meta.get("run_uuid"))
        if run_id != path.name:
            raise ValueError(f"run_id {run_id!r} in meta.yaml is not its folder's name")
        status = meta.get("status", 1)
        tags = local.read_values(path / "tags")
        datasets, models = self._inputs(path)
        return RunIn(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=str(meta.get("run_name") or tags.get("mlflow.runName") or ""),
            status=RUN_STATUS[status] if isinstance(status, int) else str(status),
            start_time=int(meta["start_time"]),
            end_time=_int(meta.get("end_time")),
            lifecycle_stage=str(meta.get("lifecycle_stage") or "active"),
            deleted_time=_int(meta.get("deleted_time")),
            user_id=str(meta.get("user_id") or ""),
            artifact_uri=str(meta.get("artifact_uri") or ""),
            params=local.read_values(path / "params"),
            tags=tags,
            metric_keys=tuple(k for k, _ in local.key_files(path / "metrics")),
            dataset_inputs=datasets,
            model_inputs=models,
            model_outputs={
                str(m["source_id"]): int(m.get("step") or 0)
                for m in _metas(path / "outputs")
                if m.get("destination_type") == "MODEL_OUTPUT"
            },
        )

    def _inputs(self, path: Path) -> tuple[tuple[DatasetIn, ...], tuple[str, ...]]:
        """The datasets (``<experiment>/datasets/<id>/meta.yaml``) and logged models a
        run's ``inputs/<id>/meta.yaml`` name."""
        datasets, models = [], []
        for meta in _metas(path / "inputs"):
            kind, source_id = meta.get("source_type"), str(meta.get("source_id"))
            if kind == "MODEL":
                models.append(source_id)
            elif kind == "DATASET" and _RUN_ID.fullmatch(source_id):
                d = _meta(path.parent / "datasets" / source_id)
                tags = meta.get("tags") or {}
                datasets.append(
                    DatasetIn(
                        str(d["name"]),
                        str(d["digest"]),
                        str(d["source_type"]),
                        str(d["source"]),
                        _text(d.get("schema")),
                        _text(d.get("profile")),
                        {str(k): str(v) for k, v in tags.items()},
                    )
                )
        return tuple(datasets), tuple(models)

    def _run_path(self, run: RunIn) -> Path:
        return self._exp_dirs[run.experiment_id] / run.run_id

    def metric_history(self, run: RunIn, key: str) -> Iterator[tuple[int, float, int]]:
        return local.stream_points(self._run_path(run) / "metrics" / key)

    def artifacts(self, run: RunIn) -> Iterator[Artifact | BadRun]:
        return local.artifact_files(self._run_path(run) / "artifacts")

    # -- MLflow 3 logged models ----------------------------------------------------------
    def _logged_model_dir(self, model_id: str) -> Path | None:
        if not _RUN_ID.fullmatch(model_id):
            return None
        for folder in self._exp_dirs.values():
            path = folder / _MODELS / model_id
            if (path / _META).is_file() and not path.is_symlink():
                return path
        return None

    def logged_model(self, model_id: str) -> LoggedModelIn | None:
        path = self._logged_model_dir(model_id)
        if path is None:
            return None
        meta = _meta(path)
        run_id = meta.get("source_run_id")
        status = meta.get("status", 2)
        created = int(meta["creation_timestamp"])
        return LoggedModelIn(
            model_id,
            str(meta.get("name") or model_id),
            run_id and str(run_id),
            experiment_id=str(meta.get("experiment_id") or ""),
            status=MODEL_STATUS.get(status, str(status)),
            status_message=_text(meta.get("status_message")),
            model_type=_text(meta.get("model_type")),
            creation_timestamp=created,
            last_updated_timestamp=_int(meta.get("last_updated_timestamp")) or created,
            params=local.read_values(path / "params"),
            tags=local.read_values(path / "tags"),
            metrics=tuple(_linked(path / "metrics")),
            deleted=meta.get("lifecycle_stage") == "deleted",
        )

    def logged_model_artifacts(self, model_id: str) -> Iterator[Artifact | BadRun]:
        path = self._logged_model_dir(model_id)
        return iter(()) if path is None else local.artifact_files(path / "artifacts")

    def logged_models(self, experiment: ExperimentIn) -> list[LoggedModelIn | BadRun]:
        base = self._exp_dirs[experiment.experiment_id] / _MODELS
        names = sorted(os.listdir(base)) if base.is_dir() and not base.is_symlink() else []
        found: list[LoggedModelIn | BadRun] = []
        for name in names:
            try:
                model = self.logged_model(name)
            except (KeyError, ValueError, TypeError, OSError, UnicodeDecodeError) as e:
                found.append(BadRun(name, str(e)))
                continue
            if model is not None:
                found.append(model)
        return found

    # -- the registry ------------------------------------------------------------------
    def models(self) -> Iterator[ModelIn | BadRun]:
        base = self.root / _MODELS
        for name in sorted(os.listdir(base)) if base.is_dir() else []:
            path = base / name
            if path.is_symlink() or not (path / _META).is_file():
                continue
            try:
                yield self._model(path)
            except (KeyError, ValueError, TypeError, OSError, UnicodeDecodeError) as e:
                yield BadRun(str(path), f"{type(e).__name__}: {e}")

    def _model(self, path: Path) -> ModelIn:
        meta = _meta(path)
        aliases = {k: int(local.read_value(f)) for k, f in local.key_files(path / "aliases")}
        versions = []
        for entry in sorted(os.listdir(path)):
            folder = path / entry
            if entry.startswith("version-") and (folder / _META).is_file():
                versions.append(self._version(folder))
        created = int(meta["creation_timestamp"])
        return ModelIn(
            name=str(meta["name"]),
            creation_timestamp=created,
            last_updated_timestamp=_int(meta.get("last_updated_timestamp")) or created,
            description=str(meta.get("description") or ""),
            tags=local.read_values(path / "tags"),
            versions=tuple(sorted(versions, key=lambda v: v.version)),
            aliases=aliases,
        )

    def _version(self, folder: Path) -> VersionIn:
        meta = _meta(folder)
        created = int(meta["creation_timestamp"])
        stage = str(meta.get("current_stage") or "None")
        return VersionIn(
            name=str(meta["name"]),
            version=int(meta["version"]),
            creation_timestamp=created,
            last_updated_timestamp=_int(meta.get("last_updated_timestamp")) or created,
            current_stage=stage,
            description=str(meta.get("description") or ""),
            user_id=str(meta.get("user_id") or ""),
            source=str(meta.get("source") or ""),
            run_id=meta.get("run_id") and str(meta["run_id"]),
            run_link=meta.get("run_link") and str(meta["run_link"]),
            status=str(meta.get("status") or "READY"),
            tags=local.read_values(folder / "tags"),
            deleted=stage == DELETED_STAGE,
            model_id=_text(meta.get("model_id")),
        )

    def close(self) -> None:
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _metas(folder: Path) -> Iterator[dict[str, Any]]:
    """The ``meta.yaml`` of every sub-folder (a run's ``inputs/`` or ``outputs/``)."""
    names = sorted(os.listdir(folder)) if folder.is_dir() and not folder.is_symlink() else []
    for name in names:
        if (folder / name / _META).is_file():
            yield _meta(folder / name)


def _linked(folder: Path) -> Iterator[LinkedPoint]:
    """A logged model's ``metrics/<key>`` files: ``timestamp value step run_id`` lines,
    and the dataset's name and digest when the value was on one."""
    for key, path in local.key_files(folder):
        for parts in local.stream_lines(path):
            if len(parts) not in (4, 6):
                continue
            try:
                ts, value, step = int(parts[0]), float(parts[1]), int(parts[2])
            except ValueError:
                continue
            dataset = (parts[4], parts[5]) if len(parts) == 6 else (None, None)
            yield LinkedPoint(key, value, ts, step, parts[3], *dataset)
