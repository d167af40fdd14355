"""``FileStore``: the one object that reads and writes a store folder."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mltrail import git, search_syntax, validation
from mltrail.entities import Experiment, LifecycleStage, Metric, Run, RunStatus, ViewType
from mltrail.errors import (
    CorruptedRecord,
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceNotFound,
    StoreError,
)
from mltrail.store import blobs, formats, index, indexfile, layout, locks, runs, signatures
from mltrail.store.artifacts import RunArtifacts
from mltrail.store.committer import Committer
from mltrail.store.config import StoreConfig, load_config
from mltrail.store.experiments import ExperimentStore
from mltrail.store.index import RunIndex, read_only_index_cache
from mltrail.store.registry import RegistryFiles
from mltrail.store.sync import AutoSync
from mltrail.store.writer import RunWriter

log = logging.getLogger(__name__)
T = TypeVar("T")
#: A hidden run folder older than this was left by a killed ``create_run``.
_LEFTOVER_AGE_MS = 10 * 60 * 1000
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class FileStore:
    """A store rooted at ``root`` (the folder holding ``mltrail-store.yaml``)."""

    def __init__(self, root: Path, *, read_only: bool = False) -> None:
        # absolute: URIs are made from it, and a later chdir must not move the store
        root = self.root = Path(os.path.abspath(root))
        #: Opened to read only (``open_read_only``): no write, and no cache in the store.
        self.read_only = read_only
        try:
            self.config: StoreConfig = load_config(root)
        except FileNotFoundError:
            raise StoreError(
                f"{root} is not an mltrail store (no {layout.MARKER}); "
                f"create one with `mltrail init {root}`."
            ) from None
        self.experiments = ExperimentStore(root)
        self.index = RunIndex(root, cache=read_only_index_cache(root) if read_only else None)
        self._writers: dict[str, RunWriter] = {}
        self._writers_lock = threading.Lock()
        self._committer: Committer | None = None
        self._autosync: AutoSync | None = None
        #: Runs started or resumed by this process and not ended yet.
        self._live: set[str] = set()
        self.repo_root = git.find_repo_root(root)
        #: Blob stores by location, made on first use (a remote one keeps its connections).
        self._blob_stores: dict[str, blobs.Blobs] = {}

    @classmethod
    def open_read_only(cls, root: Path, *, keep_cache: bool = True) -> FileStore:
        """The store at ``root`` for a reader that must leave it as it is (a site build):
        every write raises, and the run index's cache lives in the user's cache folder
        (``keep_cache``; else in memory only, e.g. for a temporary export of the store)."""
        store = cls(root, read_only=True)
        if not keep_cache:
            store.index = RunIndex(root, cache=False)
        return store

    @functools.cached_property
    def registry_files(self) -> RegistryFiles:
        """The registry's records, with their parsed versions cached for this store object."""
        return RegistryFiles(self.root)

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(
                f"The store {self.root} is open read-only here (a site build never writes "
                "to it); log or change records with the mltrail API or CLI instead."
            )

    # -- git ---------------------------------------------------------------------
    def record_change(self, paths: Sequence[Path], message: str) -> None:
        """Commit ``paths`` in the background, if auto-commit is on and the store is in git."""
        self._check_writable()
        if not self.config.auto_commit or self.repo_root is None:
            return
        if self._committer is None:
            self._committer = Committer(self.repo_root)
        self._committer.submit(list(paths), message)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for background commits; False if they did not all finish."""
        return True if self._committer is None else self._committer.flush(timeout)

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait for background syncs (`sync: auto`); False if they did not all finish."""
        return True if self._autosync is None else self._autosync.wait(timeout)

    def commit_pending(self, message: str | None = None) -> str | None:
        """Commit every uncommitted change under the store (``mltrail commit``)."""
        if self.repo_root is None:
            raise StoreError(
                f"The store {self.root} is not inside a git repository; run `git init` there."
            )
        self.flush()
        paths = git.pending_paths(self.repo_root, self.root)
        if not paths:
            return None
        # The store folder as one path: git matches every path given against every index
        # entry, so naming 80,000 files took minutes; the folder stages the same changes.
        return git.commit_paths(
            self.repo_root,
            [self.root],
            message or f"mltrail: commit {len(paths)} pending store files",
        )

    # -- experiments -------------------------------------------------------------
    def create_experiment(
        self, name: str, tags: dict[str, Any] | None = None, artifact_location: str | None = None
    ) -> Experiment:
        self._check_writable()
        exp = self.experiments.create(name, tags, artifact_location=artifact_location)
        self._experiment_changed(exp, f"Create experiment {exp.name!r} ({exp.experiment_id})")
        return exp

    def update_experiment(self, experiment_id: str, what: str, **changes: Any) -> Experiment:
        self._check_writable()
        exp = self.experiments.update(experiment_id, **changes)
        self._experiment_changed(exp, f"{what} experiment {exp.name!r} ({exp.experiment_id})")
        return exp

    def delete_experiment_tag(self, experiment_id: str, key: str) -> Experiment:
        self._check_writable()
        exp = self.experiments.delete_tag(experiment_id, key)
        self._experiment_changed(exp, f"Delete tag {key!r} of experiment {exp.name!r}")
        return exp

    def _experiment_changed(self, exp: Experiment, message: str) -> None:
        self.record_change([layout.experiment_dir(self.root, exp.experiment_id)], message)

    # -- runs: reading -------------------------------------------------------------
    def run_path(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
            raise InvalidParameterValue(
                f"Invalid run id {run_id!r}: run ids are 32 hexadecimal digits."
            )
        return layout.run_dir(self.root, run_id)

    def _existing_run_path(self, run_id: str) -> Path:
        path = self.run_path(run_id)
        if not (path / layout.RUN_FILE).is_file():
            raise ResourceNotFound(f"No run with id {run_id!r} in the store {self.root}.")
        return path

    def run_folders(self) -> dict[str, str]:
        """Run id → its folder (a plain path), from one listing of the store's runs: for
        :meth:`run_signatures` of the same moment."""
        return dict(layout.iter_run_folders(os.fspath(self.root)))

    def run_signatures(
        self,
        runs: Iterable[tuple[str, bool]],
        folders: Mapping[str, str] | None = None,
        inputs: set[str] | None = None,
        listings: Mapping[str, signatures.Listing] | None = None,
        changes: dict[str, signatures.Listing | None] | None = None,
    ) -> dict[str, str]:
        """Run id → a digest that changes whenever a file of the run changes (see
        :mod:`mltrail.store.signatures`), for (run id, ended) pairs of runs just read
        by :meth:`all_runs` or :meth:`run_rows`; ``folders`` as :meth:`run_folders`.
        ``inputs``, when given, receives the ids of those runs whose folder holds an
        inputs record (``mltrail.store.inputs``); ``listings`` and ``changes``: the run
        folders' listings kept between passes (:meth:`folder_listings`)."""
        if folders is None:
            folders = self.run_folders()
        return signatures.run_signatures(folders, self.index, runs, inputs, listings, changes)

    def folder_listings(self) -> signatures.FolderListings:
        """The run folders' listings kept beside the run index's cache (read now)."""
        return signatures.FolderListings(self.index)

    def run_signature(self, run_id: str) -> str:
        """The signature of one run's folder, read in full ("" for an invalid id)."""
        try:
            return signatures.folder_signature(os.fspath(self.run_path(run_id)))
        except InvalidParameterValue:
            return ""

    def model_signature(self, name: str) -> str:
        """A digest that changes whenever a file of registered model ``name`` changes."""
        return signatures.folder_signature(os.fspath(layout.model_dir(self.root, name)))

    def get_run(self, run_id: str) -> Run:
        run = runs.load_run(self._existing_run_path(run_id))
        return _rehome([run], self.experiments.aliases())[0]

    def all_runs(self) -> list[Run]:
        return _rehome(self._through_index(index.RunRows.runs), self.experiments.aliases())

    def run_rows(self) -> index.RunRows:
        """Every readable run as rows of the run index: values by column, each run built
        only when asked for (``RunRows``). Runs of an experiment merged into another
        keep their own experiment id here (see ``experiments.aliases``)."""
        return self._through_index(lambda rows: rows)

    def _through_index(self, use: Callable[[index.RunRows], T]) -> T:
        """``use`` applied to every readable run, as rows of the run index (a run is built
        when asked for); once more from the files if the index's cache proves damaged."""
        try:
            return use(self._scan_runs())
        except indexfile.DamagedCache as e:
            log.warning("the run index's cache is damaged (%s); reading the runs again", e)
            self.index.forget()
            return use(self._scan_runs())

    def _scan_runs(self) -> index.RunRows:
        rows, errors = self.index.scan()
        for error in errors:
            log.warning("skipping an unreadable run: %s", error)
        return rows

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[Run]:
        from mltrail import search

        stages = ViewType.stages(run_view_type)
        aliases = self.experiments.aliases()
        ids = None if experiment_ids is None else [str(e) for e in experiment_ids]
        wanted = None if ids is None else {aliases.get(e, e) for e in ids}

        def find(rows: index.RunRows) -> list[Run]:
            stage = rows.values(search_syntax.ATTRIBUTE, "lifecycle_stage")
            experiment = rows.values(search_syntax.ATTRIBUTE, "experiment_id")

            def candidate(row: int) -> bool:
                if stage(row) not in stages:
                    return False
                return wanted is None or aliases.get(e := experiment(row), e) in wanted

            picked = search.select(rows, filter_string, order_by, max_results, where=candidate)
            return rows.runs(picked)

        with index.no_gc():  # one full collection walked 100,000 rows' objects: 0.12 s
            return _rehome(self._through_index(find), aliases)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of metric ``key`` of a run (``[]`` if it logged none).

        The key is checked like a logged one, and the file must lie inside the run's
        ``metrics/`` folder: a key or a linked folder cannot make this read elsewhere.
        """
        validation.validate_read_key("metric", key)
        run_path = self._existing_run_path(run_id)
        path = layout.metric_path(run_path, key)
        if "/" in key:  # a linked folder on the way would lead out of the store
            base = os.path.realpath(run_path / layout.METRICS_DIR)
            if not os.path.realpath(path.parent).startswith(base + os.sep):
                raise CorruptedRecord(
                    f"{path.parent}: leads outside the run's metrics folder (a symbolic "
                    "link?); replace it with a plain folder."
                )
        try:
            return formats.read_points(path, key)
        except FileNotFoundError:
            return []

    @property
    def artifact_store_path(self) -> Path:
        """The folder of large artifacts (``artifact_store``, resolved against the root);
        for a remote ``artifact_store``, the local cache of its blobs."""
        folder = blobs.local_folder(self.config.artifact_store, self.root)
        return blobs.cache_folder(self.root) if folder is None else folder

    def blob_store(self, location: str | None = None) -> blobs.Blobs:
        """The blob store at ``location`` (default: the store's ``artifact_store``).

        Opening one touches no network; a remote one is reached on its first read or write.
        """
        loc = location or self.config.artifact_store
        with self._writers_lock:
            found = self._blob_stores.get(loc)
            if found is None:
                found = self._blob_stores[loc] = blobs.open_blobs(loc, self.root)
            return found

    def artifacts(
        self, run_id: str, artifact_store: Path | None = None, *, offline: bool = False
    ) -> RunArtifacts:
        """The artifacts of a run.

        Their large files are in the blob store of the run's experiment (its
        ``artifact_location``), else in the store's ``artifact_store``; when that is a
        folder, ``artifact_store`` replaces it if given. ``offline``: remote blobs read
        as absent, and nothing touches the network.
        """
        path = self._existing_run_path(run_id)
        own = self._experiment_blobs(path)
        found = self.blob_store(own)
        store: Path | blobs.Blobs = found
        if artifact_store is not None and own is None and not found.remote:
            store = artifact_store
        return RunArtifacts(
            path,
            store,
            self.config.large_artifact_threshold,
            all_to_store=self.config.artifact_store_files == "all",
            offline=offline,
        )

    def run_blob_store(self, run_path: Path) -> blobs.Blobs:
        """The blob store of the run at ``run_path``: its experiment's own location, else
        the store's ``artifact_store`` (no network)."""
        return self.blob_store(self._experiment_blobs(run_path))

    def _experiment_blobs(self, run_path: Path) -> str | None:
        """The own artifact location of the experiment of the run at ``run_path``."""
        eid = runs.read_run_record(run_path).get("experiment_id")
        try:
            return self.experiments.blob_location(str(eid))
        except ResourceNotFound:
            return None

    # -- runs: writing ---------------------------------------------------------------
    def create_run(self, experiment_id: str, record: dict[str, Any], tags: dict[str, str]) -> Run:
        self._check_writable()
        exp = self.experiments.get(experiment_id)
        if exp.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(
                f"Experiment {exp.name!r} ({exp.experiment_id}) is deleted; restore it first "
                f"(`mltrail experiments restore {exp.experiment_id}`)."
            )
        run_id = layout.new_run_id(record.get("start_time"))
        rec = {
            "run_id": run_id,
            "experiment_id": exp.experiment_id,
            "lifecycle_stage": "active",
            **record,
        }
        path = self._make_run_folder(run_id, rec, tags)
        self._live.add(run_id)
        self._writers[run_id] = RunWriter(self.root, path, run_id)
        return runs.build_run(path, rec, {})

    def import_run(
        self,
        run_id: str,
        record: dict[str, Any],
        params: dict[str, str],
        tags: dict[str, str],
    ) -> RunWriter:
        """Write a run brought from another tracking system (``mltrail import mlflow``),
        keeping what ``create_run`` would set itself: its id, times, status, user and
        lifecycle (``record`` holds every run.yaml field but ``run_id``).

        The run folder appears whole (params and tags included) or not at all; add its
        metric histories and artifacts with the writer returned and ``artifacts()``,
        then call :meth:`finish_import`. Nothing is committed: the importer commits
        everything it brought in one commit.

        Raises:
            ResourceAlreadyExists: the store has a run with this id.
            InvalidParameterValue: a bad run id, param or tag.
        """
        self._check_writable()
        path = self.run_path(run_id)
        if path.exists():
            raise ResourceAlreadyExists(f"The store has a run with id {run_id} already.")
        self.experiments.get(str(record["experiment_id"]))  # it must exist (any stage)
        checked = {
            validation.validate_key("param", k): validation.validate_param_value(k, v)
            for k, v in params.items()
        }
        for key, value in tags.items():
            validation.validate_tag_value(validation.validate_key("tag", key), value)
        self._make_run_folder(run_id, {"run_id": run_id, **record}, tags, checked)
        writer = RunWriter(self.root, path, run_id)
        self._writers[run_id] = writer
        return writer

    def finish_import(self, run_id: str) -> Path:
        """Write the metric summary of a run made by :meth:`import_run` and close its
        files; its folder is returned (for the importer's commit)."""
        path = self._existing_run_path(run_id)
        w = self._writers.get(run_id)
        self.update_run(
            run_id, metrics=runs.summaries_record(path, w.open_histories() if w else None)
        )
        self._close_writer(run_id)
        return path

    def abort_import(self, run_id: str) -> None:
        """Remove a run :meth:`import_run` made whose import failed half-way (so that a
        later import brings it whole rather than skipping it as present)."""
        self._close_writer(run_id)
        shutil.rmtree(self.run_path(run_id), ignore_errors=True)

    def _make_run_folder(
        self,
        run_id: str,
        rec: dict[str, Any],
        tags: dict[str, str],
        params: dict[str, str] | None = None,
    ) -> Path:
        """Write the run's first files in a hidden folder, then rename it into place.

        A process killed meanwhile leaves only ``.<run id>.tmp`` (skipped by listings,
        removed by ``gc``), never a run folder without its ``run.yaml``.
        """
        path = layout.run_dir(self.root, run_id)
        tmp = path.with_name(f".{run_id}{layout.TMP_SUFFIX}")
        tmp.mkdir(parents=True)
        try:
            formats.write_yaml(tmp / layout.RUN_FILE, rec)
            if tags:
                formats.write_yaml(tmp / layout.TAGS_FILE, tags)
            if params:
                formats.write_yaml(tmp / layout.PARAMS_FILE, params)
            os.rename(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    def resume_run(self, run_id: str) -> Run:
        """Mark an existing run RUNNING again (``start_run(run_id=...)``)."""
        run = self.get_run(run_id)
        if run.info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidParameterValue(f"Run {run_id} is deleted; restore it before resuming it.")
        self.update_run(run_id, status=RunStatus.RUNNING, end_time=None)
        self._live.add(run_id)
        return self.get_run(run_id)

    def writer(self, run_id: str) -> RunWriter:
        self._check_writable()
        w = self._writers.get(run_id)
        if w is None:
            with self._writers_lock:
                w = self._writers.get(run_id)
                if w is None:
                    w = RunWriter(self.root, self._existing_run_path(run_id), run_id)
                    self._writers[run_id] = w
        return w

    def update_run(self, run_id: str, **fields: Any) -> dict[str, Any]:
        """Change fields of run.yaml (status, end_time, run_name, description ...)."""
        self._check_writable()
        path = self._existing_run_path(run_id)
        with locks.hold_record(self.root, path / layout.RUN_FILE):
            rec = runs.read_run_record(path)  # re-read: another process may have changed it
            rec.update(fields)
            formats.write_yaml(path / layout.RUN_FILE, rec)
        return rec

    def end_run(self, run_id: str, status: str, end_time: int | None = None) -> None:
        """Mark a run ended, write its metric summary, close its files and commit it."""
        if status not in RunStatus.TERMINAL:
            raise InvalidParameterValue(
                f"Invalid end status {status!r}: use one of {', '.join(RunStatus.TERMINAL)}."
            )
        path = self._existing_run_path(run_id)
        w = self._writers.get(run_id)
        rec = self.update_run(
            run_id,
            status=status,
            end_time=end_time or int(time.time() * 1000),
            metrics=runs.summaries_record(path, w.open_histories() if w else None),
        )
        self._close_writer(run_id)
        self._live.discard(run_id)
        name = rec.get("run_name") or run_id
        self.record_change(
            [path], f"Run {name} {status.lower()} ({run_id}, experiment {rec['experiment_id']})"
        )
        self._sync_if_auto()

    def _sync_if_auto(self) -> None:
        """With `sync: auto` (and auto-commit), push the store in the background."""
        if self.config.sync != "auto" or not self.config.auto_commit or self.repo_root is None:
            return
        if self._autosync is None:
            self._autosync = AutoSync(self)
        self._autosync.request()

    def _close_writer(self, run_id: str) -> None:
        with self._writers_lock:
            w = self._writers.pop(run_id, None)
        if w is not None:
            w.close()

    def after_write_if_ended(self, run_id: str, what: str) -> None:
        if run_id not in self._live:
            self.after_write(run_id, what)

    def after_write(self, run_id: str, what: str) -> None:
        """Keep a change to an ended run consistent: refresh its summary and commit it."""
        path = self.run_path(run_id)
        rec = runs.read_run_record(path)
        if RunStatus.is_terminated(rec["status"]):
            self._close_writer(run_id)
            self.update_run(run_id, metrics=runs.summaries_record(path))
            self.record_change([path], f"{what} of run {rec.get('run_name') or run_id} ({run_id})")

    def set_lifecycle(self, run_id: str, stage: str) -> None:
        extra = (
            {"deleted_time": int(time.time() * 1000)}
            if stage == LifecycleStage.DELETED
            else {"deleted_time": None}
        )
        rec = self.update_run(run_id, lifecycle_stage=stage, **extra)
        verb = "Delete" if stage == LifecycleStage.DELETED else "Restore"
        self.record_change(
            [self.run_path(run_id)], f"{verb} run {rec.get('run_name') or run_id} ({run_id})"
        )

    def gc(self, older_than_ms: int | None = None) -> list[str]:
        self._check_writable()
        """Remove the folders of deleted runs (and commit the removal); return their ids."""
        cutoff = int(time.time() * 1000) - (older_than_ms or 0)
        purged = []
        for run_path in layout.iter_run_dirs(self.root):
            try:
                rec = runs.read_run_record(run_path)
            except (StoreError, FileNotFoundError):
                continue
            if (
                rec.get("lifecycle_stage") == LifecycleStage.DELETED
                and (rec.get("deleted_time") or 0) <= cutoff
            ):
                shutil.rmtree(run_path)
                purged.append(run_path)
        self._remove_leftovers(cutoff_ms=int(time.time() * 1000) - _LEFTOVER_AGE_MS)
        if purged and self.repo_root is not None:
            self.flush()
            git.commit_paths(self.repo_root, purged, f"Purge {len(purged)} deleted runs")
        return [p.name for p in purged]

    def _remove_leftovers(self, cutoff_ms: int) -> None:
        """Remove the hidden folders of run creations killed before their rename."""
        for folder in (self.root / layout.RUNS_DIR).glob(f"*/.*{layout.TMP_SUFFIX}"):
            try:
                old = folder.lstat().st_mtime * 1000 < cutoff_ms
            except FileNotFoundError:
                continue
            if old and folder.is_dir() and not folder.is_symlink():
                log.info("removing %s, left by a run creation that was interrupted", folder)
                shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        with self._writers_lock:
            writers, self._writers = self._writers, {}
        for w in writers.values():
            w.close()
        self.flush()


def _rehome(found: list[Run], aliases: dict[str, str]) -> list[Run]:
    """Runs of an experiment merged into another (same name, from two clones) join it."""
    if not aliases:
        return found
    return [
        r
        if r.info.experiment_id not in aliases
        else dataclasses.replace(
            r, info=dataclasses.replace(r.info, experiment_id=aliases[r.info.experiment_id])
        )
        for r in found
    ]
