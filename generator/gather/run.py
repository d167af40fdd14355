"""Gather one run in full: histories (downsampled), source record, artifact tree, previews.

Called only for run pages that are about to be rendered (their inputs changed).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mltrail.entities import Metric, Run
from mltrail.errors import InvalidParameterValue, MltrailError, ResourceNotFound, StoreError
from mltrail.store import FileStore
from mltrail.store.artifacts import RunArtifacts
from mltrail.store.runs import read_run_record

from .. import urls
from .inputs import LoggedRecord, RunInputs, read_inputs, read_logged_models
from .series import Series, downsample

log = logging.getLogger(__name__)

DIFF_ARTIFACT = "source/uncommitted.diff"
MAX_PREVIEWS = 30  # per run; later files get a download link only
MAX_ARTIFACT_DEPTH = 32  # folders nested deeper are left out of the page (with a warning)
TEXT_PREVIEW_BYTES = 32_000
MARKDOWN_PREVIEW_BYTES = 64_000
CSV_PREVIEW_BYTES = 64_000
CSV_PREVIEW_ROWS = 20
IMAGE_PREVIEW_BYTES = 5_000_000
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".avif"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
#: Text artifacts and the Pygments lexer that highlights them.
TEXT_LEXERS = {
    ".txt": "text",
    ".log": "text",
    ".out": "text",
    ".err": "text",
    ".rst": "rst",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".cfg": "ini",
    ".ini": "ini",
    ".py": "python",
    ".sh": "bash",
    ".sql": "sql",
    ".r": "r",
    ".diff": "diff",
    ".patch": "diff",
}
TEXT_NAMES = {"MLmodel": "yaml", "MLproject": "yaml", "Dockerfile": "docker"}


@dataclass(frozen=True)
class MetricHistory:
    key: str
    #: The full history sorted by (step, timestamp), for the CSV download.
    points: tuple[Metric, ...]
    #: The downsampled series the chart draws.
    series: Series


@dataclass(frozen=True)
class SourceRecord:
    name: str | None
    type: str | None
    host: str | None
    python: str | None
    platform: str | None
    git_commit: str | None
    git_branch: str | None
    git_repo_url: str | None
    git_dirty: bool | None


@dataclass(frozen=True)
class Preview:
    kind: str  # "image", "markdown", "text" or "csv"
    text: str = ""
    lexer: str = "text"
    rows: tuple[tuple[str, ...], ...] = ()
    truncated: bool = False


@dataclass(frozen=True)
class ArtifactNode:
    path: str
    name: str
    is_dir: bool
    size: int | None
    #: The file holding its bytes (a blob for a pointer); None for folders and missing blobs.
    source: Path | None
    preview: Preview | None
    children: tuple[ArtifactNode, ...]
    #: The URL of its blob in a remote artifact store, when the site holds no copy.
    remote_uri: str | None = None


@dataclass(frozen=True)
class RunDetail:
    run: Run
    description: str
    source: SourceRecord
    histories: tuple[MetricHistory, ...]
    artifacts: tuple[ArtifactNode, ...]
    #: The dirty work tree's diff (artifact ``source/uncommitted.diff``), if logged.
    diff: str | None
    #: MLflow 3's logged models of the run, with their linked metrics.
    logged_models: tuple[LoggedRecord, ...] = ()
    #: The datasets and models the run used.
    inputs: RunInputs = field(default_factory=RunInputs)


def gather_run(
    store: FileStore,
    run: Run,
    artifact_store: Path | None = None,
    remote_copy_limit: int | None = None,
) -> RunDetail:
    """One run in full. Artifacts in a remote artifact store are copied (fetched) only
    up to ``remote_copy_limit`` bytes each; by default (None) none is, and nothing
    reaches the network."""
    run_id = run.info.run_id
    record = read_run_record(store.run_path(run_id))
    arts = store.artifacts(run_id, artifact_store, offline=remote_copy_limit is None)
    budget = [MAX_PREVIEWS]
    tree = _tree(arts, "", budget, remote_copy_limit)
    diff_source = find_node(tree, DIFF_ARTIFACT)
    diff = None
    if diff_source is not None and diff_source.source is not None:
        diff = _read_text(diff_source.source, TEXT_PREVIEW_BYTES * 8)[0]
    return RunDetail(
        run=run,
        description=str(record.get("description") or ""),
        source=_source(record.get("source")),
        histories=tuple(_history(store, run_id, key) for key in sorted(run.data.metrics)),
        artifacts=tree,
        diff=diff,
        logged_models=read_logged_models(store.run_path(run_id)),
        inputs=read_inputs(store.run_path(run_id)),
    )


def _source(value: Any) -> SourceRecord:
    src = value if isinstance(value, dict) else {}

    def text(key: str) -> str | None:
        v = src.get(key)
        return None if v is None else str(v)

    dirty = src.get("git_dirty")
    return SourceRecord(
        name=text("name"),
        type=text("type"),
        host=text("host"),
        python=text("python"),
        platform=text("platform"),
        git_commit=text("git_commit"),
        git_branch=text("git_branch"),
        git_repo_url=text("git_repo_url"),
        git_dirty=None if dirty is None else bool(dirty),
    )


def _history(store: FileStore, run_id: str, key: str) -> MetricHistory:
    try:
        found = store.get_metric_history(run_id, key)
    except MltrailError as e:  # a history that cannot be read costs only its chart
        log.warning("skipping an unreadable metric history: %s", e)
        found = []
    points = sorted(found, key=lambda m: (m.step, m.timestamp, m.value))
    series = downsample(
        [m.step for m in points], [m.timestamp for m in points], [m.value for m in points]
    )
    return MetricHistory(key, tuple(points), series)


def _tree(
    arts: RunArtifacts, rel: str, budget: list[int], limit: int | None, depth: int = 0
) -> tuple[ArtifactNode, ...]:
    """The artifact tree under ``rel``; links and invalid pointers are left out, warned
    about by name (a store may come from anyone: one bad file costs only its own entry)."""
    if depth > MAX_ARTIFACT_DEPTH:
        log.warning(
            "Skipped artifact folder %r of run %s: deeper than %d folders.",
            rel,
            arts.base.parent.name,
            MAX_ARTIFACT_DEPTH,
        )
        return ()
    try:
        listing = arts.list_dir(rel)
    except (StoreError, InvalidParameterValue) as e:  # e.g. the artifacts folder is a link
        log.warning("Skipped the artifacts of run %s: %s", arts.base.parent.name, e)
        return ()
    nodes = []
    for info in listing:
        name = PurePosixPath(info.path).name
        if info.is_dir:
            children = _tree(arts, info.path, budget, limit, depth + 1)
            nodes.append(ArtifactNode(info.path, name, True, None, None, None, children))
            continue
        try:
            remote = arts.remote_uri(info.path)
            source = _content(arts, info.path, remote, limit, info.file_size or 0)
        except (StoreError, InvalidParameterValue) as e:  # a link or bad pointer: skip it
            log.warning("Skipped artifact %r of run %s: %s", info.path, arts.base.parent.name, e)
            continue
        preview = None
        if source is not None and budget[0] > 0:
            preview = make_preview(source, name, info.file_size or 0)
            budget[0] -= preview is not None
        shown_uri = remote if source is None else None
        node = ArtifactNode(info.path, name, False, info.file_size, source, preview, (), shown_uri)
        nodes.append(node)
    return tuple(nodes)


def _content(
    arts: RunArtifacts, path: str, remote: str | None, limit: int | None, size: int
) -> Path | None:
    """The file with artifact ``path``'s bytes for the site, or None (not copied).

    A remote one is fetched only when its size is within ``limit``; a failed fetch is
    warned about and leaves its URL on the page.
    """
    if remote is not None and (limit is None or size > limit):
        return None
    try:
        return arts.content_path(path)
    except ResourceNotFound:
        return None
    except StoreError as e:
        if remote is None:
            raise
        log.warning("Could not copy remote artifact %r: %s", path, e)
        return None


def find_node(nodes: Sequence[ArtifactNode], path: str) -> ArtifactNode | None:
    """The node at ``path`` in an artifact tree, or None."""
    for node in nodes:
        if node.path == path:
            return node
        if node.is_dir and path.startswith(node.path + "/"):
            return find_node(node.children, path)
    return None


def make_preview(source: Path, name: str, size: int) -> Preview | None:
    """What the run page shows inline for this file (None: a download link only)."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in urls.ACTIVE_SUFFIXES:
        return None  # never inline content a browser would run
    if suffix in IMAGE_SUFFIXES:
        return Preview("image") if size <= IMAGE_PREVIEW_BYTES else None
    if suffix in MARKDOWN_SUFFIXES:
        text, cut = _read_text(source, MARKDOWN_PREVIEW_BYTES)
        return None if text is None else Preview("markdown", text=text, truncated=cut)
    if suffix in CSV_SUFFIXES:
        return _csv_preview(source, CSV_SUFFIXES[suffix])
    lexer = TEXT_LEXERS.get(suffix) or TEXT_NAMES.get(name)
    if lexer is None:
        return None
    text, cut = _read_text(source, TEXT_PREVIEW_BYTES)
    return None if text is None else Preview("text", text=text, lexer=lexer, truncated=cut)


def _read_text(path: Path, limit: int) -> tuple[str | None, bool]:
    """Up to ``limit`` bytes of ``path`` as text (None for binary), and whether it was cut."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    cut = len(data) > limit
    data = data[:limit]
    if b"\0" in data:
        return None, cut
    text = data.decode("utf-8", errors="replace")
    if cut and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # do not show half a line
    return text, cut


def _csv_preview(path: Path, delimiter: str) -> Preview | None:
    text, cut = _read_text(path, CSV_PREVIEW_BYTES)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[tuple[str, ...]] = []
    for row in reader:
        if len(rows) > CSV_PREVIEW_ROWS:  # the header and 20 rows
            cut = True
            break
        rows.append(tuple(row))
    return Preview("csv", rows=tuple(rows), truncated=cut)
