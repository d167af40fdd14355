"""Bad requests against one real ``mltrail models serve`` process with a small
``--max-body-bytes``: each is answered with its 4xx and a JSON error (``error_code``,
``message``), alone and mixed into 1,000 concurrent requests, without the server's memory
growing; a model trained on unicode column names serves them; a model that does not exist
stops the command with one line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mltrail.sklearn
from mltrail.models import infer_signature
from tests.serving.servers import REPO, ServeProcess, send

sklearn_linear = pytest.importorskip("sklearn.linear_model")
COLUMNS = ["größe_cm", "gewicht_kg", "température", "名前の長さ"]
LIMIT = 4096
ROW = [170.0, 65.5, 21.0, 4.0]
JSON = "application/json"


@dataclass(frozen=True)
class Bad:
    """A request the server must refuse with ``status``, and a part of its message."""

    body: bytes
    ctype: str
    status: int
    says: str = ""


def _split(rows: list[list[Any]], columns: list[str] = COLUMNS) -> bytes:
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()


GOOD = _split([ROW, [150.0, 80.0, 35.5, 9.0]])
BAD = {
    "malformed_json": Bad(b'{"dataframe_split": {"columns": [', JSON, 400, "not valid JSON"),
    "two_input_keys": Bad(
        json.dumps(
            {"dataframe_split": {"columns": COLUMNS, "data": [ROW]}, "instances": [ROW]}
        ).encode(),
        JSON,
        400,
        "exactly one of",
    ),
    "over_the_limit": Bad(_split([ROW] * 200), JSON, 413, f"limit of {LIMIT} bytes"),
    "wrong_columns": Bad(_split([ROW], ["a", "b", "c", "d"]), JSON, 400, "'a'"),
    "missing_column": Bad(_split([ROW[:3]], COLUMNS[:3]), JSON, 400, "名前の長さ"),
    "unknown_column": Bad(_split([[*ROW, 1.0]], [*COLUMNS, "extra"]), JSON, 400, "'extra'"),
    "misspelt_unicode_column": Bad(
        _split([ROW], ["grösse_cm", *COLUMNS[1:]]), JSON, 400, "grösse_cm"
    ),
    "nan_token": Bad(_split([ROW]).replace(b"170.0", b"NaN"), JSON, 400, "no missing values"),
    "null_value": Bad(_split([[None, *ROW[1:]]]), JSON, 400, "no missing values"),
    "missing_value_in_records": Bad(
        json.dumps({"dataframe_records": [dict(zip(COLUMNS[1:], ROW[1:], strict=True))]}).encode(),
        JSON,
        400,
        "größe_cm",
    ),
    "column_given_twice": Bad(
        _split([[*ROW, 1.0]], [*COLUMNS, COLUMNS[0]]), JSON, 400, "given more than once"
    ),
    "string_value": Bad(_split([["tall", *ROW[1:]]]), JSON, 400, "größe_cm"),
    "empty_body": Bad(b"", JSON, 400),
    "empty_csv": Bad(b"", "text/csv", 400),
    "unknown_content_type": Bad(GOOD, "application/xml", 415, "application/xml"),
    "unknown_charset": Bad(GOOD, "application/json; charset=latin-1", 415, "UTF-8"),
}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classifier trained on four columns with non-ASCII names."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(50, 20, size=(60, 4)), columns=COLUMNS)
    labels = (frame["größe_cm"] > frame["gewicht_kg"]).astype(int)
    clf = sklearn_linear.LogisticRegression(max_iter=500).fit(frame, labels)
    path = tmp_path_factory.mktemp("bad_input") / "model"
    mltrail.sklearn.save_model(clf, path, signature=infer_signature(frame, clf.predict(frame)))
    return path


@pytest.fixture(scope="module")
def server(model: Path) -> Iterator[ServeProcess]:
    with ServeProcess("-m", str(model), "--max-body-bytes", str(LIMIT)) as served:
        served.wait_ready()
        yield served
        log = served.output()
    assert "Traceback" not in log, log


def _is_error(body: Any) -> bool:
    return (
        isinstance(body, dict) and set(body) == {"error_code", "message"} and bool(body["message"])
    )


@pytest.mark.parametrize("name", BAD)
def test_each_bad_request_gets_its_4xx_and_a_json_error(server: ServeProcess, name: str) -> None:
    bad = BAD[name]
    status, body, headers = send(server.port, "POST", "/invocations", bad.body, bad.ctype)
    assert status == bad.status, body
    assert _is_error(body) and headers["content-type"] == "application/json"
    assert bad.says in body["message"]


def test_unicode_column_names_serve_in_json_and_csv(server: ServeProcess, model: Path) -> None:
    frame = pd.DataFrame([ROW, [150.0, 80.0, 35.5, 9.0]], columns=COLUMNS)
    expected = mltrail.sklearn.load_model(model).predict(frame).tolist()
    assert send(server.port, "POST", "/invocations", GOOD)[:2] == (200, {"predictions": expected})
    csv = frame.to_csv(index=False).encode()
    assert send(server.port, "POST", "/invocations", csv, "text/csv")[:2] == (
        200,
        {"predictions": expected},
    )


@pytest.mark.parametrize("command", ["serve", "predict"])
def test_a_model_uri_that_does_not_exist_exits_1_with_one_line(
    tmp_path: Path, command: str
) -> None:
    """Outside any store too: the message names the folder (it used to say that there was
    no store, as if the path were a registry URI). ``predict`` keeps the CLI's usual 2 for
    a missing thing; ``serve`` exits 1 for every model that cannot load (docs/SERVING.md)."""
    missing = tmp_path / "no" / "such" / "model"
    result = subprocess.run(
        [sys.executable, "-m", "mltrail", "models", command, "-m", str(missing)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == (1 if command == "serve" else 2), result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: No model at {str(missing)!r}: {missing} does not exist."
    ]


async def _post(port: int, body: bytes, ctype: str) -> tuple[int, Any]:
    """One request on its own connection, as raw HTTP/1.1 (the server closes it after)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


def _burst(port: int, count: int) -> None:
    """``count`` requests at once, every fourth one bad; each gets its answer."""
    kinds = list(BAD.values())
    sent = [
        kinds[(i // 4) % len(kinds)] if i % 4 == 3 else Bad(GOOD, JSON, 200) for i in range(count)
    ]

    async def everything() -> list[tuple[int, Any]]:
        return await asyncio.gather(*(_post(port, s.body, s.ctype) for s in sent))

    # In a thread of its own: a browser test earlier in the same worker can leave this
    # thread with a running event loop (Playwright's sync API), where asyncio.run refuses.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answers = pool.submit(asyncio.run, everything()).result()
    for request, (status, body) in zip(sent, answers, strict=True):
        assert status == request.status, body
        if status == 200:
            assert len(body["predictions"]) == 2
        else:
            assert _is_error(body) and request.says in body["message"]


def _rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in KiB."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += _rss_kib(int(child))
    return total


def test_1000_concurrent_requests_with_bad_ones_mixed_in(server: ServeProcess) -> None:
    _burst(server.port, 300)  # warm-up: imports, allocator pools, thread pool
    warm = _rss_kib(server.proc.pid)
    _burst(server.port, 1000)
    after = _rss_kib(server.proc.pid)
    assert after - warm < 50 * 1024, f"RSS grew from {warm} KiB to {after} KiB"
