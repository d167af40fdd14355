"""Autolog fixtures: a store to log into, autologging turned off after each test, data.

scikit-learn is patched process-wide while autologging is on, so every test that
turns it on does so through ``autolog`` (which disables it again afterwards).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mltrail.store import FileStore

pytest.importorskip("sklearn")


@pytest.fixture
def autolog(tracking: FileStore) -> Iterator[Callable[..., None]]:
    """``autolog(**options)`` enables sklearn autologging into the ``tracking`` store."""
    import mltrail.sklearn

    yield mltrail.sklearn.autolog
    mltrail.sklearn.autolog(disable=True)
    mltrail.autolog(disable=True)


@pytest.fixture(scope="session")
def binary() -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(n_samples=60, n_features=4, random_state=0)


@pytest.fixture(scope="session")
def iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


@pytest.fixture(scope="session")
def regression() -> tuple[Any, Any]:
    from sklearn.datasets import make_regression

    return make_regression(n_samples=40, n_features=3, noise=0.5, random_state=0)


def last_run() -> Any:
    import mltrail

    run = mltrail.last_active_run()
    assert run is not None, "no run was logged"
    return mltrail.get_run(run.info.run_id)


def all_runs() -> list[Any]:
    import mltrail

    return list(mltrail.search_runs(search_all_experiments=True, output_format="list"))


def artifact_paths(run_id: str, path: str | None = None) -> set[str]:
    import mltrail

    return {f.path for f in mltrail.Client().list_artifacts(run_id, path)}
