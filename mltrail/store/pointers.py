"""Pointer files: ``<name>.mltrail-pointer``, a large artifact's hash, size and name.

A pointer is read from a store that may come from anyone (a clone, a pull request), so
it is checked before it is used: its ``sha256`` must be 64 lowercase hex digits (it
becomes a file name under the artifact store, never a path of its own), its ``size`` a
non-negative integer.  Anything else is a :class:`CorruptedRecord` naming the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mltrail.errors import CorruptedRecord
from mltrail.store import formats

#: A pointer is a few short lines; a larger file is not one (and is never read whole).
MAX_POINTER_BYTES = 4096
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class Pointer:
    """What a pointer file says: the content's SHA-256 (hex), its size and its file name."""

    sha256: str
    size: int
    name: str


def format_pointer(pointer: Pointer) -> str:
    """The YAML text of ``pointer`` (keys sorted, as every store record)."""
    return formats.dump_yaml({"name": pointer.name, "sha256": pointer.sha256, "size": pointer.size})


def parse_pointer(data: bytes, where: str | os.PathLike[str]) -> Pointer:
    """The pointer in ``data`` (the bytes of the file ``where``), or CorruptedRecord.

    >>> parse_pointer(b"name: a.bin\\nsha256: " + b"0" * 64 + b"\\nsize: 3\\n", "a").size
    3
    """
    where = os.fspath(where)
    if len(data) > MAX_POINTER_BYTES:
        raise _bad(where, f"larger than {MAX_POINTER_BYTES} bytes")
    try:
        record = yaml.safe_load(data.decode("utf-8"))
    except (ValueError, yaml.YAMLError, RecursionError) as e:  # ValueError: bad UTF-8, bad dates
        raise _bad(where, f"not UTF-8 YAML ({type(e).__name__})") from e
    if not isinstance(record, dict):
        raise _bad(where, f"expected a mapping, found {type(record).__name__}")
    return Pointer(_sha256(record, where), _size(record, where), _name(record, where))


def read_pointer(path: Path) -> Pointer:
    """Read and check the pointer file ``path`` (never following a symlink)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError as e:
        raise _bad(str(path), f"cannot be read ({e.strerror or e})") from e
    try:
        data = os.read(fd, MAX_POINTER_BYTES + 1)
    except OSError as e:
        raise _bad(str(path), f"cannot be read ({e.strerror or e})") from e
    finally:
        os.close(fd)
    return parse_pointer(data, path)


def _sha256(record: dict[Any, Any], where: str) -> str:
    digest = record.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise _bad(where, f"sha256 {_short(digest)} is not 64 lowercase hex digits")
    return digest


def _size(record: dict[Any, Any], where: str) -> int:
    size = record.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise _bad(where, f"size {_short(size)} is not a non-negative integer")
    return size


def _name(record: dict[Any, Any], where: str) -> str:
    name = record.get("name", "")
    if not isinstance(name, str):
        raise _bad(where, f"name {_short(name)} is not text")
    return name


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bad(where: str, why: str) -> CorruptedRecord:
    return CorruptedRecord(
        f"Invalid artifact pointer {where}: {why}. Restore the file from git "
        "or log the artifact again."
    )
