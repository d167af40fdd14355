"""Reading and writing the store's two file formats: YAML records and metric histories.

YAML records are written whole to a temporary file and renamed into place, so a
reader sees the old record or the new one, never half of one.  Metric histories
are append-only text, one point per line: ``timestamp<TAB>value<TAB>step``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import stat
import threading
from itertools import repeat
from pathlib import Path
from typing import Any

import yaml

from mltrail.entities import Metric, MetricSummary
from mltrail.errors import CorruptedRecord

try:  # libyaml is in PyYAML's wheels; the pure-Python classes are the fallback.
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper


def dump_yaml(data: Any) -> str:
    """A record as block-style YAML with sorted keys.

    Records are mappings of strings, numbers, booleans, nulls and nested mappings; those
    are emitted directly (this is the hot path of every ``log_param``), anything else
    by PyYAML.  Either way ``yaml.safe_load`` gives back exactly ``data``.
    """
    lines: list[str] = []
    try:
        _emit_mapping(data, "", lines)
    except TypeError:
        return yaml.dump(
            data, Dumper=_Dumper, sort_keys=True, allow_unicode=True, default_flow_style=False
        )
    return "\n".join(lines) + "\n" if lines else "{}\n"


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
_NOT_PLAIN = frozenset(("yes", "no", "true", "false", "on", "off", "null", "y", "n"))
# Characters YAML does not allow raw in a document, or reads as line breaks in quotes.
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _NOT_PLAIN:
            return value
        text = json.dumps(value, ensure_ascii=False)
        return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    raise TypeError(type(value).__name__)


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
        text = text.replace("e", ".0e") if "e" in text else text + ".0"
    return text


def _emit_mapping(data: Any, indent: str, lines: list[str]) -> None:
    if not isinstance(data, dict):
        raise TypeError(type(data).__name__)
    for key in sorted(data):
        if not isinstance(key, str):
            raise TypeError(type(key).__name__)
        value = data[key]
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{_scalar(key)}:")
            _emit_mapping(value, indent + "  ", lines)
        elif _is_block_text(value):
            chomp = "" if value.endswith("\n") else "-"
            lines.append(f"{indent}{_scalar(key)}: |{chomp}")
            body = value[:-1] if value.endswith("\n") else value
            lines.extend(f"{indent}  {line}" if line else "" for line in body.split("\n"))
        else:
            shown = "{}" if isinstance(value, dict) else _scalar(value)
            lines.append(f"{indent}{_scalar(key)}: {shown}")


def _is_block_text(value: Any) -> bool:
    """Multi-line text (Markdown descriptions) reads and diffs best as a literal block."""
    return (
        isinstance(value, str)
        and "\n" in value.rstrip("\n")
        and not value.endswith("\n\n")
        and value[0] not in " \t\n"
        and "\r" not in value
        and _UNPRINTABLE.search(value) is None
        and not any(c < " " and c not in "\n\t" for c in value)
    )


def temp_path(path: Path) -> Path:
    """A temporary name beside ``path`` that no other thread or process will pick.

    Dot-prefixed and ``.tmp``-suffixed, so listings skip it and git ignores it.
    """
    token = secrets.token_hex(4)
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident():x}-{token}.tmp")


def write_atomic(path: Path, text: str | bytes) -> None:
    """Replace ``path`` with ``text`` in one rename (UTF-8, ``\\n`` line ends).

    The temporary file has a name of its own per call, so concurrent writers of one
    record never write into each other's file; the last rename wins whole.
    """
    tmp = temp_path(path)
    data = text.encode() if isinstance(text, str) else text
    fd = os.open(tmp, _CREATE_FLAGS, 0o644)
    try:
        try:
            while data:  # plain os calls: a record is written on every run start and end
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: The largest record file read (YAML records are a few KiB; metric histories are not
#: capped): a bigger file is refused as corrupted, so a hostile store cannot exhaust memory.
MAX_RECORD_BYTES = 16 * 1024 * 1024
_RECORD_FLAGS = _READ_FLAGS | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def read_bytes(path: Path | str, fd: int | None = None, limit: int | None = None) -> bytes:
    """The whole file (or the open ``fd``, from its start) in as few system calls as it takes.

    Opened by path, the file must be a regular file, not a symbolic link (a store cloned
    from someone else must not make us read outside it, or block on a pipe); ``limit``:
    refuse a file larger than this many bytes.  Both raise :class:`CorruptedRecord`.
    """
    own = fd is None
    if fd is None:
        fd = _open_plain(path)
    try:
        size = os.fstat(fd).st_size
        _check_size(path, size, limit)
        data = os.pread(fd, size + 1, 0)  # one byte more: notice a file that grew meanwhile
        if len(data) > size:
            parts = [data]
            read = len(data)
            while chunk := os.pread(fd, 1 << 16, read):
                parts.append(chunk)
                read += len(chunk)
                _check_size(path, read, limit)
            data = b"".join(parts)
        return data
    finally:
        if own:
            os.close(fd)


def _open_plain(path: Path | str) -> int:
    try:
        fd = os.open(path, _RECORD_FLAGS)
    except OSError as e:
        if e.errno == errno.ELOOP or (e.errno == errno.EMLINK and os.path.islink(path)):
            raise CorruptedRecord(
                f"{path}: is a symbolic link; store files must be plain files "
                "(replace the link with the file it points to)."
            ) from e
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CorruptedRecord(f"{path}: not a plain file; remove it.")
    return fd


def _check_size(path: Path | str, size: int, limit: int | None) -> None:
    if limit is not None and size > limit:
        raise CorruptedRecord(
            f"{path}: is larger than {limit} bytes, too large for a record; fix or remove the file."
        )


def write_yaml(path: Path, data: Any) -> None:
    write_atomic(path, dump_yaml(data))


class YamlRefused(yaml.YAMLError):
    """YAML that parses but is refused: it uses aliases (``*name``)."""


def parse_yaml(text: str) -> Any:
    """Load YAML text with the safe loader, refusing aliases.

    Aliases (``&a`` then ``*a``) let a few hundred bytes expand into billions of nodes
    (the "billion laughs"); no mltrail file needs them, so any alias is refused here.
    This is the one YAML loader of mltrail: records, configs, MLmodel and theme files.
    Raises ``yaml.YAMLError`` (or :class:`YamlRefused`, a subclass) for bad input.
    """
    if "*" in text:  # an alias needs a '*': only then look at the events
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                where = f" (line {mark.line + 1})" if mark is not None else ""
                raise YamlRefused(f"YAML aliases (*{event.anchor}) are not allowed{where}")
    try:
        return yaml.load(text, Loader=_Loader)
    except RecursionError as e:
        raise YamlRefused("YAML nested too deeply") from e


def read_yaml(path: Path) -> Any:
    """Parse a YAML record; a missing file raises FileNotFoundError, a bad one CorruptedRecord.

    Records larger than :data:`MAX_RECORD_BYTES`, links and aliases count as bad.
    """
    return parse_record(path, read_bytes(path, limit=MAX_RECORD_BYTES))


def parse_record(path: Path, data: bytes) -> Any:
    """The YAML record ``data`` read from ``path`` (named in errors); as :func:`read_yaml`."""
    try:
        text = data.decode()
    except UnicodeDecodeError as e:
        raise CorruptedRecord(
            f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); fix or remove the file."
        ) from e
    try:
        return parse_yaml(text)
    except YamlRefused as e:
        raise CorruptedRecord(f"{path}: {e}; fix or remove the file.") from e
    except yaml.YAMLError as e:
        raise CorruptedRecord(
            f"{path}: not valid YAML ({_first_line(e)}); fix or remove the file."
        ) from e


def read_mapping(path: Path, *, missing_ok: bool = True) -> dict[str, Any]:
    """A YAML file holding one mapping (``{}`` if missing and ``missing_ok``)."""
    try:
        data = read_yaml(path)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise
    return as_mapping(path, data)


def as_mapping(path: Path, data: Any) -> dict[str, Any]:
    """A parsed record that must be a mapping (``{}`` for an empty file)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CorruptedRecord(
            f"{path}: expected a mapping of keys to values, found {type(data).__name__}."
        )
    return data


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


# --- metric histories -------------------------------------------------------------


def format_point(timestamp: int, value: float, step: int) -> bytes:
    """One history line; ``repr`` keeps every float exactly and spells nan/inf."""
    return f"{timestamp}\t{value!r}\t{step}\n".encode()


Columns = tuple[list[int], list[float], list[int]]
_WELL_FORMED = re.compile(rb"(?:[^\t\n ]+\t[^\t\n ]+\t[^\t\n ]+\n)*")


def parse_columns(data: bytes) -> Columns:
    """(timestamps, values, steps) of a history; a last line cut short by a crash is skipped.

    The whole text is split at once (C speed); only a history with a damaged line takes
    the line-by-line path, which drops just the lines it cannot read.
    """
    end = data.rfind(b"\n")
    if end < 0:
        return [], [], []
    body = data[: end + 1]
    if _WELL_FORMED.fullmatch(body):  # every line has three tab-separated fields
        tokens = body.split()
        try:
            return (
                list(map(int, tokens[0::3])),
                list(map(float, tokens[1::3])),
                list(map(int, tokens[2::3])),
            )
        except ValueError:
            pass
    return _parse_lines(body)


def _parse_lines(body: bytes) -> Columns:
    times: list[int] = []
    values: list[float] = []
    steps: list[int] = []
    for line in body.split(b"\n"):
        try:
            ts, value, step = line.split(b"\t")
            point = (int(ts), float(value), int(step))
        except ValueError:
            continue  # a damaged line loses one point, never the history
        times.append(point[0])
        values.append(point[1])
        steps.append(point[2])
    return times, values, steps


def parse_points(key: str, data: bytes) -> list[Metric]:
    """The points of a history file, as Metric records."""
    times, values, steps = parse_columns(data)
    return list(map(Metric, repeat(key), values, times, steps))


def read_columns(path: Path, fd: int | None = None) -> Columns:
    """The columns of a history file; ``fd``: read through this open descriptor instead."""
    return parse_columns(read_bytes(path, fd))


def read_points(path: Path, key: str) -> list[Metric]:
    return parse_points(key, read_bytes(path))


def repair_tail(fd: int) -> None:
    """Cut a partial last line (left by a crash) so the next append starts clean."""
    size = os.fstat(fd).st_size
    if size == 0:
        return
    os.lseek(fd, max(0, size - 4096), os.SEEK_SET)
    tail = os.read(fd, 4096)
    if tail.endswith(b"\n"):
        return
    cut = tail.rfind(b"\n")
    keep = size - len(tail) + cut + 1 if cut >= 0 else (size - len(tail) if size > 4096 else 0)
    os.ftruncate(fd, keep)


def summarize(columns: Columns) -> MetricSummary | None:
    """MLflow's "latest" value (highest step, then timestamp, then value) plus min, max, count."""
    times, values, steps = columns
    if not values:
        return None
    top = max(steps)
    candidates = [i for i, s in enumerate(steps) if s == top]
    last = max(
        candidates, key=lambda i: (times[i], -math.inf if math.isnan(values[i]) else values[i])
    )
    finite = [v for v in values if v == v]
    return MetricSummary(
        latest=values[last],
        step=steps[last],
        timestamp=times[last],
        min=min(finite) if finite else math.nan,
        max=max(finite) if finite else math.nan,
        count=len(values),
    )


def summary_to_record(s: MetricSummary) -> dict[str, Any]:
    return {
        "latest": s.latest,
        "step": s.step,
        "timestamp": s.timestamp,
        "min": s.min,
        "max": s.max,
        "count": s.count,
    }


def summary_from_record(path: Path, key: str, rec: Any) -> MetricSummary:
    try:
        return MetricSummary(
            latest=float(rec["latest"]),
            step=int(rec["step"]),
            timestamp=int(rec["timestamp"]),
            min=float(rec["min"]),
            max=float(rec["max"]),
            count=int(rec["count"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptedRecord(f"{path}: metric {key!r} summary is malformed ({e}).") from e
