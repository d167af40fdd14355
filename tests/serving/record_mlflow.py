"""Record how MLflow 3.17.2's scoring server answers, as a fixture for mltrail's own server.

Run it with MLflow's interpreter, from the repository root (it needs mlflow, scikit-learn,
pandas and pyarrow, none of which mltrail's venv is asked to have):

    /work/venvs/mlflow/bin/python tests/serving/record_mlflow.py

It trains a small deterministic LogisticRegression on four float columns "a".."d", saves it
with ``mlflow.sklearn.save_model`` (signature inferred from a DataFrame, with an input
example), starts ``mlflow models serve --env-manager local`` on a free port of 127.0.0.1,
sends every request in ``CASES`` and writes what came back to
``tests/serving/fixtures/mlflow_3.17.2_responses.json`` (sorted keys, no ports, times or
temporary paths, so a rerun on the same versions gives the same bytes). The time from start
to the first 200 on ``/ping`` is printed, not recorded.

Each case names the ``shape`` its answer must have; the script stops if MLflow answers in
another shape, so a new MLflow version cannot silently change the fixture's meaning.

pytest does not collect this file (its name does not start with ``test_``);
``tests/serving/test_mlflow_recording.py`` checks the fixture it writes.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FIXTURE = Path(__file__).parent / "fixtures" / "mlflow_3.17.2_responses.json"
COLUMNS = ["a", "b", "c", "d"]
MODEL_PLACEHOLDER = "<MODEL_DIR>"
STARTUP_LIMIT_S = 120.0
JSON = "application/json"

# A few rows every JSON case reuses; values chosen so that the three classes all appear.
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]


CENTERS = [[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]]


def sample(n: int, seed: int) -> tuple[list[list[float]], list[int]]:
    """``n`` iris-like rows of four floats rounded to 0.1, and the class each came from."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    values = np.array(CENTERS)[labels] + rng.normal(0, 0.3, size=(n, 4))
    return [[round(float(v), 1) for v in row] for row in values], labels.tolist()


def make_rows(n: int, seed: int) -> list[list[float]]:
    """Just the rows of :func:`sample`."""
    return sample(n, seed)[0]


def train_and_save(folder: Path) -> None:
    """Fit the tiny model and save it the way a user would, with signature and example."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rows, labels = sample(150, seed=0)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    model = LogisticRegression(max_iter=500).fit(frame, labels)
    signature = infer_signature(frame, model.predict(frame))
    mlflow.sklearn.save_model(
        model,
        str(folder),
        signature=signature,
        input_example=frame.head(2),
        pip_requirements=["scikit-learn"],  # skips MLflow's requirement-inference subprocess
    )


@dataclass(frozen=True)
class Case:
    """One request sent to the server and the shape its answer must have.

    ``shape`` is one of: ``predictions`` (200, JSON with a ``predictions`` key),
    ``mlflow_error`` (JSON with ``error_code`` and ``message``), ``text`` (a plain-text
    answer), ``framework`` (FastAPI's own ``{"detail": ...}``), ``info`` (a GET endpoint's
    200 answer). ``elide`` keeps only the status and the prediction count.
    """

    name: str
    method: str
    path: str
    content_type: str | None
    body: bytes
    shape: str
    note: str = ""
    elide: bool = False


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _split(data: Any, columns: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"dataframe_split": {"columns": columns or COLUMNS, "data": data, **extra}}


def _records(rows: list[list[Any]], columns: list[str] | None = None) -> list[dict[str, Any]]:
    return [dict(zip(columns or COLUMNS, row, strict=True)) for row in rows]


def _post(name: str, body: Any, shape: str, note: str = "", ctype: str | None = JSON) -> Case:
    raw = body if isinstance(body, bytes) else _json(body)
    return Case(name, "POST", "/invocations", ctype, raw, shape, note)


def _parquet(rows: list[list[float]]) -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(buffer, index=False)
    return buffer.getvalue()


def endpoint_cases() -> list[Case]:
    """The GET endpoints, and the paths and methods the server does not route."""
    return [
        Case("get_ping", "GET", "/ping", None, b"", "info"),
        Case("get_health", "GET", "/health", None, b"", "info"),
        Case("get_version", "GET", "/version", None, b"", "info"),
        Case("get_invocations", "GET", "/invocations", None, b"", "framework"),
        Case("post_ping", "POST", "/ping", JSON, b"{}", "framework"),
        Case("post_unknown_path", "POST", "/predict", JSON, _json(_split(ROWS)), "framework"),
    ]


def format_cases() -> list[Case]:
    """Every accepted way of sending the same three rows."""
    columns = {c: [row[i] for row in ROWS] for i, c in enumerate(COLUMNS)}
    return [
        _post("split", _split(ROWS), "predictions"),
        _post("split_with_index", _split(ROWS, index=[10, 11, 12]), "predictions"),
        _post("records", {"dataframe_records": _records(ROWS)}, "predictions"),
        _post("instances_dicts", {"instances": _records(ROWS)}, "predictions"),
        _post(
            "instances_lists",
            {"instances": ROWS},
            "mlflow_error",
            "a list of lists has no column names, so a named signature rejects it",
        ),
        _post("inputs_columns", {"inputs": columns}, "predictions"),
        _post("inputs_records", {"inputs": _records(ROWS)}, "predictions"),
        _post(
            "inputs_lists",
            {"inputs": ROWS},
            "mlflow_error",
            "a list of lists has no column names, so a named signature rejects it",
        ),
        _post("split_with_params", {**_split(ROWS), "params": {"alpha": 0.5}}, "predictions"),
        _post("split_with_unknown_top_key", {**_split(ROWS), "extra": 1}, "predictions"),
        _post(
            "instances_with_signature_name",
            {"instances": _records(ROWS), "signature_name": "serving_default"},
            "predictions",
            "signature_name is dropped with the other unknown keys before it is checked",
        ),
        _post(
            "csv_with_header",
            b"a,b,c,d\n5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n",
            "predictions",
            ctype="text/csv",
        ),
        _post(
            "json_charset_utf8",
            _split(ROWS),
            "predictions",
            ctype="application/json; charset=utf-8",
        ),
        _post(
            "json_charset_upper",
            _split(ROWS),
            "predictions",
            ctype="application/json; charset=UTF-8",
        ),
        _post("parquet", _parquet(ROWS), "predictions", ctype="application/vnd.apache.parquet"),
        _post("one_row", _split(ROWS[:1]), "predictions"),
        Case(
            "body_20_mb",
            "POST",
            "/invocations",
            JSON,
            _json({**_split(ROWS), "padding": "x" * 20_000_000}),
            "predictions",
            "three rows plus a 20 MB unknown key: there is no body size limit",
            elide=True,
        ),
        Case(
            "rows_1000",
            "POST",
            "/invocations",
            JSON,
            _json(_split(make_rows(1000, seed=7))),
            "predictions",
            "body is make_rows(1000, seed=7) as dataframe_split",
            elide=True,
        ),
    ]


def envelope_errors() -> list[Case]:
    """Bodies the server cannot read: wrong keys, broken JSON, wrong content types."""
    return [
        _post("two_input_keys", {**_split(ROWS), "instances": ROWS}, "mlflow_error"),
        _post(
            "no_known_key",
            {"columns": COLUMNS, "data": ROWS},
            "mlflow_error",
            "the MLflow 1.x body",
        ),
        _post("empty_object", {}, "mlflow_error"),
        _post("top_level_list", ROWS, "mlflow_error"),
        _post("top_level_number", b"5", "mlflow_error"),
        _post("malformed_json", b'{"dataframe_split": {', "mlflow_error"),
        _post("invalid_utf8", b'{"inputs": "\xff\xfe"}', "mlflow_error"),
        _post("empty_body_json", b"", "mlflow_error"),
        _post("empty_body_csv", b"", "mlflow_error", ctype="text/csv"),
        _post(
            "csv_row_longer_than_header",
            b"a,b,c,d\n1,2,3,4,5,6\n",
            "predictions",
            "pandas reads the two extra leading fields as the index",
            ctype="text/csv",
        ),
        _post(
            "csv_ragged",
            b"a,b,c,d\n1,2,3,4\n1,2,3,4,5,6,7\n",
            "mlflow_error",
            ctype="text/csv",
        ),
        _post(
            "parquet_garbage",
            b"not parquet",
            "mlflow_error",
            ctype="application/vnd.apache.parquet",
        ),
        _post("split_is_list", {"dataframe_split": ROWS}, "mlflow_error"),
        _post("split_unknown_field", _split(ROWS, orient="split"), "mlflow_error"),
        _post("split_without_data", {"dataframe_split": {"columns": COLUMNS}}, "mlflow_error"),
        _post("records_is_dict", {"dataframe_records": {"a": [1.0]}}, "mlflow_error"),
        _post(
            "llm_input_key",
            {"input": ROWS},
            "mlflow_error",
            "'input', 'prompt' and 'messages' switch to the unwrapped LLM format",
        ),
        _post("text_plain", _split(ROWS), "text", ctype="text/plain"),
        _post("application_xml", b"<rows/>", "text", ctype="application/xml"),
        _post("json_mixed_case", _split(ROWS), "text", ctype="Application/JSON"),
        _post(
            "json_charset_latin1", _split(ROWS), "text", ctype="application/json; charset=latin-1"
        ),
        _post(
            "json_format_parameter",
            _split(ROWS),
            "text",
            ctype="application/json; format=pandas-split",
            note="the MLflow 1.x content type",
        ),
        _post("no_content_type", _split(ROWS), "text", ctype=None),
    ]


def schema_cases() -> list[Case]:
    """Bodies the server reads but the signature (or the model) rejects, or lets through."""
    nan_body = (
        b'{"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [[NaN, 3.5, 1.4, 0.2]]}}'
    )
    return [
        _post("missing_column", _split([r[:3] for r in ROWS], COLUMNS[:3]), "mlflow_error"),
        _post("extra_column", _split([[*r, 9.0] for r in ROWS], [*COLUMNS, "e"]), "predictions"),
        _post(
            "extra_unicode_column",
            _split([[*r, 9.0] for r in ROWS], [*COLUMNS, "größe"]),
            "predictions",
        ),
        _post("column_case_differs", _split(ROWS, ["A", "b", "c", "d"]), "mlflow_error"),
        _post("split_without_columns", {"dataframe_split": {"data": ROWS}}, "mlflow_error"),
        _post("string_in_double", _split([["abc", 3.5, 1.4, 0.2]]), "mlflow_error"),
        _post("numeric_string_in_double", _split([["5.1", 3.5, 1.4, 0.2]]), "predictions"),
        _post("int_in_double", _split([[5, 3, 1, 0]]), "predictions"),
        _post("bool_in_double", _split([[True, 3.5, 1.4, 0.2]]), "predictions"),
        _post("null_in_double", _split([[None, 3.5, 1.4, 0.2]]), "mlflow_error"),
        _post("nan_literal_in_double", nan_body, "mlflow_error", "JSON with a bare NaN token"),
        _post(
            "records_missing_key",
            {"dataframe_records": [{"a": 5.1, "b": 3.5, "c": 1.4}]},
            "mlflow_error",
        ),
        _post(
            "instances_string_in_double",
            {"instances": _records([["x", 1.0, 1.0, 1.0]])},
            "mlflow_error",
        ),
        _post(
            "inputs_string_in_double", {"inputs": _records([["x", 1.0, 1.0, 1.0]])}, "mlflow_error"
        ),
        _post("zero_rows", _split([]), "mlflow_error"),
        _post(
            "params_not_a_dict",
            {**_split(ROWS), "params": [1, 2]},
            "predictions",
            "without a params schema in the signature, params are logged and ignored",
        ),
        _post(
            "csv_without_header",
            b"5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n",
            "mlflow_error",
            ctype="text/csv",
        ),
        _post(
            "csv_string_in_double", b"a,b,c,d\nabc,3.5,1.4,0.2\n", "mlflow_error", ctype="text/csv"
        ),
    ]


CASES = [*endpoint_cases(), *format_cases(), *envelope_errors(), *schema_cases()]


def free_port() -> int:
    """A port nobody listens on right now (the usual bind-to-0 trick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def send(port: int, case: Case) -> tuple[int, str | None, bytes]:
    """Send one request as raw bytes; return status, content type and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": case.content_type} if case.content_type else {}
        if case.method == "POST" or case.body:
            headers["Content-Length"] = str(len(case.body))
        connection.request(case.method, case.path, body=case.body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("content-type"), response.read()
    finally:
        connection.close()


@contextmanager
def serving(model_dir: Path, log_path: Path) -> Iterator[int]:
    """Run ``mlflow models serve`` in its own process group; kill the group on exit."""
    port = free_port()
    # Error messages print Python sets (the input keys, a split body's fields): a fixed hash
    # seed keeps their order, and so the fixture, the same from one run to the next.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "PYTHONHASHSEED": "0"}
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with log_path.open("wb") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            wait_for_ping(port, process, started, log_path)
            yield port
        finally:
            stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (the CLI and uvicorn), SIGKILL it if it lingers."""
    with suppress(ProcessLookupError):  # the whole group may have exited already
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_ping(port: int, process: subprocess.Popen[bytes], started: float, log: Path) -> None:
    """Poll ``/ping`` until it answers 200; print the time it took."""
    while time.monotonic() - started < STARTUP_LIMIT_S:
        if process.poll() is not None:
            sys.exit(f"mlflow models serve exited early:\n{log.read_text()}")
        try:
            if send(port, Case("ping", "GET", "/ping", None, b"", "info"))[0] == 200:
                print(f"startup to first 200 on /ping: {time.monotonic() - started:.2f} s")
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"no 200 on /ping after {STARTUP_LIMIT_S} s:\n{log.read_text()}")


def describe_request(case: Case) -> dict[str, Any]:
    """The request as the fixture stores it: text when it decodes, base64 otherwise."""
    request: dict[str, Any] = {
        "method": case.method,
        "path": case.path,
        "content_type": case.content_type,
    }
    if case.elide:
        request["body_elided"] = case.note
        return request
    try:
        request["body"] = case.body.decode("utf-8")
    except UnicodeDecodeError:
        request["body_base64"] = base64.b64encode(case.body).decode("ascii")
    return request


def scrub(text: str, model_dir: Path) -> str:
    """Remove what differs between runs: the temporary model folder."""
    return text.replace(str(model_dir.resolve()), MODEL_PLACEHOLDER).replace(
        str(model_dir), MODEL_PLACEHOLDER
    )


def describe_response(
    case: Case, status: int, ctype: str | None, raw: bytes, model_dir: Path
) -> dict[str, Any]:
    """Status, content type and body (parsed JSON when it parses); stack traces shortened."""
    text = scrub(raw.decode("utf-8", errors="replace"), model_dir)
    response: dict[str, Any] = {"status": status, "content_type": ctype}
    try:
        body: Any = json.loads(text)
        response["body_format"] = "json"
    except ValueError:
        body = text
        response["body_format"] = "text"
    if isinstance(body, dict) and isinstance(body.get("stack_trace"), str):
        lines = body["stack_trace"].strip().splitlines()
        body["stack_trace"] = f"<elided: {len(lines)} lines; last: {lines[-1]}>"
    if case.elide and isinstance(body, dict) and "predictions" in body:
        response["prediction_count"] = len(body["predictions"])
        body = {"predictions": "<elided>"}
    response["body"] = body
    return response


def check_shape(case: Case, response: dict[str, Any]) -> str | None:
    """Why the answer does not have the case's declared shape, or None when it does."""
    status, body = response["status"], response["body"]
    checks = {
        "predictions": status == 200 and isinstance(body, dict) and "predictions" in body,
        "mlflow_error": status >= 400 and isinstance(body, dict) and "error_code" in body,
        "text": status >= 400 and response["body_format"] == "text",
        "framework": status >= 400 and isinstance(body, dict) and "detail" in body,
        "info": status == 200,
    }
    return None if checks[case.shape] else f"{case.name}: expected {case.shape}, got {response}"


def record(model_dir: Path, port: int) -> dict[str, Any]:
    """Send every case and collect the fixture's ``cases`` mapping."""
    cases: dict[str, Any] = {}
    problems = []
    for case in CASES:
        status, ctype, raw = send(port, case)
        response = describe_response(case, status, ctype, raw, model_dir)
        if problem := check_shape(case, response):
            problems.append(problem)
        cases[case.name] = {
            "request": describe_request(case),
            "response": response,
            "shape": case.shape,
            "note": case.note,
        }
    if problems:
        sys.exit("MLflow answered in unexpected shapes:\n" + "\n".join(problems))
    return cases


def model_summary(model_dir: Path) -> dict[str, Any]:
    """What the fixture says about the served model: signature and example, as saved."""
    from mlflow.models import Model

    meta = Model.load(str(model_dir))
    example = json.loads((model_dir / "serving_input_example.json").read_text())
    return {
        "columns": COLUMNS,
        "flavor": "sklearn LogisticRegression(max_iter=500), see train_and_save()",
        "signature": meta.signature.to_dict() if meta.signature else None,
        "serving_input_example": example,
    }


def main() -> None:
    """Train, serve, record, write the fixture."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="mltrail-record-") as tmp:
        model_dir = Path(tmp) / "model"
        train_and_save(model_dir)
        with serving(model_dir, Path(tmp) / "server.log") as port:
            cases = record(model_dir, port)
        fixture = {
            "mlflow_version": mlflow.__version__,
            "recorded_with": "tests/serving/record_mlflow.py",
            "model": model_summary(model_dir),
            "server": {
                "command": f"mlflow models serve -m {MODEL_PLACEHOLDER} "
                "--env-manager local -h 127.0.0.1 -p <PORT>"
            },
            "cases": cases,
        }
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(fixture, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {FIXTURE}")


if __name__ == "__main__":
    main()
