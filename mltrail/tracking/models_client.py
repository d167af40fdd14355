"""``MlflowClient``'s methods for MLflow 3's logged models (``Client`` inherits them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mltrail.logged_entities import LoggedModel
from mltrail.tracking import logged_models as service
from mltrail.tracking.paging import PagedList

if TYPE_CHECKING:
    from mltrail.store.store import FileStore


class LoggedModelClientMixin:
    """Logged-model operations on ``self._store``."""

    _store: FileStore

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Read the logged model ``model_id`` with its linked metrics.

        Args:
            model_id: the model's id (``m-...``).

        Returns:
            The ``LoggedModel``.

        Example:
            >>> import mltrail
            >>> from sklearn.linear_model import LinearRegression
            >>> with mltrail.start_run():
            ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr")
            >>> mltrail.Client().get_logged_model(info.model_id).name
            'lr'
        """
        return service.get(self._store, model_id)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Search the logged models of experiments (as ``mltrail.search_logged_models``).

        Args:
            experiment_ids: the experiments to search.
            filter_string: MLflow's filter, e.g. ``"metrics.acc > 0.9"``.
            datasets: ``[{"dataset_name": ..., "dataset_digest": ...}]`` for metric filters.
            max_results: page size (default 100, MLflow's).
            order_by: ``[{"field_name": ..., "ascending": ...}]``.
            page_token: the ``token`` of the previous page.

        Returns:
            A ``PagedList`` of ``LoggedModel``.

        Example:
            >>> import mltrail
            >>> from sklearn.linear_model import LinearRegression
            >>> with mltrail.start_run() as run:
            ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr")
            >>> client = mltrail.Client()
            >>> [m.name for m in client.search_logged_models([run.info.experiment_id])]
            ['lr']
        """
        from mltrail.model_search import filter_models, sort_models
        from mltrail.tracking.paging import page

        found = service.all_models(self._store, [str(e) for e in experiment_ids])
        ordered = sort_models(filter_models(found, filter_string, datasets), order_by)
        return page(ordered, max_results or 100, page_token)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        """Set tags of a logged model.

        Args:
            model_id: the model's id.
            tags: tag name -> value (stored as strings).

        Returns:
            None.

        Example:
            >>> import mltrail
            >>> from sklearn.linear_model import LinearRegression
            >>> with mltrail.start_run():
            ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr")
            >>> client = mltrail.Client()
            >>> client.set_logged_model_tags(info.model_id, {"team": "a"})
            >>> client.get_logged_model(info.model_id).tags["team"]
            'a'
        """
        service.update_tags(self._store, model_id, tags)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Delete a tag of a logged model.

        Args:
            model_id: the model's id.
            key: the tag's name.

        Returns:
            None.

        Example:
            >>> import mltrail
            >>> from sklearn.linear_model import LinearRegression
            >>> with mltrail.start_run():
            ...     info = mltrail.sklearn.log_model(LinearRegression().fit([[0]], [1]), name="lr",
            ...                                      tags={"team": "a"})
            >>> client = mltrail.Client()
            >>> client.delete_logged_model_tag(info.model_id, "team")
            >>> "team" in client.get_logged_model(info.model_id).tags
            False
        """
        service.update_tags(self._store, model_id, {}, (key,))
