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
        """Create the registered model ``name`` (no versions yet)."""
        warn_ignored("MlflowClient.create_registered_model", deployment_job_id=deployment_job_id)
        return self._registry.create_model(name, tags, description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._registry.get_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        from mltrail.registry.search import MODELS, search

        found = search(self._registry.list_models(), filter_string, order_by, MODELS)
        return _page(found, max_results, page_token)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._registry.rename_model(name, new_name)

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Change the description of ``name`` (``deployment_job_id`` warns)."""
        warn_ignored("MlflowClient.update_registered_model", deployment_job_id=deployment_job_id)
        if description is None:
            return self._registry.get_model(name)
        return self._registry.update_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        self._registry.delete_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._registry.set_model_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
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
        """A new version of an existing model, pointing at ``source`` (not copied).

        ``await_creation_for`` has no effect (the version exists when this returns) and
        ``model_id`` warns (mltrail has no MLflow 3 logged models yet).
        """
        warn_ignored(
            "MlflowClient.create_model_version",
            await_creation_for=await_creation_for,
            model_id=model_id,
        )
        return self._registry.create_version(
            name, source, run_id, tags, run_link, description, user_id=_user()
        )

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Register the version ``src_model_uri`` (``models:/...``) under ``dst_name``."""
        return self._registry.create_version(
            dst_name, src_model_uri, create_model=True, user_id=_user()
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self._registry.get_version(name, version)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        from mltrail.registry.search import VERSIONS, search

        found = search(self._registry.list_versions(), filter_string, order_by, VERSIONS)
        return _page(found, max_results, page_token)

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> ModelVersion:
        if description is None:
            return self._registry.get_version(name, version)
        return self._registry.update_version(name, version, description)

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._registry.delete_version(name, version)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        return self._registry.latest_versions(name, stages)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return model_path(self._store, self._registry.get_version(name, version)).as_uri()

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
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
        number = self._version_or_stage(name, version, stage)
        self._registry.set_version_tag(name, number, str(key), value)

    def delete_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        number = self._version_or_stage(name, version, stage)
        self._registry.delete_version_tag(name, number, str(key))

    # -- aliases ---------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._registry.set_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry.delete_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._registry.version_by_alias(name, alias)
