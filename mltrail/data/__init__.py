"""Datasets a run used, in MLflow's form: ``mltrail.data.from_pandas`` / ``from_numpy``.

A dataset has a ``name``, a ``digest`` (computed as MLflow computes it, so a frame
has the same digest in both), a ``source`` (where it came from), a ``schema`` and a
``profile``; ``mltrail.log_input(dataset, context="training")`` records it in the run.
Nothing of the data itself is stored.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from mltrail.data.digest import numpy_digest, pandas_digest

__all__ = [
    "Dataset",
    "DatasetSource",
    "NumpyDataset",
    "PandasDataset",
    "from_numpy",
    "from_pandas",
    "get_source",
]

DEFAULT_NAME = "dataset"


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset came from: ``source_type`` (``local``, ``s3``, ``http``, ``code``
    ...) and its description, ``to_dict()`` (e.g. ``{"uri": "data/train.csv"}``).

    Example:
        >>> from mltrail.data import DatasetSource
        >>> source = DatasetSource.resolve("s3://bucket/train.csv")
        >>> source.source_type, source.to_json()
        ('s3', '{"uri": "s3://bucket/train.csv"}')
    """

    source_type: str
    fields: tuple[tuple[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the source's description as a dict."""
        return dict(self.fields)

    def to_json(self) -> str:
        """Return the source's description as MLflow's JSON text."""
        return json.dumps(self.to_dict())

    @property
    def uri(self) -> str | None:
        """The location of a file, bucket or web source (None for code)."""
        found = self.to_dict().get("uri") or self.to_dict().get("url")
        return found if isinstance(found, str) else None

    @classmethod
    def resolve(cls, raw: Any) -> DatasetSource:
        """The source for a path or URI, typed as MLflow types it."""
        if isinstance(raw, DatasetSource):
            return raw
        text = os.fspath(raw)
        scheme = text.split("://", 1)[0].lower() if "://" in text else ""
        if scheme in ("http", "https"):
            return cls("http", (("url", text),))
        if scheme in ("s3", "gs", "hf", "dbfs"):
            return cls({"gs": "gcs"}.get(scheme, scheme), (("uri", text),))
        return cls("local", (("uri", text),))

    @classmethod
    def code(cls) -> DatasetSource:
        """The source of data made in code: the script and user, as MLflow records them."""
        from mltrail.tracking.context import current_user

        script = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c") else "<interactive>"
        tags = {"mlflow.user": current_user(), "mlflow.source.name": script,
                "mlflow.source.type": "LOCAL"}  # fmt: skip
        return cls("code", (("tags", tags),))


class Dataset:
    """A dataset's description: name, digest, source, schema and profile (MLflow's).

    Example:
        >>> import pandas as pd, mltrail
        >>> ds = mltrail.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="toy")
        >>> ds.name, ds.digest, ds.profile
        ('toy', '...', {'num_rows': 2, 'num_elements': 2})
    """

    def __init__(self, source: DatasetSource, name: str | None, digest: str | None) -> None:
        self._source = source
        self._name = name
        self._digest = digest or self._compute_digest()

    def _compute_digest(self) -> str:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The dataset's name (``dataset`` when none was given)."""
        return self._name if self._name is not None else DEFAULT_NAME

    @property
    def digest(self) -> str:
        """A short hash of the data (8 hex digits, MLflow's)."""
        return self._digest

    @property
    def source(self) -> DatasetSource:
        """Where the data came from."""
        return self._source

    @property
    def schema_json(self) -> str | None:
        """The schema as MLflow's JSON text (None if it cannot be inferred)."""
        return None

    @property
    def profile(self) -> dict[str, Any] | None:
        """Sizes of the data (rows, elements, shapes)."""
        return None

    def to_dict(self) -> dict[str, str | None]:
        """Return the fields MLflow records for the dataset, as text."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source": self.source.to_json(),
            "source_type": self.source.source_type,
            "schema": self.schema_json,
            "profile": json.dumps(self.profile),
        }


class PandasDataset(Dataset):
    """A pandas DataFrame as a dataset (``from_pandas``).

    Example:
        >>> import pandas as pd, mltrail
        >>> ds = mltrail.data.from_pandas(pd.DataFrame({"x": [1.0]}), targets="x")
        >>> ds.targets, ds.source.source_type
        ('x', 'code')
    """

    def __init__(self, df: Any, source: DatasetSource, targets: str | None = None,
                 name: str | None = None, digest: str | None = None,
                 predictions: str | None = None) -> None:  # fmt: skip
        from mltrail.errors import InvalidParameterValue

        for what, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in df.columns:
                raise InvalidParameterValue(
                    f"The {what} column {column!r} is not in the DataFrame "
                    f"(its columns: {list(df.columns)})."
                )
        self._df, self._targets, self._predictions = df, targets, predictions
        super().__init__(source, name, digest)

    def _compute_digest(self) -> str:
        return pandas_digest(self._df)

    @property
    def df(self) -> Any:
        """The DataFrame."""
        return self._df

    @property
    def targets(self) -> str | None:
        """The target column's name."""
        return self._targets

    @property
    def predictions(self) -> str | None:
        """The predictions column's name."""
        return self._predictions

    @property
    def schema_json(self) -> str | None:
        from mltrail.models.signature import infer_schema

        try:
            columns = infer_schema(self._df).to_dict()
        except (TypeError, ValueError):
            return None
        return json.dumps({"mlflow_colspec": columns})

    @property
    def profile(self) -> dict[str, Any]:
        return {"num_rows": len(self._df), "num_elements": int(self._df.size)}


class NumpyDataset(Dataset):
    """Numpy arrays (or dicts of arrays) as a dataset (``from_numpy``).

    Example:
        >>> import numpy as np, mltrail
        >>> ds = mltrail.data.from_numpy(np.zeros((3, 2)), targets=np.zeros(3))
        >>> ds.profile["features_shape"]
        (3, 2)
    """

    def __init__(self, features: Any, source: DatasetSource, targets: Any = None,
                 name: str | None = None, digest: str | None = None) -> None:  # fmt: skip
        self._features, self._targets = features, targets
        super().__init__(source, name, digest)

    def _compute_digest(self) -> str:
        return numpy_digest(self._features, self._targets)

    @property
    def features(self) -> Any:
        """The feature array(s)."""
        return self._features

    @property
    def targets(self) -> Any:
        """The target array(s), or None."""
        return self._targets

    @property
    def schema_json(self) -> str | None:
        from mltrail.models.signature import infer_schema

        try:
            features = infer_schema(self._features).to_json()
            targets = None if self._targets is None else infer_schema(self._targets).to_json()
        except (TypeError, ValueError):
            return None
        return json.dumps({"mlflow_tensorspec": {"features": features, "targets": targets}})

    @property
    def profile(self) -> dict[str, Any]:
        def attr(data: Any, name: str) -> Any:
            if isinstance(data, dict):
                return {k: getattr(v, name) for k, v in data.items()}
            return getattr(data, name)

        found = {f"features_{n}": attr(self._features, n) for n in ("shape", "size", "nbytes")}
        if self._targets is not None:
            found.update(
                {f"targets_{n}": attr(self._targets, n) for n in ("shape", "size", "nbytes")}
            )
        return found


def _source(source: Any) -> DatasetSource:
    return DatasetSource.code() if source is None else DatasetSource.resolve(source)


def from_pandas(
    df: Any,
    source: Any = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> PandasDataset:
    """Describe a pandas DataFrame as a dataset (for ``mltrail.log_input``).

    Args:
        df: the DataFrame.
        source: where it came from: a path or URI (``"data/train.csv"``, ``"s3://..."``,
            ``"https://..."``) or a ``DatasetSource``; default: this script (``code``).
        targets: the name of the target column, if any.
        name: the dataset's name (default ``"dataset"``).
        digest: a digest to use instead of the computed one.
        predictions: the name of a predictions column, if any.

    Returns:
        A ``PandasDataset`` with ``name``, ``digest`` (MLflow's), ``source``,
        ``schema_json`` and ``profile``.

    Example:
        >>> import pandas as pd, mltrail
        >>> df = pd.DataFrame({"x": [0.0, 1.0], "y": [0, 1]})
        >>> ds = mltrail.data.from_pandas(df, source="data/train.csv", targets="y", name="train")
        >>> ds.source.to_json(), ds.profile
        ('{"uri": "data/train.csv"}', {'num_rows': 2, 'num_elements': 4})
    """
    return PandasDataset(df, _source(source), targets, name, digest, predictions)


def from_numpy(
    features: Any,
    source: Any = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> NumpyDataset:
    """Describe numpy arrays (or dicts of arrays) as a dataset (for ``mltrail.log_input``).

    Args:
        features: the feature array, or a dict of named arrays.
        source: where they came from (a path, URI or ``DatasetSource``); default: this
            script (``code``).
        targets: the target array (or dict of arrays), if any.
        name: the dataset's name (default ``"dataset"``).
        digest: a digest to use instead of the computed one.

    Returns:
        A ``NumpyDataset`` with ``name``, ``digest`` (MLflow's), ``source``,
        ``schema_json`` and ``profile``.

    Example:
        >>> import numpy as np, mltrail
        >>> ds = mltrail.data.from_numpy(np.ones((4, 2)), source="data/x.npy")
        >>> ds.source.source_type, ds.profile["features_size"]
        ('local', 8)
    """
    return NumpyDataset(features, _source(source), targets, name, digest)


def get_source(dataset: Any) -> DatasetSource:
    """The source of a dataset, a ``DatasetInput`` or a recorded ``DatasetRecord``.

    Args:
        dataset: a dataset (``from_pandas``...), a run's ``DatasetInput`` or its ``.dataset``.

    Returns:
        The ``DatasetSource``.

    Example:
        >>> import pandas as pd, mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_input(mltrail.data.from_pandas(pd.DataFrame({"x": [1]}),
        ...                                              source="s3://b/x.csv"))
        >>> (entry,) = mltrail.get_run(run.info.run_id).inputs.dataset_inputs
        >>> mltrail.data.get_source(entry).to_dict()
        {'uri': 's3://b/x.csv'}
    """
    found = getattr(dataset, "dataset", dataset)
    source = getattr(found, "source", None)
    if isinstance(source, DatasetSource):
        return source
    data = json.loads(source) if isinstance(source, str) else {}
    return DatasetSource(str(getattr(found, "source_type", "")), tuple(dict(data).items()))
