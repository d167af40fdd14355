"""Put the files of pages in the output folder, and remember what each page wrote.

A file whose bytes did not change is not rewritten (its mtime stays). The manifest
(``.mltrail-build.json``) remembers, per page, the digest of its inputs and the files
it wrote: a page whose digest is unchanged is not rendered again, and the files of
pages that are gone are removed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import urls
from ..errors import SiteBuildError

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PageResult:
    """What one page (with its data files) left in the output folder."""

    key: str
    digest: str
    #: Relative path → size of every file the page owns.
    files: Mapping[str, int]
    #: How many of those files were written (0: the page was unchanged).
    written: int
    rendered: bool


@dataclass(frozen=True)
class Manifest:
    #: Page key → (digest, {relative path: size}).
    pages: Mapping[str, tuple[str, Mapping[str, int]]] = field(default_factory=dict)

    @staticmethod
    def load(out: Path) -> Manifest:
        try:
            data = json.loads((out / urls.MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return Manifest()
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            return Manifest()
        pages = data.get("pages") or {}
        return Manifest({k: (v["digest"], v["files"]) for k, v in pages.items()})

    def fresh(self, out: Path, key: str, digest: str) -> PageResult | None:
        """The earlier result of page ``key`` if its digest matches and its files exist."""
        entry = self.pages.get(key)
        if entry is None or entry[0] != digest or not digest:
            return None
        files = entry[1]
        if files and not os.path.exists(f"{out}{os.sep}{next(iter(files))}"):
            return None  # its main file is gone (a stat per page: rebuilds stay cheap)
        return PageResult(key, digest, files, written=0, rendered=False)

    def save(self, out: Path, results: Iterable[PageResult]) -> None:
        pages = {
            r.key: {"digest": r.digest, "files": r.files}
            for r in sorted(results, key=lambda r: r.key)
        }
        # Not sort_keys: a page's files keep their order, its main file first. File names
        # come from the store, so <, > and & are escaped as in the data files.
        text = json.dumps({"version": MANIFEST_VERSION, "pages": pages}).translate(_ESCAPES)
        write_if_changed(out / urls.MANIFEST, text.encode() + b"\n")


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it holds exactly that already; True if written."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)  # in place: creating files is what costs most here
    return True


def copy_if_changed(src: Path, dest: Path) -> bool:
    """Copy ``src`` to ``dest`` unless ``dest`` has the same bytes; True if copied."""
    try:
        if dest.stat().st_size == src.stat().st_size and _same_bytes(src, dest):
            return False
    except FileNotFoundError:
        dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return True


def _same_bytes(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            chunk = fa.read(_CHUNK)
            if chunk != fb.read(_CHUNK):
                return False
            if not chunk:
                return True


class PageWriter:
    """Collects the files of one page as they are written."""

    def __init__(self, out: Path, key: str, digest: str) -> None:
        self.out = out
        self.key = key
        self.digest = digest
        self.files: dict[str, int] = {}
        self.written = 0

    def write(self, rel: str, data: bytes) -> None:
        if rel in self.files:
            raise SiteBuildError(f"Two outputs of {self.key} would both be written to {rel}.")
        self.written += write_if_changed(self.out / rel, data)
        self.files[rel] = len(data)

    def copy(self, rel: str, src: Path) -> None:
        self.written += copy_if_changed(src, self.out / rel)
        self.files[rel] = (self.out / rel).stat().st_size

    def result(self) -> PageResult:
        return PageResult(self.key, self.digest, self.files, self.written, rendered=True)


def remove_stale(out: Path, old: Manifest, results: Iterable[PageResult]) -> int:
    """Delete files an earlier build wrote that no page owns now; return how many."""
    keep = {rel for r in results for rel in r.files}
    gone = sorted({rel for _, files in old.pages.values() for rel in files} - keep)
    folders: set[Path] = set()
    for rel in gone:
        path = out / rel
        if path.is_file():
            path.unlink()
        folders.update(path.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder != out and out in folder.parents:
            with contextlib.suppress(OSError):  # only if empty
                folder.rmdir()
    return len(gone)


def clean_output(out: Path) -> None:
    """Empty ``out`` for ``--clean``: only a folder this tool built (or an empty one)."""
    if not out.exists():
        return
    if any(out.iterdir()) and not (out / urls.MANIFEST).is_file():
        raise SiteBuildError(
            f"Refusing to clean {out}: it is not empty and has no {urls.MANIFEST}, so it was "
            "not built by mltrail. Choose another output folder with -o."
        )
    for child in out.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
