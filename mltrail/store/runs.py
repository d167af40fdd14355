"""Run records on disk: ``runs/<shard>/<run_id>/`` and the files inside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mltrail import validation
from mltrail.entities import LifecycleStage, MetricSummary, Run, RunData, RunInfo, RunStatus
from mltrail.errors import CorruptedRecord, InvalidParameterValue
from mltrail.store import formats, layout

#: System tags MLflow users query, and the run.yaml field each one reads.
FIELD_TAGS = {
    "mlflow.runName": "run_name",
    "mlflow.user": "user",
    "mlflow.parentRunId": "parent_run_id",
    "mlflow.note.content": "description",
}
#: Source tags and the key under ``source:`` in run.yaml that holds them.
SOURCE_TAGS = {
    "mlflow.source.name": "name",
    "mlflow.source.type": "type",
    "mlflow.source.git.commit": "git_commit",
    "mlflow.source.git.branch": "git_branch",
    "mlflow.source.git.repoURL": "git_repo_url",
}
_REQUIRED = ("run_id", "experiment_id", "status", "start_time")


def read_run_record(run_path: Path) -> dict[str, Any]:
    path = run_path / layout.RUN_FILE
    rec = formats.read_mapping(path, missing_ok=False)
    missing = [k for k in _REQUIRED if rec.get(k) is None]
    if missing:
        raise CorruptedRecord(
            f"{path}: run record lacks {', '.join(missing)}; fix or remove the run folder."
        )
    if rec.get("status") not in RunStatus.ALL:
        raise CorruptedRecord(f"{path}: unknown run status {rec.get('status')!r}.")
    if str(rec["run_id"]) != run_path.name:
        raise CorruptedRecord(
            f"{path}: run_id {rec['run_id']!r} is not its folder's name; fix or remove the run."
        )
    return rec


def system_tags(rec: dict[str, Any]) -> dict[str, str]:
    tags = {tag: str(rec[field]) for tag, field in FIELD_TAGS.items() if rec.get(field)}
    source = rec.get("source") or {}
    if isinstance(source, dict):
        tags.update(
            {tag: str(source[k]) for tag, k in SOURCE_TAGS.items() if source.get(k) is not None}
        )
    return tags


def metric_summaries(run_path: Path, rec: dict[str, Any]) -> dict[str, MetricSummary]:
    """Per-metric summaries: from run.yaml's ``metrics`` once the run ended, else computed."""
    stored = rec.get("metrics")
    if RunStatus.is_terminated(rec["status"]) and isinstance(stored, dict):
        path = run_path / layout.RUN_FILE
        return {
            _summary_key(path, k): formats.summary_from_record(path, k, v)
            for k, v in stored.items()
        }
    return compute_summaries(run_path)


def _summary_key(path: Path, key: Any) -> str:
    """A metric key of the summary, checked like a logged one (it names a history file)."""
    try:
        return validation.validate_read_key("metric", key)
    except InvalidParameterValue as e:
        raise CorruptedRecord(f"{path}: metrics: {e}") from e


def compute_summaries(
    run_path: Path, open_fds: dict[str, int] | None = None
) -> dict[str, MetricSummary]:
    """Summaries of every history; ``open_fds``: histories a writer holds open, read via them."""
    fds = open_fds or {}
    out = {}
    for file in layout.iter_metric_files(run_path):
        key = layout.metric_key_of(run_path, file)
        summary = formats.summarize(formats.read_columns(file, fds.get(key)))
        if summary is not None:
            out[key] = summary
    return out


def summaries_record(run_path: Path, open_fds: dict[str, int] | None = None) -> dict[str, Any]:
    """The ``metrics`` section run.yaml gets when the run ends."""
    summaries = compute_summaries(run_path, open_fds)
    return {k: formats.summary_to_record(s) for k, s in sorted(summaries.items())}


def build_run(run_path: Path, rec: dict[str, Any], summaries: dict[str, MetricSummary]) -> Run:
    params = formats.read_mapping(run_path / layout.PARAMS_FILE)
    tags = {**system_tags(rec), **formats.read_mapping(run_path / layout.TAGS_FILE)}
    uri = (run_path / layout.ARTIFACTS_DIR).as_uri()
    return assemble_run(uri, rec, params, tags, summaries, where=run_path / layout.RUN_FILE)


def assemble_run(
    artifact_uri: str,
    rec: dict[str, Any],
    params: dict[str, Any],
    tags: dict[str, Any],
    summaries: dict[str, MetricSummary],
    where: Path | None = None,
) -> Run:
    """A Run from its parts; ``where`` names the record file in errors."""
    try:
        info = RunInfo(
            run_id=str(rec["run_id"]),
            run_name=str(rec.get("run_name") or ""),
            experiment_id=str(rec["experiment_id"]),
            status=str(rec["status"]),
            start_time=int(rec["start_time"]),
            end_time=None if rec.get("end_time") is None else int(rec["end_time"]),
            lifecycle_stage=str(rec.get("lifecycle_stage") or LifecycleStage.ACTIVE),
            user_id=str(rec.get("user") or ""),
            artifact_uri=artifact_uri,
        )
    except (TypeError, ValueError) as e:
        raise CorruptedRecord(f"{where or rec.get('run_id')}: bad field ({e}).") from e
    data = RunData(
        params={str(k): str(v) for k, v in params.items()},
        metrics={k: s.latest for k, s in summaries.items()},
        tags={str(k): str(v) for k, v in tags.items()},
        metric_summaries=summaries,
    )
    return Run(info=info, data=data)


def load_run(run_path: Path) -> Run:
    rec = read_run_record(run_path)
    return build_run(run_path, rec, metric_summaries(run_path, rec))
