"""Batch scoring: ``mltrail models predict``, MLflow's ``mlflow models predict``.

CSV and Parquet inputs are scored in chunks of rows, so a file larger than memory scores
in bounded memory; a JSON input (one request body of the scoring protocol) is read whole,
as MLflow reads it. The output is MLflow's: ``{"predictions": [...]}``, in the input's
row order. It is written to a temporary file beside the output and moved into place
only when every row has been scored, so a bad row never leaves half an output: it fails
with its row number and the model's message naming the column.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from mltrail.errors import InvalidParameterValue
from mltrail.models import ModelSchemaError
from mltrail.serving import protocol
from mltrail.serving.casting import BadValue, to_signature_types

FORMATS = ("json", "csv", "parquet")
#: Rows scored at once: small enough for bounded memory, large enough to stay fast.
CHUNK_ROWS = 10_000
#: Called with the bytes of the input read so far (for a progress bar).
Progress = Callable[[int], None]


class BadRow(InvalidParameterValue):
    """A row the model refuses: its number (1 = the first data row) and why."""


def predict_file(
    model: Any,
    input_path: Path | None,
    output_path: Path | None,
    content_type: str = "json",
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> int:
    """Score ``input_path`` (stdin when None) with ``model`` into ``output_path`` (stdout).

    Args:
        model: a loaded pyfunc model (``mltrail.pyfunc.load_model``).
        input_path: the input file, or None for standard input.
        output_path: where the predictions go, or None for standard output.
        content_type: ``json``, ``csv`` or ``parquet``.
        chunk_rows: rows scored at once (CSV and Parquet).
        progress: called with the input bytes read so far.

    Returns:
        The number of rows scored.
    """
    if content_type not in FORMATS:
        raise InvalidParameterValue(
            f"Unknown input type {content_type!r}: use one of {', '.join(FORMATS)}."
        )
    with _spooled(output_path) as out:
        out.write('{"predictions": [')
        rows = 0
        schema = model.metadata.get_input_schema()
        for chunk, params in _chunks(input_path, content_type, chunk_rows, progress, schema):
            if content_type == "csv":
                chunk = _numbers(chunk, schema, first_row=rows + 1)
            predictions = _predict(model, chunk, params, first_row=rows + 1)
            items = protocol.jsonable(predictions)
            if not isinstance(items, list):
                items = [items]
            if items:  # one dumps per chunk: the list's items, without its brackets
                out.write(", " if rows else "")
                out.write(json.dumps(items, default=protocol.json_default)[1:-1])
                rows += len(items)
        out.write("]}\n")
    return rows


def _chunks(
    input_path: Path | None,
    content_type: str,
    chunk_rows: int,
    progress: Progress | None,
    schema: Any,
) -> Iterator[tuple[Any, dict[str, Any] | None]]:
    import pandas as pd

    with _opened(input_path) as f:
        if content_type == "json":
            try:
                request = protocol.parse_json(f.read(), schema)
            except protocol.ScoringError as e:
                raise InvalidParameterValue(e.message.replace("request body", "input")) from None
            yield request.data, request.params
        elif content_type == "csv":
            try:
                for chunk in pd.read_csv(f, chunksize=chunk_rows, encoding="utf-8"):
                    yield chunk, None
                    if progress:
                        progress(f.tell())
            except UnicodeDecodeError:
                raise InvalidParameterValue(
                    "The input is not UTF-8 text; save it as UTF-8."
                ) from None
            except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
                raise InvalidParameterValue(
                    f"The input is not a CSV table with a header: {e}"
                ) from None
        else:
            yield from _parquet_chunks(f, chunk_rows, progress)


def _parquet_chunks(
    f: IO[bytes], chunk_rows: int, progress: Progress | None
) -> Iterator[tuple[Any, dict[str, Any] | None]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidParameterValue(
            "Reading Parquet needs pyarrow: pip install pyarrow (or convert the input to CSV)."
        ) from None
    try:
        reader = pq.ParquetFile(f)
        for batch in reader.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas(), None
            if progress:
                progress(f.tell())
    except (OSError, ValueError) as e:
        raise InvalidParameterValue(f"The input is not a Parquet file: {e}") from None


def _numbers(chunk: Any, schema: Any, first_row: int) -> Any:
    """CSV columns the signature says are numbers, read as text because one value is not
    a number: that value's row and column fail the scoring; otherwise they are numbers."""
    try:
        return to_signature_types(chunk, schema)
    except BadValue as e:
        raise BadRow(f"Row {first_row + e.row} of the input: {e}.") from None


def _predict(model: Any, chunk: Any, params: dict[str, Any] | None, first_row: int) -> Any:
    try:
        return model.predict(chunk, params) if params else model.predict(chunk)
    except ModelSchemaError as e:
        row = _first_bad_row(model, chunk)
        where = f"Row {first_row + row}" if row is not None else f"Rows from {first_row}"
        raise BadRow(f"{where} of the input: {e}") from None


def _first_bad_row(model: Any, chunk: Any) -> int | None:
    """The index (0-based) of the first row of ``chunk`` the model's signature refuses."""
    import pandas as pd

    if not isinstance(chunk, pd.DataFrame):
        return None
    schema = model.metadata.get_input_schema()
    if schema is None:
        return None
    from mltrail.models.enforce import enforce_schema

    for i in range(len(chunk)):
        try:
            enforce_schema(chunk.iloc[i : i + 1], schema)
        except ModelSchemaError:
            return i
    return None


@contextlib.contextmanager
def _opened(input_path: Path | None) -> Iterator[IO[bytes]]:
    if input_path is None:
        yield sys.stdin.buffer
        return
    try:
        f = open(input_path, "rb")  # noqa: SIM115 (closed below, after the chunks)
    except OSError as e:
        raise InvalidParameterValue(f"Cannot read the input {input_path}: {e.strerror}.") from None
    with f:
        yield f


@contextlib.contextmanager
def _spooled(output_path: Path | None) -> Iterator[IO[str]]:
    """A temporary file beside the output, moved into place (or copied to stdout) only
    when everything was written; removed on failure."""
    folder = output_path.parent if output_path is not None else None
    fd, tmp = tempfile.mkstemp(prefix=".mltrail-predict-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yield out
        if output_path is None:
            with open(tmp, encoding="utf-8") as done:
                shutil.copyfileobj(done, sys.stdout)
        else:
            os.replace(tmp, output_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
