"""`mltrail models predict`: batch scoring as `mlflow models predict` does it, in chunks,
in row order, and never half an output for a bad row."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import mltrail
import mltrail.pyfunc
import mltrail.sklearn
from mltrail.cli import build_cli
from mltrail.models import infer_signature
from mltrail.serving.batch import BadRow, predict_file
from mltrail.store import FileStore

sklearn_linear = pytest.importorskip("sklearn.linear_model")
COLUMNS = ["a", "b", "c", "d"]


def _frame(rows: int, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).normal(size=(rows, 4)), columns=COLUMNS)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = _frame(80)
    clf = sklearn_linear.LinearRegression().fit(frame, frame["a"] * 2 - frame["d"])
    path = tmp_path_factory.mktemp("batch") / "model"
    mltrail.sklearn.save_model(clf, path, signature=infer_signature(frame, clf.predict(frame)))
    return path


def _expected(model_dir: Path, frame: pd.DataFrame) -> list[Any]:
    return list(mltrail.pyfunc.load_model(model_dir).predict(frame).tolist())


def test_chunks_keep_the_row_order(model_dir: Path, tmp_path: Path) -> None:
    frame = _frame(25, seed=1)
    source = tmp_path / "rows.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "out.json"
    seen: list[int] = []
    model = mltrail.pyfunc.load_model(model_dir)
    rows = predict_file(model, source, out, "csv", chunk_rows=7, progress=seen.append)
    assert rows == 25 and len(seen) == 4  # 7 + 7 + 7 + 4 rows
    predictions = json.loads(out.read_text())["predictions"]
    assert predictions == pytest.approx(_expected(model_dir, frame))


def test_the_command_scores_csv_json_and_parquet(model_dir: Path, tmp_path: Path) -> None:
    frame = _frame(9, seed=2)
    expected = _expected(model_dir, frame)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    body = {"dataframe_split": frame.to_dict(orient="split")}
    (tmp_path / "rows.json").write_text(json.dumps(body))
    runner = CliRunner()
    for name, kind in (("rows.csv", "csv"), ("rows.json", "json")):
        out = tmp_path / f"{kind}.json"
        args = ["models", "predict", "-m", str(model_dir), "-i", str(tmp_path / name)]
        result = runner.invoke(build_cli(), [*args, "-t", kind, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert json.loads(out.read_text())["predictions"] == pytest.approx(expected)
    stdin = runner.invoke(
        build_cli(),
        ["models", "predict", "-m", str(model_dir), "-t", "csv"],
        input=frame.to_csv(index=False),
    )
    assert stdin.exit_code == 0, stdin.output
    assert json.loads(stdin.stdout)["predictions"] == pytest.approx(expected)
    pytest.importorskip("pyarrow")
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    (tmp_path / "rows.parquet").write_bytes(buffer.getvalue())
    out = tmp_path / "parquet.json"
    args = ["-i", str(tmp_path / "rows.parquet"), "-t", "parquet", "-o", str(out)]
    result = runner.invoke(build_cli(), ["models", "predict", "-m", str(model_dir), *args])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["predictions"] == pytest.approx(expected)


def test_a_bad_row_names_its_row_and_column_and_leaves_no_output(
    model_dir: Path, tmp_path: Path
) -> None:
    frame = _frame(30, seed=3).astype(object)
    frame.loc[17, "c"] = "not a number"  # the 18th data row
    source = tmp_path / "rows.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "out.json"
    model = mltrail.pyfunc.load_model(model_dir)
    with pytest.raises(BadRow, match=r"Row 18 .*'c'"):
        predict_file(model, source, out, "csv", chunk_rows=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]
    result = CliRunner().invoke(
        build_cli(),
        ["models", "predict", "-m", str(model_dir), "-i", str(source), "-t", "csv", "-o", str(out)],
    )
    assert result.exit_code != 0 and "Row 18" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_registered_model_is_scored_by_its_uri(
    model_dir: Path, tracking: FileStore, tmp_path: Path
) -> None:
    frame = _frame(5, seed=4)
    with mltrail.start_run():
        clf = mltrail.sklearn.load_model(str(model_dir))
        info = mltrail.sklearn.log_model(clf, name="model", input_example=frame.head(2))
    mltrail.register_model(info.model_uri, "scorer")
    (tmp_path / "rows.csv").write_text(frame.to_csv(index=False))
    out = tmp_path / "out.json"
    args = ["-m", "models:/scorer/1", "-i", str(tmp_path / "rows.csv"), "-t", "csv", "-o", str(out)]
    result = CliRunner().invoke(
        build_cli(), ["models", "predict", "--store", str(tracking.root), *args]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["predictions"] == pytest.approx(_expected(model_dir, frame))


def test_bad_inputs_are_one_line_errors(model_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["models", "predict", "-m", str(model_dir), "-o", str(tmp_path / "o.json")]
    missing = runner.invoke(build_cli(), [*base, "-i", str(tmp_path / "none.csv"), "-t", "csv"])
    assert missing.exit_code != 0 and "Cannot read the input" in missing.output
    (tmp_path / "bad.json").write_text("[1, 2")
    broken = runner.invoke(build_cli(), [*base, "-i", str(tmp_path / "bad.json")])
    assert broken.exit_code != 0 and "not valid JSON" in broken.output
    assert not (tmp_path / "o.json").exists()
