"""``Client`` (alias ``MlflowClient``): every tracking operation, addressed by id."""

from __future__ import annotations

import posixpath
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
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
from mltrail.store import runs as run_records
from mltrail.store.index import no_gc
from mltrail.tracking import context, logged_models, payloads
from mltrail.tracking.models_client import LoggedModelClientMixin
from mltrail.tracking.names import generate_run_name
from mltrail.tracking.paging import PagedList
from mltrail.tracking.paging import page as _page
from mltrail.tracking.registry_client import RegistryClientMixin
from mltrail.tracking.unsupported import warn_ignored

if TYPE_CHECKING:
    from mltrail.store import FileStore

T = TypeVar("T")


class Client(RegistryClientMixin, LoggedModelClientMixin):
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
        #: What runs this client creates record of their source (None: detect it from
        #: this process's script and folder). ``mltrail run`` records the project's.
        self._source: tuple[dict[str, Any], str] | None = None

    @property
    def store(self) -> FileStore:
        """The ``FileStore`` this client reads and writes (mltrail's own addition).

        Example:
            >>> import mltrail
            >>> mltrail.Client().store.root.name
            'runs'
        """
        return self._store

    # -- experiments ---------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create an experiment and return its id.

        Args:
            name: the experiment's name, unique in the store.
            artifact_location: where the large artifacts of its runs go instead of the
                store's ``artifact_store``: a URL (``s3://bucket/prefix``, ``gs://``,
                ``az://``, ``file://``) or a folder inside the store (docs/TEAMS.md).
            tags: tags of the experiment.

        Returns:
            The new experiment's id (a string).

        Raises:
            ResourceAlreadyExists: an experiment has this name already.
            InvalidParameterValue: ``artifact_location`` is unsupported or leaves the store.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> experiment_id = client.create_experiment("churn", tags={"team": "growth"})
            >>> client.get_experiment(experiment_id).name
            'churn'
        """
        return str(self._store.create_experiment(name, tags, artifact_location).experiment_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Read the experiment ``experiment_id``.

        Args:
            experiment_id: the experiment's id (``"0"`` is the Default experiment).

        Returns:
            The ``Experiment``.

        Raises:
            ResourceNotFound: no experiment has this id.

        Example:
            >>> import mltrail
            >>> mltrail.Client().get_experiment("0").name
            'Default'
        """
        return self._store.experiments.get(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Read the experiment called ``name``, if there is one.

        Args:
            name: the experiment's name.

        Returns:
            The ``Experiment``, or None when no experiment has this name.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> client.get_experiment_by_name("Default").experiment_id
            '0'
            >>> client.get_experiment_by_name("no such thing") is None
            True
        """
        return self._store.experiments.get_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Find experiments by an MLflow filter string, one page at a time.

        Args:
            view_type: ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
            max_results: the most experiments in one page (None: all of them).
            filter_string: an MLflow filter on ``name``, ``tags.<key>``, ``creation_time`` ...
                (default: every experiment).
            order_by: clauses such as ``["name ASC"]`` (default: newest first).
            page_token: the ``token`` of the previous page, to read the next one.

        Returns:
            A ``PagedList`` of ``Experiment``: a list whose ``token`` reads the next page
            (None on the last one).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> for name in ("churn-a", "churn-b", "fraud"):
            ...     _ = client.create_experiment(name)
            >>> page = client.search_experiments(filter_string="name LIKE 'churn%'", max_results=1,
            ...                                  order_by=["name ASC"])
            >>> [e.name for e in page], page.token is not None
            (['churn-a'], True)
        """
        from mltrail.experiment_search import search_experiments

        found = search_experiments(self._store.experiments.list(view_type), filter_string, order_by)
        return _page(found, max_results, page_token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename the experiment ``experiment_id``.

        Args:
            experiment_id: the experiment's id.
            new_name: its new name, unique in the store.

        Raises:
            ResourceAlreadyExists: another experiment has ``new_name``.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> experiment_id = client.create_experiment("churn")
            >>> client.rename_experiment(experiment_id, "churn-2024")
            >>> client.get_experiment(experiment_id).name
            'churn-2024'
        """
        self._store.update_experiment(str(experiment_id), "Rename", name=new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark the experiment ``experiment_id`` deleted; ``restore_experiment`` undoes it.

        Args:
            experiment_id: the experiment's id; the Default experiment (``"0"``) cannot be
                deleted.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> experiment_id = client.create_experiment("scratch")
            >>> client.delete_experiment(experiment_id)
            >>> client.get_experiment(experiment_id).lifecycle_stage
            'deleted'
        """
        if str(experiment_id) == "0":
            raise InvalidParameterValue("The Default experiment (id 0) cannot be deleted.")
        self._store.update_experiment(
            str(experiment_id), "Delete", lifecycle_stage=LifecycleStage.DELETED
        )

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore the deleted experiment ``experiment_id``.

        Args:
            experiment_id: the experiment's id.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> experiment_id = client.create_experiment("scratch")
            >>> client.delete_experiment(experiment_id)
            >>> client.restore_experiment(experiment_id)
            >>> client.get_experiment(experiment_id).lifecycle_stage
            'active'
        """
        self._store.update_experiment(
            str(experiment_id), "Restore", lifecycle_stage=LifecycleStage.ACTIVE
        )

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set one tag of the experiment ``experiment_id``.

        Args:
            experiment_id: the experiment's id.
            key: the tag's name.
            value: its value (stored as a string).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> client.set_experiment_tag("0", "team", "growth")
            >>> client.get_experiment("0").tags
            {'team': 'growth'}
        """
        self._store.update_experiment(str(experiment_id), f"Tag {key!r} of", tags={key: value})

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Delete one tag of the experiment ``experiment_id``.

        Args:
            experiment_id: the experiment's id.
            key: the tag's name.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> client.set_experiment_tag("0", "draft", "yes")
            >>> client.delete_experiment_tag("0", "draft")
            >>> client.get_experiment("0").tags
            {}
        """
        self._store.delete_experiment_tag(str(experiment_id), key)

    # -- runs ------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run in an experiment (it is not made the fluent API's active run).

        MLflow's ``mlflow.*`` tags that stand for a field of the run (``mlflow.runName``,
        ``mlflow.parentRunId``, ``mlflow.note.content``, ``mlflow.user``,
        ``mlflow.source.*``) fill that field.  The run is committed to git when it ends
        (``set_terminated``).

        Args:
            experiment_id: the experiment's id.
            start_time: milliseconds since the epoch (default: now).
            tags: tags of the run.
            run_name: the run's name; default: a generated one such as ``'bold-owl-417'``.

        Returns:
            The new ``Run``.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0", run_name="baseline", tags={"team": "growth"})
            >>> run.info.status, run.info.run_name, run.data.tags["team"]
            ('RUNNING', 'baseline', 'growth')
        """
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
        source, diff = self._source or context.source_record(self._store.root)
        record["source"] = {**source, **_source_overrides(tags)}
        run = self._store.create_run(str(experiment_id), record, tags)
        if diff:
            self._store.artifacts(run.info.run_id).write_bytes(
                "source/uncommitted.diff", diff.encode()
            )
        return run

    def get_run(self, run_id: str) -> Run:
        """Read the run ``run_id``.

        Args:
            run_id: the run's id.

        Returns:
            The ``Run``: ``info`` (status, times, ...) and ``data`` (params, latest metrics, tags).

        Raises:
            ResourceNotFound: no run has this id.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.log_param(run.info.run_id, "alpha", 0.5)
            0.5
            >>> client.get_run(run.info.run_id).data.params
            {'alpha': '0.5'}
        """
        run = self._store.get_run(run_id)
        path = self._store.run_path(run.info.run_id)
        return replace(
            run, inputs=logged_models.run_inputs(path), outputs=logged_models.run_outputs(path)
        )

    def search_runs(
        self,
        experiment_ids: str | Sequence[str] | None,
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Find runs by an MLflow filter string, one page at a time.

        Unlike ``mltrail.search_runs``, this returns ``Run`` records, never a DataFrame, as
        MLflow's client does.

        Args:
            experiment_ids: the experiments to search (one id or several; None: all of them).
            filter_string: an MLflow filter such as ``"metrics.rmse < 0.8"`` (default: every
                run).
            run_view_type: ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
            max_results: the most runs in one page.
            order_by: clauses such as ``["metrics.rmse ASC"]`` (default: newest first).
            page_token: the ``token`` of the previous page, to read the next one.

        Returns:
            A ``PagedList`` of ``Run``: a list whose ``token`` reads the next page (None on the
            last one).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> for rmse in (0.9, 0.7):
            ...     run = client.create_run("0")
            ...     client.log_metric(run.info.run_id, "rmse", rmse)
            >>> found = client.search_runs(["0"], "metrics.rmse < 0.8")
            >>> [r.data.metrics["rmse"] for r in found], found.token
            ([0.7], None)
        """
        ids = [experiment_ids] if isinstance(experiment_ids, str) else experiment_ids
        with no_gc():  # objects for every run found, no garbage: a collection only walks them
            found = self._store.search_runs(ids, filter_string, run_view_type, None, order_by)
            page = _page(found, max_results, page_token)
            page[:] = [logged_models.with_deferred_io(self._store, r) for r in page]
        return page

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Change the status or the name of the run ``run_id``.

        Args:
            run_id: the run's id.
            status: its new status (``"RUNNING"``, ``"FINISHED"``, ``"FAILED"`` ...);
                ``set_terminated`` is the way to end a run.
            name: its new name.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.update_run(run.info.run_id, name="tuned")
            >>> client.get_run(run.info.run_id).info.run_name
            'tuned'
        """
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
        """End the run ``run_id``: write its metric summary and commit its folder to git.

        The commit happens in the background; ``mltrail.flush`` waits for it.

        Args:
            run_id: the run's id.
            status: how it ended: ``"FINISHED"`` (default), ``"FAILED"`` or ``"KILLED"``.
            end_time: milliseconds since the epoch (default: now).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.set_terminated(run.info.run_id, "FAILED")
            >>> client.get_run(run.info.run_id).info.status
            'FAILED'
        """
        self._store.end_run(run_id, _check_status(status or RunStatus.FINISHED), end_time)

    def delete_run(self, run_id: str) -> None:
        """Mark the run ``run_id`` deleted; its files stay until ``mltrail gc`` removes them.

        Args:
            run_id: the run's id.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.delete_run(run.info.run_id)
            >>> client.get_run(run.info.run_id).info.lifecycle_stage
            'deleted'
        """
        self._store.set_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Restore the deleted run ``run_id``.

        Args:
            run_id: the run's id.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.delete_run(run.info.run_id)
            >>> client.restore_run(run.info.run_id)
            >>> client.get_run(run.info.run_id).info.lifecycle_stage
            'active'
        """
        self._store.set_lifecycle(run_id, LifecycleStage.ACTIVE)

    # -- params, metrics, tags ---------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log one parameter of the run ``run_id``.

        Parameters cannot change: logging a key again with another value raises
        ``InvalidParameterValue``.

        Args:
            run_id: the run's id.
            key: the parameter's name.
            value: its value (stored as ``str(value)``).
            synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
                synchronously.

        Returns:
            ``value``, unchanged.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.log_param(run.info.run_id, "alpha", 0.5)
            0.5
            >>> client.get_run(run.info.run_id).data.params
            {'alpha': '0.5'}
        """
        warn_ignored("MlflowClient.log_param", synchronous=synchronous)
        self.log_params(run_id, {key: value})
        return value

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        """Log several parameters of the run ``run_id`` at once (mltrail's own addition).

        Args:
            run_id: the run's id.
            params: parameter name -> value (each stored as a string).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.log_params(run.info.run_id, {"alpha": 0.5, "l1_ratio": 0.1})
            >>> sorted(client.get_run(run.info.run_id).data.params)
            ['alpha', 'l1_ratio']
        """
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
        """Log one value of metric ``key`` to the run ``run_id``.

        Args:
            run_id: the run's id.
            key: the metric's name.
            value: the value (a number).
            timestamp: milliseconds since the epoch (default: now).
            step: the training step (default 0).
            synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
                synchronously.
            dataset_name: the name of the dataset the value was computed on (kept with
                the link to ``model_id``).
            dataset_digest: that dataset's digest.
            model_id: the logged model (``m-...``) the value is about: the point is also
                linked to it (``get_logged_model(model_id).metrics``).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> for step, loss in enumerate([0.9, 0.5]):
            ...     client.log_metric(run.info.run_id, "loss", loss, step=step)
            >>> client.get_run(run.info.run_id).data.metrics
            {'loss': 0.5}
        """
        warn_ignored("MlflowClient.log_metric", synchronous=synchronous)
        if timestamp is None:
            timestamp = int(time.time() * 1000)
        self._store.writer(run_id).log_metric(key, value, step, timestamp)
        if model_id is not None:
            point = Metric(key, float(value), int(timestamp), int(step or 0))
            logged_models.link(self._store, run_id, model_id, [point], dataset_name, dataset_digest)
        self._store.after_write_if_ended(run_id, "Log metric")

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log metrics, params and tags of the run ``run_id`` in one call.

        Args:
            run_id: the run's id.
            metrics: ``Metric`` points to append.
            params: ``Param`` records to log.
            tags: ``RunTag`` records to set.
            synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
                synchronously.

        Raises:
            InvalidParameterValue: a param key given twice (then nothing is logged), or a
                key or value mltrail refuses.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.log_batch(
            ...     run.info.run_id,
            ...     metrics=[mltrail.Metric("rmse", 0.7, timestamp=1700000000000, step=0)],
            ...     params=[mltrail.Param("alpha", "0.5")],
            ...     tags=[mltrail.RunTag("team", "growth")],
            ... )
            >>> data = client.get_run(run.info.run_id).data
            >>> data.metrics, data.params, data.tags["team"]
            ({'rmse': 0.7}, {'alpha': '0.5'}, 'growth')
        """
        warn_ignored("MlflowClient.log_batch", synchronous=synchronous)
        keys = [p.key for p in params]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise InvalidParameterValue(
                f"Duplicate param keys in one log_batch: {twice}; log each param once "
                "(a param's value cannot change)."
            )
        writer = self._store.writer(run_id)
        if params:
            writer.log_params({p.key: p.value for p in params})
        for m in metrics:
            writer.log_metric(m.key, m.value, m.step, m.timestamp)
            if m.model_id is not None:
                logged_models.link(self._store, run_id, m.model_id, [m], m.dataset_name,
                                   m.dataset_digest)  # fmt: skip
        if tags:
            self.set_tags(run_id, {t.key: t.value for t in tags})
        self._store.after_write_if_ended(run_id, "Log batch")

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Set one tag of the run ``run_id``.

        MLflow's own tags that stand for a field of the run (``mlflow.runName``,
        ``mlflow.note.content`` ...) change that field, as they do in MLflow.

        Args:
            run_id: the run's id.
            key: the tag's name.
            value: its value (stored as a string).
            synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
                synchronously.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.set_tag(run.info.run_id, "team", "growth")
            >>> client.get_run(run.info.run_id).data.tags["team"]
            'growth'
        """
        warn_ignored("MlflowClient.set_tag", synchronous=synchronous)
        self.set_tags(run_id, {key: value})

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        """Set several tags of the run ``run_id`` at once (mltrail's own addition).

        Args:
            run_id: the run's id.
            tags: tag name -> value (each stored as a string).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.set_tags(run.info.run_id, {"team": "growth", "mlflow.runName": "tuned"})
            >>> stored = client.get_run(run.info.run_id)
            >>> stored.data.tags["team"], stored.info.run_name
            ('growth', 'tuned')
        """
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
        """Delete one tag of the run ``run_id``.

        Args:
            run_id: the run's id.
            key: the tag's name.

        Raises:
            ResourceNotFound: the run has no tag ``key``.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.set_tag(run.info.run_id, "draft", "yes")
            >>> client.delete_tag(run.info.run_id, "draft")
            >>> "draft" in client.get_run(run.info.run_id).data.tags
            False
        """
        if key in run_records.FIELD_TAGS and key != "mlflow.runName":
            self._store.update_run(run_id, **{run_records.FIELD_TAGS[key]: None})
        elif not self._store.writer(run_id).delete_tag(key):
            raise ResourceNotFound(f"Run {run_id} has no tag {key!r}.")
        self._store.after_write_if_ended(run_id, "Delete tag")

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Read every logged point of metric ``key`` of the run ``run_id``.

        Args:
            run_id: the run's id.
            key: the metric's name.

        Returns:
            The ``Metric`` points in the order they were logged (an empty list when the run
            logged none under ``key``).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> for step, loss in enumerate([0.9, 0.5]):
            ...     client.log_metric(run.info.run_id, "loss", loss, step=step)
            >>> [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")]
            [(0, 0.9), (1, 0.5)]
        """
        return self._store.get_metric_history(run_id, key)

    # -- artifacts -------------------------------------------------------------------
    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> None:
        """Copy a local file, or a folder as a folder, into the artifacts of the run ``run_id``.

        Args:
            run_id: the run's id.
            local_path: the file to copy; a folder is copied whole under its own name
                (as MLflow does; ``log_artifacts`` copies a folder's contents instead).
            artifact_path: the artifact folder to put it in (default: the top).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> with open("notes.txt", "w") as f:
            ...     _ = f.write("trained on the March data")
            >>> client.log_artifact(run.info.run_id, "notes.txt", artifact_path="docs")
            >>> [f.path for f in client.list_artifacts(run.info.run_id, "docs")]
            ['docs/notes.txt']
        """
        local = Path(local_path)
        if local.is_dir():
            inside = posixpath.join(artifact_path or "", local.absolute().name)
            self._store.artifacts(run_id).log_dir(local, inside)
        else:
            self._store.artifacts(run_id).log_file(local, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> None:
        """Copy the files of a local folder, sub-folders included, into the run's artifacts.

        Args:
            run_id: the run's id.
            local_dir: the folder whose contents are copied (not the folder itself).
            artifact_path: the artifact folder to put them in (default: the top).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> import os
            >>> os.makedirs("report")
            >>> with open("report/summary.md", "w") as f:
            ...     _ = f.write("# Summary")
            >>> client.log_artifacts(run.info.run_id, "report", artifact_path="report")
            >>> [f.path for f in client.list_artifacts(run.info.run_id, "report")]
            ['report/summary.md']
        """
        self._store.artifacts(run_id).log_dir(Path(local_dir), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` as an artifact file of the run ``run_id``.

        Args:
            run_id: the run's id.
            text: the file's contents (written as UTF-8).
            artifact_file: the artifact's path, e.g. ``"notes/summary.md"``.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.log_text(run.info.run_id, "converged", "notes/summary.txt")
            >>> [f.path for f in client.list_artifacts(run.info.run_id, "notes")]
            ['notes/summary.txt']
        """
        self._store.artifacts(run_id).write_bytes(artifact_file, payloads.text_bytes(text))

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Write ``dictionary`` as a JSON or YAML artifact file, chosen by its extension.

        Args:
            run_id: the run's id.
            dictionary: what to write (anything JSON or YAML can represent).
            artifact_file: the artifact's path; ``.yaml``/``.yml`` is written as YAML, any
                other name as indented JSON.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.log_dict(run.info.run_id, {"layers": [64, 32]}, "config.json")
            >>> path = client.download_artifacts(run.info.run_id, "config.json")
            >>> import json; json.load(open(path))
            {'layers': [64, 32]}
        """
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
        """Save a matplotlib or plotly figure as an artifact of the run ``run_id``.

        Args:
            run_id: the run's id.
            figure: a matplotlib ``Figure`` or a plotly figure.
            artifact_file: the artifact's path; its extension picks the format (``.png``,
                ``.svg``, ``.pdf`` ...; ``.html`` for a plotly figure).
            save_kwargs: extra arguments for ``savefig`` (matplotlib) or ``write_image`` /
                ``to_html`` (plotly).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> from matplotlib.figure import Figure
            >>> figure = Figure()
            >>> _ = figure.subplots().plot([0.9, 0.5, 0.4])
            >>> client.log_figure(run.info.run_id, figure, "loss.svg")
            >>> [f.path for f in client.list_artifacts(run.info.run_id) if f.path.endswith(".svg")]
            ['loss.svg']
        """
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
        """Save a numpy array or PIL image as an artifact of the run ``run_id``.

        With ``artifact_file``, one image file.  With ``key`` (and ``step``) instead, one image
        of a step-wise series, stored as MLflow stores it: under ``images/``, with MLflow's file
        names and a small compressed copy, and the run tag ``mlflow.loggedImages``.

        Args:
            run_id: the run's id.
            image: a PIL image, or a numpy array (height x width, x 3 or x 4 channels) of
                ``uint8`` or of floats in [0, 1].
            artifact_file: the artifact's path, e.g. ``"samples/digit.png"``.
            key: the name of a step-wise image series (instead of ``artifact_file``).
            step: the step of this image in the series (default 0).
            timestamp: milliseconds since the epoch of this image in the series (default: now).
            synchronous: accepted for MLflow's sake; ``False`` warns, as mltrail always logs
                synchronously.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> import numpy as np
            >>> client.log_image(run.info.run_id, np.ones((8, 8)), key="mask", step=1)
            >>> client.get_run(run.info.run_id).data.tags["mlflow.loggedImages"]
            'True'
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
        """List the files and folders directly inside an artifact folder of the run ``run_id``.

        Args:
            run_id: the run's id.
            path: the artifact folder to list (default: the top).

        Returns:
            A ``FileInfo`` (path from the artifacts' top, ``is_dir``, ``file_size``) for each
            entry, sorted by name; an empty list for a missing folder.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.log_text(run.info.run_id, "hello", "greeting.txt")
            >>> client.list_artifacts(run.info.run_id)
            [FileInfo(path='greeting.txt', is_dir=False, file_size=5)]
        """
        return self._store.artifacts(run_id).list_dir(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Copy an artifact file or folder of the run ``run_id`` to a local folder.

        Args:
            run_id: the run's id.
            path: the artifact file or folder ("" for all of the run's artifacts).
            dst_path: the local folder to copy into (default: a new temporary folder).

        Returns:
            The local path of the copy.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.log_text(run.info.run_id, "hello", "notes/greeting.txt")
            >>> local = client.download_artifacts(run.info.run_id, "notes", dst_path=".")
            >>> open(f"{local}/greeting.txt").read()
            'hello'
        """
        dst = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="mltrail-artifacts-"))
        return str(self._store.artifacts(run_id).download(path, dst))

    def get_artifact_uri(self, run_id: str, artifact_path: str | None = None) -> str:
        """Return the ``file://`` URI of the run's artifacts, or of one path in them.

        mltrail's own addition: MLflow has it only as the fluent ``mlflow.get_artifact_uri``.

        Args:
            run_id: the run's id.
            artifact_path: a path inside the artifacts (default: their top folder).

        Returns:
            A ``file://`` URI inside the store.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> run = client.create_run("0")
            >>> client.get_artifact_uri(run.info.run_id, "model")
            'file:///.../artifacts/model'
        """
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
