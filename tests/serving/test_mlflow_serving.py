"""``mltrail models serve`` next to the real ``mlflow models serve`` (MLflow 3.17.2, from
the test extra), both live: every request the recording sends, plus CSV and Parquet
bodies, gets the same status and predictions from both (except test_app's
KNOWN_DIFFERENCES), and models cross over: MLflow's model served by mltrail, mltrail's
scikit-learn and custom Python models served by MLflow.

The servers start once per module, side by side (MLflow's takes ~5 s to import itself
twice), and MLflow saves its model in one subprocess meanwhile.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import pandas as pd
import pytest

import mltrail.pyfunc
import mltrail.sklearn
from mltrail.models import infer_signature
from tests.serving import models
from tests.serving.record_mlflow import CASES, COLUMNS, Case, make_rows, sample
from tests.serving.servers import MLFLOW, REPO, MlflowServeProcess, ServeProcess, send
from tests.serving.test_app import KNOWN_DIFFERENCES, same_error_code

pytestmark = pytest.mark.skipif(not MLFLOW.exists(), reason="mlflow is not installed (.[test])")
sklearn_linear = pytest.importorskip("sklearn.linear_model")
#: Rows none of the recorded cases sends, for the CSV, Parquet and cross-over requests.
ROWS = make_rows(40, seed=3)

#: Saves the recording's model with MLflow itself, and prints MLflow's predictions.
MLFLOW_SAVE = """
import json, sys
from pathlib import Path
import mlflow.pyfunc
import pandas as pd
from tests.serving.record_mlflow import COLUMNS, train_and_save
train_and_save(Path(sys.argv[1]))
rows = pd.DataFrame(json.loads(sys.argv[2]), columns=COLUMNS)
print(json.dumps(mlflow.pyfunc.load_model(sys.argv[1]).predict(rows).tolist()))
"""


@dataclass(frozen=True)
class Servers:
    ours: int  # mltrail serving mltrail's scikit-learn model
    theirs: int  # MLflow serving the same folder
    mltrail_serves_mlflows: int
    mlflow_serves_custom: int
    mltrail_serves_custom: int  # with --allow-unknown-columns, as MLflow
    sklearn_model: Path
    custom_model: Path
    mlflow_predictions: list[int]


def _save_ours(folder: Path) -> tuple[Path, Path]:
    rows, labels = sample(150, seed=0)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    clf = sklearn_linear.LogisticRegression(max_iter=500).fit(frame, labels)
    sklearn_path = folder / "sklearn"
    mltrail.sklearn.save_model(
        clf, sklearn_path, signature=infer_signature(frame, clf.predict(frame))
    )
    custom_path = folder / "custom"
    example = pd.DataFrame({"x": [1.0, 2.0]})
    cloudpickle.register_pickle_by_value(models)  # MLflow's server cannot import tests
    try:
        mltrail.pyfunc.save_model(custom_path, python_model=models.AddN(0.5), input_example=example)
    finally:
        cloudpickle.unregister_pickle_by_value(models)
    return sklearn_path, custom_path


def _mlflow_save(folder: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLTRAIL_"))}
    env.update(PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    command = [sys.executable, "-c", MLFLOW_SAVE, str(folder), json.dumps(ROWS)]
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    base = tmp_path_factory.mktemp("mlflow_serving")
    saving = _mlflow_save(base / "saved_by_mlflow")
    sklearn_path, custom_path = _save_ours(base)
    with contextlib.ExitStack() as stack:
        started = [
            stack.enter_context(ServeProcess("-m", str(sklearn_path))),
            stack.enter_context(MlflowServeProcess(sklearn_path)),
            stack.enter_context(MlflowServeProcess(custom_path)),
            stack.enter_context(ServeProcess("-m", str(custom_path), "--allow-unknown-columns")),
        ]
        out, err = saving.communicate(timeout=120)
        assert saving.returncode == 0, f"MLflow could not save its model:\n{err[-4000:]}"
        started.append(stack.enter_context(ServeProcess("-m", str(base / "saved_by_mlflow"))))
        for server in started:
            server.wait_ready(timeout=120)
        ours, theirs, custom, our_custom, crossed = (s.port for s in started)
        predictions = json.loads(out.strip().splitlines()[-1])
        yield Servers(
            ours, theirs, crossed, custom, our_custom, sklearn_path, custom_path, predictions
        )


def _ask(port: int, case: Case) -> tuple[int, Any]:
    status, body, _ = send(port, case.method, case.path, case.body, case.content_type)
    return status, body


def _post(name: str, body: dict[str, Any]) -> Case:
    return Case(name, "POST", "/invocations", "application/json", json.dumps(body).encode(), "")


def _split(rows: list[list[Any]], columns: list[str] = COLUMNS, **extra: Any) -> dict[str, Any]:
    return {"dataframe_split": {"columns": columns, "data": rows, **extra}}


#: Requests the recording does not have, each where mltrail once answered otherwise.
MORE_CASES = [
    _post("column_given_twice", _split([[*ROWS[0], 1.0]], [*COLUMNS, "a"])),  # a 500-like 400
    _post("inputs_of_scalars", {"inputs": dict(zip(COLUMNS, ROWS[0], strict=True))}),  # 400
    _post("index_longer_than_data", _split(ROWS[:1], index=[1, 2])),  # pandas repeats the row
    _post("nan_in_params", {**_split(ROWS[:2]), "params": {"x": float("nan")}}),
]


@pytest.mark.parametrize("case", CASES + MORE_CASES, ids=lambda c: c.name)
def test_each_recorded_request_gets_the_same_answer_from_both(servers: Servers, case: Case) -> None:
    their_status, theirs = _ask(servers.theirs, case)
    status, body = _ask(servers.ours, case)
    assert status == KNOWN_DIFFERENCES.get(case.name, their_status), (body, theirs)
    if status == their_status == 200 and isinstance(theirs, dict) and "predictions" in theirs:
        assert body["predictions"] == theirs["predictions"]
    elif status >= 400:
        assert set(body) == {"error_code", "message"} and body["message"]
        assert same_error_code(case, body, theirs), (body, theirs)


def _csv(rows: list[list[float]]) -> bytes:
    return pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False).encode()


def _parquet(rows: list[list[float]] | list[list[int]]) -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(buffer, index=False)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(_csv(ROWS), "text/csv"), (_parquet(ROWS), "application/vnd.apache.parquet")],
    ids=["csv", "parquet"],
)
def test_csv_and_parquet_bodies_get_the_same_predictions(
    servers: Servers, body: bytes, ctype: str
) -> None:
    theirs = send(servers.theirs, "POST", "/invocations", body, ctype)
    ours = send(servers.ours, "POST", "/invocations", body, ctype)
    assert theirs[:2] == ours[:2]
    assert theirs[0] == 200 and len(ours[1]["predictions"]) == len(ROWS)


def test_integer_parquet_columns_are_the_documented_difference(servers: Servers) -> None:
    """docs/SERVING.md: MLflow checks a Parquet body's own types and refuses int64 for a
    double column; mltrail converts int to double as its signature check does."""
    body = _parquet([[5, 3, 1, 0], [6, 3, 5, 2]])
    theirs = send(servers.theirs, "POST", "/invocations", body, "application/vnd.apache.parquet")
    ours = send(servers.ours, "POST", "/invocations", body, "application/vnd.apache.parquet")
    assert theirs[0] == 400 and "int64 to float64" in theirs[1]["message"]
    assert ours[0] == 200 and len(ours[1]["predictions"]) == 2


def test_a_model_saved_by_mlflow_serves_mlflows_predictions(servers: Servers) -> None:
    split = {"dataframe_split": {"columns": COLUMNS, "data": ROWS}}
    status, body, _ = send(servers.mltrail_serves_mlflows, "POST", "/invocations", split)
    assert (status, body) == (200, {"predictions": servers.mlflow_predictions})


def test_models_saved_by_mltrail_serve_mltrails_predictions_in_mlflow(servers: Servers) -> None:
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    split = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    expected = mltrail.pyfunc.load_model(servers.sklearn_model).predict(frame).tolist()
    assert send(servers.theirs, "POST", "/invocations", split)[:2] == (
        200,
        {"predictions": expected},
    )
    xs = pd.DataFrame({"x": [0.0, 1.5, 2.25, 10.0]})
    expected = mltrail.pyfunc.load_model(servers.custom_model).predict(xs)
    records = {"dataframe_records": xs.to_dict(orient="records")}
    status, body, _ = send(servers.mlflow_serves_custom, "POST", "/invocations", records)
    assert (status, body) == (200, {"predictions": expected})
    assert expected == [0.5, 2.0, 2.75, 10.5]


@pytest.mark.parametrize(
    "body",
    [
        {"input": "hello", "x": [1.0, 2.0]},  # embeddings-style
        {"prompt": "hello", "x": [0.25], "temperature": 0.5},  # completions-style
        {"messages": [{"role": "user", "content": "hi"}], "x": [3.0], "inputs": [1]},
    ],
    ids=["input", "prompt", "messages_with_inputs"],
)
def test_unwrapped_llm_bodies_are_answered_as_mlflow_answers_them(
    servers: Servers, body: dict[str, Any]
) -> None:
    """An object with messages, prompt or input goes to the model as it is (even beside
    an input key) and is answered with the bare predictions, without the envelope."""
    theirs = send(servers.mlflow_serves_custom, "POST", "/invocations", body)
    ours = send(servers.mltrail_serves_custom, "POST", "/invocations", body)
    assert theirs[:2] == ours[:2]
    assert ours[0] == 200 and ours[1] == [x + 0.5 for x in body["x"]]
