"""Reading files of an MLflow store on this machine without leaving it.

A store may come from anyone: links are never followed, values are read with a size cap,
metric histories are streamed line by line.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mltrail.interop.records import MAX_VALUE_BYTES, BadRun

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class LocalArtifact:
    """An artifact that is a plain file here (checked not to be a link)."""

    path: str
    size: int | None
    file: Path

    @contextlib.contextmanager
    def local(self, scratch: Path) -> Iterator[Path]:
        yield self.file


def read_value(path: Path) -> str:
    """A param or tag file's text (MLflow writes one value per file); ValueError if it
    is a link, not a plain file or larger than ``MAX_VALUE_BYTES``."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_VALUE_BYTES:
            raise ValueError(f"{path} is not a plain file of at most {MAX_VALUE_BYTES} bytes")
        return os.read(fd, MAX_VALUE_BYTES + 1).decode("utf-8")
    finally:
        os.close(fd)


def key_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(key, file) of every file under ``folder``: MLflow writes a key ``a/b`` as ``a/b``.

    Links and anything not a plain file or folder are left out (never followed).
    """
    pending = [(folder, "")]
    while pending:
        here, prefix = pending.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            key = prefix + e.name
            if e.is_dir(follow_symlinks=False):
                pending.append((Path(e.path), key + "/"))
            elif e.is_file(follow_symlinks=False):
                yield key, Path(e.path)


def read_values(folder: Path) -> dict[str, str]:
    """Every value file under ``folder`` (params, tags), key -> text."""
    return {key: read_value(path) for key, path in key_files(folder)}


def stream_points(path: Path) -> Iterator[tuple[int, float, int]]:
    """The points of an MLflow metric file (``timestamp value [step]`` lines), streamed.

    Lines that are not two or three numbers (or five: MLflow 3 adds a dataset) are
    skipped, as a reader of a crashed write would.
    """
    for parts in stream_lines(path):
        if len(parts) not in (2, 3, 5):
            continue
        try:
            step = int(parts[2]) if len(parts) >= 3 else 0
            yield int(parts[0]), float(parts[1]), step
        except ValueError:
            continue


def stream_lines(path: Path) -> Iterator[list[str]]:
    """The whitespace-separated fields of each line of a plain file (never a link),
    streamed; a line that is not UTF-8 is skipped."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError(f"{path} is not a plain file")
        for line in f:
            try:
                yield line.decode("utf-8").split()
            except UnicodeDecodeError:
                continue


def artifact_files(base: Path, prefix: str = "") -> Iterator[LocalArtifact | BadRun]:
    """Every plain file under ``base`` as an artifact (``prefix`` + its relative path);
    a link or a special file is reported, never followed."""
    if base.is_symlink():
        yield BadRun(str(base), "a symbolic link (never followed)")
        return
    pending = [(base, prefix)]
    while pending:
        here, rel = pending.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            path = rel + e.name
            if e.is_symlink():
                yield BadRun(e.path, "a symbolic link (never followed)")
            elif e.is_dir(follow_symlinks=False):
                pending.append((Path(e.path), path + "/"))
            elif e.is_file(follow_symlinks=False):
                yield LocalArtifact(path, e.stat(follow_symlinks=False).st_size, Path(e.path))
            else:
                yield BadRun(e.path, "not a plain file")
