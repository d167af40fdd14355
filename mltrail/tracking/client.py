"""``Client`` (alias ``MlflowClient``): every tracking operation, addressed by id."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mltrail import validation
from mltrail.entities import (
    Experiment,
    FileInfo,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.registry.client import RegistryClientMixin
from mltrail.store import runs as run_records
from mltrail.tracking import context, payloads
from mltrail.tracking.names import generate_run_name
from mltrail.tracking.paging import PagedList
from mltrail.tracking.paging import page as _page
from mltrail.tracking.unsupported import warn_ignored

if TYPE_CHECKING:
    from mltrail.store import FileStore

T = TypeVar("T")


class Client(RegistryClientMixin):
    """Every tracking and registry operation on one store, addressed by id (``MlflowClient``).

    MLflow's method names and signatures throughout, so ``MlflowClient`` code runs
    unchanged.  An argument MLflow has and mltrail cannot honour (``registry_uri``,
    ``synchronous=False``, ``model_id`` ...) warns once (``NoEffectWarning``).
    mltrail's additions: ``store``, ``log_params``, ``set_tags`` and ``get_artifact_uri``.

    Args:
        tracking_uri: the store folder (a path or ``file://`` URI); default: the store in
            use (see ``mltrail.get_tracking_uri``).
        registry_uri: accepted for MLflow's sake; another store warns, as the registry
            always lives in the tracking store.
        workspace_store_uri: accepted for MLflow's sake; a value warns (no workspaces).

    Example:
        >>> import mltrail
        >>> client = mltrail.Client()
        >>> run = client.create_run("0", run_name="from-the-client")
        >>> client.log_metric(run.info.run_id, "rmse", 0.7)
        >>> client.set_terminated(run.info.run_id)
        >>> client.get_run(run.info.run_id).info.status
        'FINISHED'
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        workspace_store_uri: str | None = None,
    ) -> None:
        if registry_uri is not None and registry_uri == tracking_uri:
            registry_uri = None  # the same store: nothing to ignore
        warn_ignored(
            "MlflowClient", registry_uri=registry_uri, workspace_store_uri=workspace_store_uri
        )
        root = context.uri_to_path(tracking_uri) if tracking_uri else None
        self._store: FileStore = context.get_store(root)

    @property
    def store(self) -> FileStore:
        return self._store

    # -- experiments ---------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create the experiment ``name``; return its id.  ``artifact_location`` warns."""
        warn_ignored("MlflowClient.create_experiment", artifact_location=artifact_location)
        return str(self._store.create_experiment(name, tags).experiment_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.experiments.get(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._store.experiments.get_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        from mltrail.experiment_search import search_experiments

        found = search_experiments(self._store.experiments.list(view_type), filter_string, order_by)
        return _page(found, max_results, page_token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.update_experiment(str(experiment_id), "Rename", name=new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        if str(experiment_id) == "0":
            raise InvalidParameterValue("The Default experiment (id 0) cannot be deleted.")
        self._store.update_experiment(
            str(experiment_id), "Delete", lifecycle_stage=LifecycleStage.DELETED
        )

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.update_experiment(
            str(experiment_id), "Restore", lifecycle_stage=LifecycleStage.ACTIVE
        )

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._store.update_experiment(str(experiment_id), f"Tag {key!r} of", tags={key: value})

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._store.delete_experiment_tag(str(experiment_id), key)

    # -- runs ------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run; MLflow's ``mlflow.*`` tags (``mlflow.parentRunId``,
        ``mlflow.note.content``, ``mlflow.user`` ...) fill the run's own fields."""
        tags = {
            k: validation.validate_tag_value(validation.validate_key("tag", k), v)
            for k, v in (tags or {}).items()
        }
        name = run_name or tags.pop("mlflow.runName", None) or generate_run_name()
        record: dict[str, Any] = {
            "run_name": validation.validate_run_name(name),
            "status": RunStatus.RUNNING,
            "start_time": int(start_time if start_time is not None else time.time() * 1000),
            "end_time": None,
            "user": tags.pop("mlflow.user", None) or context.current_user(),
            "parent_run_id": tags.pop("mlflow.parentRunId", None),
            "description": tags.pop("mlflow.note.content", None) or "",
        }
        source, diff = context.source_record(self._store.root)
        record["source"] = {**source, **_source_overrides(tags)}
        run = self._store.create_run(str(experiment_id), record, tags)
        if diff:
            self._store.artifacts(run.info.run_id).write_bytes(
                "source/uncommitted.diff", diff.encode()
            )
        return run

    def get_run(self, run_id: str) -> Run:
        return self._store.get_run(run_id)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str] | None,
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else experiment_ids
        found = self._store.search_runs(ids, filter_string, run_view_type, None, order_by)
        return _page(found, max_results, page_token)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        fields: dict[str, Any] = {}
        if status is not None:
            fields["status"] = _check_status(status)
        if name is not None:
            fields["run_name"] = validation.validate_run_name(name)
        if fields:
            self._store.update_run(run_id, **fields)
            self._store.after_write(run_id, "Update")

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        self._store.end_run(run_id, _check_status(status or RunStatus.FINISHED), end_time)

    def delete_run(self, run_id: str) -> None:
        self._store.set_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._store.set_lifecycle(run_id, LifecycleStage.ACTIVE)

    # -- params, metrics, tags ---------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log one parameter of ``run_id``; return ``value``."""
        warn_ignored("MlflowClient.log_param", synchronous=synchronous)
        self.log_params(run_id, {key: value})
        return value

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        self._store.writer(run_id).log_params(params)
        self._store.after_write_if_ended(run_id, "Log params")

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> None:
        """Log one metric value; ``dataset_*``, ``model_id`` and ``synchronous=False`` warn."""
        warn_ignored(
            "MlflowClient.log_metric",
            synchronous=synchronous,
            dataset_name=dataset_name,
            dataset_digest=dataset_digest,
            model_id=model_id,
        )
        self._store.writer(run_id).log_metric(key, value, step, timestamp)
        self._store.after_write_if_ended(run_id, "Log metric")

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log metrics, params and tags of ``run_id`` in one call."""
        warn_ignored("MlflowClient.log_batch", synchronous=synchronous)
        writer = self._store.writer(run_id)
        if params:
            writer.log_params({p.key: p.value for p in params})
        for m in metrics:
            writer.log_metric(m.key, m.value, m.step, m.timestamp)
        if tags:
            self.set_tags(run_id, {t.key: t.value for t in tags})
        self._store.after_write_if_ended(run_id, "Log batch")

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Set one tag of ``run_id``."""
        warn_ignored("MlflowClient.set_tag", synchronous=synchronous)
        self.set_tags(run_id, {key: value})

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        checked = {
            validation.validate_key("tag", k): validation.validate_tag_value(k, v)
            for k, v in tags.items()
        }
        fields = {
            run_records.FIELD_TAGS[k]: checked.pop(k)
            for k in list(checked)
            if k in run_records.FIELD_TAGS
        }
        if fields:
            self._store.update_run(run_id, **fields)
        if checked:
            self._store.writer(run_id).set_tags(checked)
        self._store.after_write_if_ended(run_id, "Set tags")

    def delete_tag(self, run_id: str, key: str) -> None:
        if key in run_records.FIELD_TAGS and key != "mlflow.runName":
            self._store.update_run(run_id, **{run_records.FIELD_TAGS[key]: None})
        elif not self._store.writer(run_id).delete_tag(key):
            raise ResourceNotFound(f"Run {run_id} has no tag {key!r}.")
        self._store.after_write_if_ended(run_id, "Delete tag")

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._store.get_metric_history(run_id, key)

    # -- artifacts -------------------------------------------------------------------
    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> None:
        self._store.artifacts(run_id).log_file(Path(local_path), artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> None:
        self._store.artifacts(run_id).log_dir(Path(local_dir), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._store.artifacts(run_id).write_bytes(artifact_file, payloads.text_bytes(text))

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        self._store.artifacts(run_id).write_bytes(
            artifact_file, payloads.dict_bytes(dictionary, artifact_file)
        )

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        data = payloads.figure_bytes(figure, artifact_file, save_kwargs)
        self._store.artifacts(run_id).write_bytes(artifact_file, data)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Save a numpy array or PIL image as the artifact ``artifact_file``, or, as
        MLflow's step-wise image ``key`` at ``step``, under ``images/`` with MLflow's names
        (and the run tag ``mlflow.loggedImages``).  ``synchronous=False`` warns.
        """
        warn_ignored("MlflowClient.log_image", synchronous=synchronous)
        _check_image_target(artifact_file, key, step, timestamp)
        artifacts = self._store.artifacts(run_id)
        if artifact_file is not None:
            artifacts.write_bytes(artifact_file, payloads.image_bytes(image, artifact_file))
            return
        when = int(timestamp or time.time() * 1000)
        for path, data in payloads.stepwise_image_files(image, str(key), step or 0, when).items():
            artifacts.write_bytes(path, data)
        self.set_tags(run_id, {"mlflow.loggedImages": True})

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._store.artifacts(run_id).list_dir(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        dst = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="mltrail-artifacts-"))
        return str(self._store.artifacts(run_id).download(path, dst))

    def get_artifact_uri(self, run_id: str, artifact_path: str | None = None) -> str:
        from mltrail.store.artifacts import safe_relpath

        base = self.get_run(run_id).info.artifact_uri
        rel = safe_relpath(artifact_path)
        return f"{base}/{rel}" if rel else base


def _check_image_target(
    artifact_file: str | None, key: str | None, step: int | None, timestamp: int | None
) -> None:
    """Exactly one of ``artifact_file`` or ``key``, as MLflow demands."""
    stepwise = {"key": key, "step": step, "timestamp": timestamp}
    given = [name for name, value in stepwise.items() if value is not None]
    if artifact_file is not None and given:
        raise TypeError(
            f"log_image: artifact_file cannot be combined with {', '.join(given)}: give "
            "artifact_file for one image, or key (and step) for a step-wise image."
        )
    if artifact_file is None and key is None:
        raise InvalidParameterValue(
            "log_image needs artifact_file (e.g. 'images/sample.png') or key (a step-wise "
            "image, with step=)."
        )


def _check_status(status: str) -> str:
    if status not in RunStatus.ALL:
        raise InvalidParameterValue(
            f"Invalid run status {status!r}: use one of {', '.join(RunStatus.ALL)}."
        )
    return status


def _source_overrides(tags: dict[str, str]) -> dict[str, str]:
    """``mlflow.source.*`` tags given at creation replace what was detected."""
    return {field: tags.pop(tag) for tag, field in run_records.SOURCE_TAGS.items() if tag in tags}


MlflowClient = Client
