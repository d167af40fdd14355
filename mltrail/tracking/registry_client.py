"""The registry methods of ``Client`` (``MlflowClient``), with MLflow's names and signatures."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from mltrail.errors import InvalidParameterValue
from mltrail.registry import names
from mltrail.registry.entities import ModelVersion, RegisteredModel
from mltrail.registry.provenance import model_path
from mltrail.registry.registry import Registry
from mltrail.tracking.paging import PagedList
from mltrail.tracking.paging import page as _page
from mltrail.tracking.unsupported import warn_ignored

if TYPE_CHECKING:
    from mltrail.store import FileStore


def _user() -> str:
    from mltrail.tracking.context import current_user

    return current_user()


#: The artifact path a model registered from outside the store is copied to.
COPIED_MODEL_PATH = "model"
#: Tag of the run holding such a copy: where the model was registered from.
COPIED_FROM_TAG = "mltrail.registeredFrom"


def stored_source(client: Any, source: Any, name: str) -> Any:
    """``source``, or, for a model folder outside the store, ``runs:/`` of a copy of it.

    A version points at a run's artifacts, so a model registered from a folder elsewhere
    (``create_model_version("churn", "/tmp/model")``, which MLflow allows) is first logged
    as the artifact ``model`` of a new FINISHED run in the Default experiment, tagged
    ``mltrail.registeredFrom`` with the folder, and the version points at that copy: the
    store keeps the model even when the folder goes.
    """
    import os
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    from mltrail.registry.specs import parse_source

    text = os.fspath(source) if isinstance(source, str | os.PathLike) else source
    if not isinstance(text, str) or text.startswith(("runs:", "models:")):
        return source
    try:
        parse_source(client._store.root, text)
        return source  # inside a run's artifacts already
    except InvalidParameterValue:
        parts = urlsplit(text)
        folder = Path(unquote(parts.path) if parts.scheme == "file" else text).expanduser()
        if (parts.scheme not in ("", "file") and len(parts.scheme) > 1) or not (
            folder / "MLmodel"
        ).is_file():
            raise
    run = client.create_run(
        "0",
        run_name=f"register-{name}"[:250],
        tags={COPIED_FROM_TAG: str(folder.absolute()), "mlflow.source.type": "LOCAL"},
    )
    try:
        client.log_artifacts(run.info.run_id, str(folder), COPIED_MODEL_PATH)
    except BaseException:
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    client.set_terminated(run.info.run_id, "FINISHED")
    return f"runs:/{run.info.run_id}/{COPIED_MODEL_PATH}"


class RegistryClientMixin:
    """Model registry operations; ``Client`` inherits them (they act on ``self._store``)."""

    _store: FileStore

    @functools.cached_property
    def _registry(self) -> Registry:
        """The registry of this client's store (the read API the site uses, and writes)."""
        return Registry(self._store)

    # -- registered models ------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model with no versions yet; one git commit.

        Args:
            name: the model's name, unique in the store.
            tags: tags of the model.
            description: what the model is for (Markdown).
            deployment_job_id: accepted for MLflow's sake; a value warns (no deployment jobs).

        Returns:
            The new ``RegisteredModel``.

        Raises:
            ResourceAlreadyExists: a model has this name already.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> model = client.create_registered_model("churn", tags={"team": "growth"})
            >>> model.name, model.tags
            ('churn', {'team': 'growth'})
        """
        warn_ignored("MlflowClient.create_registered_model", deployment_job_id=deployment_job_id)
        return self._registry.create_model(name, tags, description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Read the registered model ``name``.

        Args:
            name: the model's name.

        Returns:
            The ``RegisteredModel``, with its newest version in each stage and its aliases.

        Raises:
            ResourceNotFound: no model has this name.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> [v.version for v in client.get_registered_model("churn").latest_versions]
            [1]
        """
        return self._registry.get_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Find registered models by an MLflow filter string, one page at a time.

        Args:
            filter_string: an MLflow filter on ``name`` or ``tags.<key>``, e.g.
                ``"name LIKE 'churn%'"`` (default: every model).
            max_results: the most models in one page.
            order_by: clauses such as ``["name DESC"]`` (default: by name).
            page_token: the ``token`` of the previous page, to read the next one.

        Returns:
            A ``PagedList`` of ``RegisteredModel``: a list whose ``token`` reads the next page
            (None on the last one).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> for name in ("churn", "churn-lite", "fraud"):
            ...     _ = client.create_registered_model(name)
            >>> [m.name for m in client.search_registered_models("name LIKE 'churn%'")]
            ['churn', 'churn-lite']
        """
        from mltrail.registry.search import MODELS, search

        found = search(self._registry.list_models(), filter_string, order_by, MODELS)
        return _page(found, max_results, page_token)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename the registered model ``name``, with its versions and aliases; one git commit.

        Args:
            name: the model's name.
            new_name: its new name, unique in the store.

        Returns:
            The renamed ``RegisteredModel``.

        Raises:
            ResourceAlreadyExists: a model has ``new_name`` already.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> model = client.create_registered_model("churn")
            >>> client.rename_registered_model("churn", "churn-classifier").name
            'churn-classifier'
        """
        return self._registry.rename_model(name, new_name)

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Change the description of the registered model ``name``.

        Args:
            name: the model's name.
            description: its new description (None leaves the model as it is).
            deployment_job_id: accepted for MLflow's sake; a value warns (no deployment jobs).

        Returns:
            The ``RegisteredModel`` as it is now.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> model = client.create_registered_model("churn")
            >>> client.update_registered_model("churn", description="Who leaves").description
            'Who leaves'
        """
        warn_ignored("MlflowClient.update_registered_model", deployment_job_id=deployment_job_id)
        if description is None:
            return self._registry.get_model(name)
        return self._registry.update_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        """Delete the registered model ``name`` and all its versions; one git commit.

        The model's files leave the store; its history stays in git.  The runs the versions
        came from are not touched.

        Args:
            name: the model's name.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> model = client.create_registered_model("churn")
            >>> client.delete_registered_model("churn")
            >>> client.search_registered_models()
            []
        """
        self._registry.delete_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set one tag of the registered model ``name``; one git commit.

        Args:
            name: the model's name.
            key: the tag's name.
            value: its value (stored as a string).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> model = client.create_registered_model("churn")
            >>> client.set_registered_model_tag("churn", "team", "growth")
            >>> client.get_registered_model("churn").tags
            {'team': 'growth'}
        """
        self._registry.set_model_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Delete one tag of the registered model ``name``; one git commit.

        Args:
            name: the model's name.
            key: the tag's name.

        Raises:
            ResourceNotFound: the model has no tag ``key``.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> model = client.create_registered_model("churn")
            >>> client.set_registered_model_tag("churn", "draft", "yes")
            >>> client.delete_registered_model_tag("churn", "draft")
            >>> client.get_registered_model("churn").tags
            {}
        """
        self._registry.delete_model_tag(name, key)

    # -- versions ----------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Add a version to an existing registered model, pointing at ``source``; one git commit.

        A model in a run's artifacts is not copied: the version points at it. A model folder
        outside the store is copied into a new run first (``stored_source``).  Unlike
        MLflow, the version is READY when this returns, so there is nothing to wait for.

        Args:
            name: the registered model (create it first, or use ``mltrail.register_model``).
            source: ``runs:/<run_id>/<path>``, a path inside a run's artifacts in the store,
                or a model folder elsewhere (copied into the store).
            run_id: the run the model came from (default: the one ``source`` names).
            tags: tags of the version.
            run_link: a link to the run, kept as given.
            description: what this version is (Markdown).
            await_creation_for: no effect: the version exists when this returns.
            model_id: accepted for MLflow's sake; a value warns (no logged models yet).

        Returns:
            The new ``ModelVersion``.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> _ = client.create_registered_model("churn")
            >>> version = client.create_model_version("churn", f"runs:/{run.info.run_id}/model")
            >>> version.version, version.run_id == run.info.run_id
            (1, True)
        """
        warn_ignored(
            "MlflowClient.create_model_version",
            await_creation_for=await_creation_for,
            model_id=model_id,
        )
        return self._registry.create_version(
            name,
            stored_source(self, source, name),
            run_id,
            tags,
            run_link,
            description,
            user_id=_user(),
        )

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Register an existing version under another model name (created if new).

        The new version points at the same run artifacts; nothing is copied.

        Args:
            src_model_uri: the version to copy, as ``models:/<name>/<version>``,
                ``models:/<name>/<stage>`` or ``models:/<name>@<alias>``.
            dst_name: the registered model to add the version to.

        Returns:
            The new ``ModelVersion``.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> copy = client.copy_model_version("models:/churn/1", "churn-production")
            >>> copy.name, copy.version, copy.source == version.source
            ('churn-production', 1, True)
        """
        return self._registry.create_version(
            dst_name, src_model_uri, create_model=True, user_id=_user()
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """Read one version of a registered model.

        Args:
            name: the model's name.
            version: the version number.

        Returns:
            The ``ModelVersion``.

        Raises:
            ResourceNotFound: the model or the version does not exist.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.get_model_version("churn", 1).source
            'runs:/.../model'
        """
        return self._registry.get_version(name, version)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Find model versions by an MLflow filter string, one page at a time.

        Args:
            filter_string: an MLflow filter on ``name``, ``run_id``, ``source_path``,
                ``version_number`` or ``tags.<key>``, e.g. ``"name = 'churn'"`` (default:
                every version).
            max_results: the most versions in one page.
            order_by: clauses such as ``["version_number DESC"]`` (default: the most
                recently changed first).
            page_token: the ``token`` of the previous page, to read the next one.

        Returns:
            A ``PagedList`` of ``ModelVersion``: a list whose ``token`` reads the next page
            (None on the last one).

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> found = client.search_model_versions(f"run_id = '{run.info.run_id}'")
            >>> [(v.name, v.version) for v in found]
            [('churn', 1)]
        """
        from mltrail.registry.search import VERSIONS, search

        found = search(self._registry.list_versions(), filter_string, order_by, VERSIONS)
        return _page(found, max_results, page_token)

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> ModelVersion:
        """Change the description of one version of a registered model.

        Args:
            name: the model's name.
            version: the version number.
            description: its new description (None leaves the version as it is).

        Returns:
            The ``ModelVersion`` as it is now.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.update_model_version("churn", 1, description="First try").description
            'First try'
        """
        if description is None:
            return self._registry.get_version(name, version)
        return self._registry.update_version(name, version, description)

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete one version of a registered model, and the aliases that point at it.

        The version's number is never given again to another version of the model.

        Args:
            name: the model's name.
            version: the version number.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.delete_model_version("churn", 1)
            >>> client.search_model_versions("name = 'churn'")
            []
        """
        self._registry.delete_version(name, version)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """Return the newest version of a registered model in each stage (MLflow's stages).

        Args:
            name: the model's name.
            stages: the stages to look at, e.g. ``["Production"]`` (default: all of them).

        Returns:
            One ``ModelVersion`` per stage that has a version.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> _ = client.transition_model_version_stage("churn", 1, "Staging")
            >>> [(v.version, v.current_stage) for v in client.get_latest_versions("churn")]
            [(1, 'Staging')]
        """
        return self._registry.latest_versions(name, stages)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Return where the files of one model version are: a ``file://`` URI in the store.

        Args:
            name: the model's name.
            version: the version number.

        Returns:
            The ``file://`` URI of the model folder in its run's artifacts.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.get_model_version_download_uri("churn", 1)
            'file:///.../artifacts/model'
        """
        return model_path(self._store, self._registry.get_version(name, version)).as_uri()

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move one version of a registered model to another stage; one git commit.

        Args:
            name: the model's name.
            version: the version number.
            stage: ``"None"``, ``"Staging"``, ``"Production"`` or ``"Archived"`` (any case).
            archive_existing_versions: move the model's other versions in that stage to
                ``"Archived"`` (only for ``Staging`` and ``Production``).

        Returns:
            The ``ModelVersion`` in its new stage.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.transition_model_version_stage("churn", 1, "production").current_stage
            'Production'
        """
        return self._registry.transition_stage(name, version, stage, archive_existing_versions)

    def _version_or_stage(self, name: str, version: str | int | None, stage: str | None) -> int:
        if (version is None) == (stage is None):
            raise InvalidParameterValue("Give exactly one of version or stage.")
        if version is not None:
            return names.check_version(version)
        latest = self._registry.latest_versions(name, [str(stage)])
        if not latest:
            raise InvalidParameterValue(f"Model {name!r} has no version in stage {stage}.")
        return latest[0].version

    def set_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Set one tag of a model version, named by number or by stage; one git commit.

        Args:
            name: the model's name.
            version: the version number (or give ``stage``).
            key: the tag's name.
            value: its value (stored as a string).
            stage: tag the newest version in this stage instead of naming ``version``.

        Raises:
            InvalidParameterValue: both or neither of ``version`` and ``stage`` are given.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.set_model_version_tag("churn", "1", "validated", "yes")
            >>> client.get_model_version("churn", 1).tags
            {'validated': 'yes'}
        """
        number = self._version_or_stage(name, version, stage)
        self._registry.set_version_tag(name, number, str(key), value)

    def delete_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        """Delete one tag of a model version, named by number or by stage; one git commit.

        Args:
            name: the model's name.
            version: the version number (or give ``stage``).
            key: the tag's name.
            stage: untag the newest version in this stage instead of naming ``version``.

        Raises:
            InvalidParameterValue: both or neither of ``version`` and ``stage`` are given.
            ResourceNotFound: the version has no tag ``key``.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.set_model_version_tag("churn", 1, "draft", "yes")
            >>> client.delete_model_version_tag("churn", 1, "draft")
            >>> client.get_model_version("churn", 1).tags
            {}
        """
        number = self._version_or_stage(name, version, stage)
        self._registry.delete_version_tag(name, number, str(key))

    # -- aliases ---------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point the alias ``alias`` of a registered model at one version; one git commit.

        An alias already on another version moves; ``models:/<name>@<alias>`` loads the
        version it points at.

        Args:
            name: the model's name.
            alias: the alias, e.g. ``"champion"``.
            version: the version number.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.set_registered_model_alias("churn", "champion", 1)
            >>> client.get_registered_model("churn").aliases
            {'champion': '1'}
        """
        self._registry.set_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove the alias ``alias`` of a registered model; one git commit.

        Args:
            name: the model's name.
            alias: the alias.

        Raises:
            ResourceNotFound: the model has no such alias.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.set_registered_model_alias("churn", "champion", 1)
            >>> client.delete_registered_model_alias("churn", "champion")
            >>> client.get_registered_model("churn").aliases
            {}
        """
        self._registry.delete_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """Read the version of a registered model that an alias points at.

        Args:
            name: the model's name.
            alias: the alias.

        Returns:
            The ``ModelVersion``.

        Raises:
            ResourceNotFound: the model has no such alias.

        Example:
            >>> import mltrail
            >>> client = mltrail.Client()
            >>> with mltrail.start_run() as run:
            ...     mltrail.log_text("weights", "model/weights.txt")
            >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
            >>> client.set_registered_model_alias("churn", "champion", 1)
            >>> client.get_model_version_by_alias("churn", "champion").version
            1
        """
        return self._registry.version_by_alias(name, alias)
