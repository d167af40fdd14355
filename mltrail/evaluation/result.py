"""What ``evaluate`` returns: metrics, and artifacts that know their URI and content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class EvaluationArtifact:
    """A file an evaluation logged: its ``uri`` in the run's artifacts and its ``content``
    (read from the file the first time it is asked for).

    Example:
        >>> from mltrail.evaluation import CsvEvaluationArtifact
        >>> _ = open("t.csv", "w").write("a,b\\n1,2\\n")
        >>> CsvEvaluationArtifact("file:///store/t.csv", "t.csv").content.to_dict("records")
        [{'a': 1, 'b': 2}]
    """

    def __init__(self, uri: str, local_path: str | Path | None = None,
                 content: Any = None) -> None:  # fmt: skip
        self._uri = uri
        self._path = None if local_path is None else Path(local_path)
        self._content = content

    @property
    def uri(self) -> str:
        """Where the file is: a ``file://`` URI inside the run's artifacts."""
        return self._uri

    @property
    def content(self) -> Any:
        """The file's content (an image, a DataFrame, a dict ...)."""
        if self._content is None and self._path is not None:
            self._content = self._load(self._path)
        return self._content

    def _load(self, path: Path) -> Any:
        return path.read_bytes()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri='{self._uri}')"


class ImageEvaluationArtifact(EvaluationArtifact):
    """A plot (PNG); its ``content`` is a PIL image (Pillow needed)."""

    def _load(self, path: Path) -> Any:
        from PIL import Image

        with Image.open(path) as image:
            image.load()
            return image


class CsvEvaluationArtifact(EvaluationArtifact):
    """A table written as CSV; its ``content`` is a pandas DataFrame."""

    def _load(self, path: Path) -> Any:
        import pandas as pd

        return pd.read_csv(path)


class JsonEvaluationArtifact(EvaluationArtifact):
    """A JSON file; its ``content`` is what it holds."""

    def _load(self, path: Path) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))


class EvaluationResult:
    """The outcome of ``mltrail.evaluate``: ``metrics`` (name -> value), ``artifacts``
    (name -> ``EvaluationArtifact``) and the ``run_id`` they were logged to (MLflow's).

    Example:
        >>> from mltrail.evaluation import EvaluationResult
        >>> result = EvaluationResult({"accuracy_score": 0.9}, {}, run_id="r1")
        >>> result.metrics, result.run_id
        ({'accuracy_score': 0.9}, 'r1')
    """

    def __init__(self, metrics: dict[str, Any], artifacts: dict[str, EvaluationArtifact],
                 run_id: str | None = None) -> None:  # fmt: skip
        self._metrics = metrics
        self._artifacts = artifacts
        self._run_id = run_id

    @property
    def metrics(self) -> dict[str, Any]:
        """Metric name -> value, with the ``metric_prefix`` if one was configured."""
        return self._metrics

    @property
    def artifacts(self) -> dict[str, EvaluationArtifact]:
        """Artifact name (``confusion_matrix``, ``roc_curve_plot`` ...) -> artifact."""
        return self._artifacts

    @property
    def run_id(self) -> str | None:
        """The run the results were logged to."""
        return self._run_id

    @property
    def tables(self) -> dict[str, Any]:
        """The artifacts that are tables, as pandas DataFrames."""
        return {k: a.content for k, a in self._artifacts.items()
                if isinstance(a, CsvEvaluationArtifact)}  # fmt: skip

    def __repr__(self) -> str:
        return f"EvaluationResult(metrics={self._metrics!r}, artifacts={list(self._artifacts)})"
