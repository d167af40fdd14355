"""Property tests for the MLflow file store records mltrail writes on export and reads
on import: a logged model's linked metric lines."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mltrail.entities import Metric
from mltrail.interop import export_models, filestore
from mltrail.logged_entities import LoggedModel
from mltrail.store.logged_models import LinkedPoint

#: A metric key or dataset name MLflow's file store can hold: no spaces (it splits lines
#: on them), no path separators (a key is a file name).
_WORD = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Z")), min_size=1, max_size=12
).filter(lambda t: not any(c.isspace() or c in "/\\" for c in t) and t not in {".", ".."})
_POINT = st.builds(
    LinkedPoint,
    key=_WORD,
    value=st.floats(allow_nan=False),
    timestamp=st.integers(0, 2**53),
    step=st.integers(-(2**31), 2**31),
    run_id=st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    dataset_name=st.none() | _WORD,
    dataset_digest=st.none() | st.from_regex(r"[0-9a-f]{8}", fullmatch=True),
)


def _model(points: list[LinkedPoint]) -> LoggedModel:
    metrics = [
        Metric(
            p.key, p.value, p.timestamp, p.step, None, p.dataset_name, p.dataset_digest, p.run_id
        )
        for p in points
    ]
    return LoggedModel(
        model_id="m-0123456789abcdef0123456789abcdef",
        name="model",
        experiment_id="1",
        source_run_id="a" * 32,
        artifact_location="",
        artifact_path="model",
        creation_timestamp=1,
        last_updated_timestamp=2,
        metrics=metrics,
    )


@settings(max_examples=80, deadline=None)
@given(points=st.lists(_POINT, max_size=8))
def test_linked_metrics_exported_for_mlflow_import_back_the_same(
    points: list[LinkedPoint],
) -> None:
    model = _model(points)
    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp) / "1"
        export_models._write_model(exp, model)
        back = list(filestore._linked(exp / "models" / model.model_id / "metrics"))
    # a dataset goes across whole (name and digest) or not at all, as MLflow writes it
    bare = {"dataset_name": None, "dataset_digest": None}
    whole = [p if p.dataset_name and p.dataset_digest else replace(p, **bare) for p in points]
    assert sorted(back, key=repr) == sorted(whole, key=repr)


def test_export_writes_no_key_outside_its_folder(tmp_path: Path) -> None:
    """A hostile store's param or tag key cannot make the export write elsewhere."""
    folder = tmp_path / "dest" / "params"
    keys = {"../../escape": "x", "/abs": "x", "a/../../b": "x", "ok/nested": "y"}
    export_models.write_values(folder, keys)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["dest/params/ok/nested"]
