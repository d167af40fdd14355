"""Read a running MLflow tracking server over its REST API (``/api/2.0/mlflow/...``) and
its artifact proxy (``/api/2.0/mlflow-artifacts/...``), with the standard library only.

MLflow's client authenticates with ``MLFLOW_TRACKING_TOKEN`` (a bearer token) or
``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``; so does this reader.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlparse

from mltrail.interop.records import (
    Artifact,
    BadRun,
    DatasetIn,
    ExperimentIn,
    LoggedModelIn,
    ModelIn,
    RunIn,
    SourceError,
    VersionIn,
)
from mltrail.store.logged_models import LinkedPoint

_TIMEOUT = 30
_PAGE = 1000


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user:
        pair = f"{user}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return headers


def _tags(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in items or []}


@dataclass(frozen=True)
class RemoteArtifact:
    """An artifact file the server serves; downloaded into the scratch folder when used."""

    path: str
    size: int | None
    url: str
    source: RestSource

    @contextlib.contextmanager
    def local(self, scratch: Path) -> Iterator[Path]:
        target = scratch / "download"
        try:
            with self.source.open(self.url) as response, open(target, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
            yield target
        finally:
            target.unlink(missing_ok=True)


class RestSource:
    """An MLflow tracking server at ``url``."""

    def __init__(self, url: str) -> None:
        self.base = url.rstrip("/")
        self.label = self.base
        self.headers = _headers()
        #: Logged model id -> its artifact location (filled by ``logged_models``).
        self._locations: dict[str, str] = {}
        self.call("GET", "experiments/search", {"max_results": 1})  # answers, or SourceError

    def open(self, url: str, body: bytes | None = None, method: str = "GET") -> Any:
        request = urllib.request.Request(url, data=body, headers=self.headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=_TIMEOUT)
        except urllib.error.HTTPError as e:
            raise SourceError(f"{self.base}: the MLflow server answered {e.code} to {url}.") from e
        except (urllib.error.URLError, OSError) as e:
            raise SourceError(f"{self.base}: no MLflow tracking server answers ({e}).") from e

    def call(self, method: str, endpoint: str, args: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base}/api/2.0/mlflow/{endpoint}"
        if method == "GET":
            body = None
            url += "?" + urlencode(args, doseq=True)
        else:
            body = json.dumps(args).encode()
        with self.open(url, body, method) as response:
            try:
                data = json.loads(response.read())
            except ValueError as e:
                raise SourceError(f"{self.base}: not an MLflow server (no JSON at {url}).") from e
        if not isinstance(data, dict):
            raise SourceError(f"{self.base}: not an MLflow server (unexpected answer at {url}).")
        return data

    def _pages(self, method: str, endpoint: str, args: dict[str, Any], key: str) -> Iterator[Any]:
        token = None
        while True:
            page = self.call(method, endpoint, {**args, **({"page_token": token} if token else {})})
            yield from page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return

    def experiments(self) -> list[ExperimentIn]:
        found = self._pages(
            "POST", "experiments/search", {"max_results": _PAGE, "view_type": "ALL"}, "experiments"
        )
        return [
            ExperimentIn(
                experiment_id=str(e["experiment_id"]),
                name=e["name"],
                lifecycle_stage=e.get("lifecycle_stage", "active"),
                creation_time=_opt_int(e.get("creation_time")),
                last_update_time=_opt_int(e.get("last_update_time")),
                tags=_tags(e.get("tags")),
            )
            for e in found
        ]

    def runs(self, experiment: ExperimentIn) -> Iterator[RunIn | BadRun]:
        args = {
            "experiment_ids": [experiment.experiment_id],
            "run_view_type": "ALL",
            "max_results": _PAGE,
        }
        for run in self._pages("POST", "runs/search", args, "runs"):
            info, data = run.get("info", {}), run.get("data", {})
            try:
                # runs/search answers dataset inputs only; runs/get the models too
                run = self.call("GET", "runs/get", {"run_id": info["run_id"]}).get("run", {})
                yield RunIn(
                    run_id=info["run_id"],
                    experiment_id=experiment.experiment_id,
                    run_name=info.get("run_name", ""),
                    status=info.get("status", "RUNNING"),
                    start_time=int(info["start_time"]),
                    end_time=_opt_int(info.get("end_time")),
                    lifecycle_stage=info.get("lifecycle_stage", "active"),
                    deleted_time=None,
                    user_id=info.get("user_id", ""),
                    artifact_uri=info.get("artifact_uri", ""),
                    params=_tags(data.get("params")),
                    tags=_tags(data.get("tags")),
                    metric_keys=tuple(sorted({m["key"] for m in data.get("metrics", [])})),
                    dataset_inputs=tuple(
                        _dataset(d) for d in run.get("inputs", {}).get("dataset_inputs", [])
                    ),
                    model_inputs=tuple(
                        m["model_id"] for m in run.get("inputs", {}).get("model_inputs", [])
                    ),
                    model_outputs={
                        m["model_id"]: int(m.get("step", 0))
                        for m in run.get("outputs", {}).get("model_outputs", [])
                    },
                )
            except (KeyError, TypeError, ValueError) as e:
                yield BadRun(f"run {info.get('run_id')} at {self.base}", f"bad record ({e})")

    def metric_history(self, run: RunIn, key: str) -> Iterator[tuple[int, float, int]]:
        args = {"run_id": run.run_id, "metric_key": key, "max_results": 25_000}
        for m in self._pages("GET", "metrics/get-history", args, "metrics"):
            yield int(m.get("timestamp", 0)), float(m["value"]), int(m.get("step", 0))

    # -- artifacts --------------------------------------------------------------------
    def artifacts(self, run: RunIn) -> Iterator[Artifact | BadRun]:
        return self._artifacts_at(run.artifact_uri, run.run_id)

    def _artifacts_at(self, uri: str, run_id: str | None) -> Iterator[Artifact | BadRun]:
        if uri.startswith("mlflow-artifacts:"):
            root = urlparse(uri).path.strip("/")
            yield from self._proxied(root, "")
        elif run_id is not None:
            yield from self._listed(run_id, "")
        else:
            yield BadRun(uri, "not served by the server's artifact proxy")

    def _proxied(self, root: str, rel: str) -> Iterator[Artifact | BadRun]:
        """Files under ``root/rel`` through ``/api/2.0/mlflow-artifacts/artifacts``."""
        pending = [rel]
        while pending:
            here = pending.pop()
            path = f"{root}/{here}".rstrip("/")
            url = f"{self.base}/api/2.0/mlflow-artifacts/artifacts?" + urlencode({"path": path})
            with self.open(url) as response:
                listing = json.loads(response.read() or b"{}")
            for f in listing.get("files", []):
                name = f"{here}/{f['path']}".strip("/")
                if f.get("is_dir"):
                    pending.append(name)
                else:
                    where = quote(f"{root}/{name}")
                    url = f"{self.base}/api/2.0/mlflow-artifacts/artifacts/{where}"
                    yield RemoteArtifact(name, _opt_int(f.get("file_size")), url, self)

    def _listed(self, run_id: str, rel: str) -> Iterator[Artifact | BadRun]:
        """Files of a run through ``artifacts/list`` and ``/get-artifact``."""
        pending = [rel]
        while pending:
            here = pending.pop()
            listing = self.call("GET", "artifacts/list", {"run_id": run_id, "path": here})
            for f in listing.get("files", []):
                if f.get("is_dir"):
                    pending.append(f["path"])
                else:
                    query = urlencode({"run_id": run_id, "path": f["path"]})
                    url = f"{self.base}/get-artifact?{query}"
                    yield RemoteArtifact(f["path"], _opt_int(f.get("file_size")), url, self)

    # -- MLflow 3 logged models ---------------------------------------------------------
    def logged_models(self, experiment: ExperimentIn) -> list[LoggedModelIn | BadRun]:
        args = {"experiment_ids": [experiment.experiment_id], "max_results": 100}
        found: list[LoggedModelIn | BadRun] = []
        try:
            models = list(self._pages("POST", "logged-models/search", args, "models"))
        except SourceError:
            return []  # a server older than MLflow 3
        for m in models:
            try:
                model = _logged_model(m)
            except (KeyError, TypeError, ValueError) as e:
                where = m.get("info", {}).get("model_id") if isinstance(m, dict) else None
                found.append(BadRun(f"logged model {where} at {self.base}", f"bad record ({e})"))
                continue
            self._locations[model.model_id] = m["info"].get("artifact_uri", "")
            found.append(model)
        return found

    def logged_model_artifacts(self, model_id: str) -> Iterator[Artifact | BadRun]:
        uri = self._locations.get(model_id, "")
        return self._artifacts_at(uri, None)

    # -- the registry ---------------------------------------------------------------------
    def models(self) -> Iterator[ModelIn | BadRun]:
        args = {"max_results": _PAGE}
        for m in list(self._pages("GET", "registered-models/search", args, "registered_models")):
            try:
                yield self._model(m)
            except (KeyError, TypeError, ValueError) as e:
                yield BadRun(f"registered model {m.get('name')!r} at {self.base}", str(e))

    def _model(self, m: dict[str, Any]) -> ModelIn:
        name = m["name"]
        escaped = name.replace("'", "\\'")
        args = {"filter": f"name='{escaped}'", "max_results": 200_000}
        versions = self._pages("GET", "model-versions/search", args, "model_versions")
        created = int(m["creation_timestamp"])
        return ModelIn(
            name=name,
            creation_timestamp=created,
            last_updated_timestamp=int(m.get("last_updated_timestamp", created)),
            description=m.get("description", ""),
            tags=_tags(m.get("tags")),
            versions=tuple(sorted((_version(v) for v in versions), key=lambda v: v.version)),
            aliases={a["alias"]: int(a["version"]) for a in m.get("aliases", [])},
        )

    def close(self) -> None:
        return None


def _version(v: dict[str, Any]) -> VersionIn:
    created = int(v["creation_timestamp"])
    return VersionIn(
        name=v["name"],
        version=int(v["version"]),
        creation_timestamp=created,
        last_updated_timestamp=int(v.get("last_updated_timestamp", created)),
        current_stage=v.get("current_stage", "None"),
        description=v.get("description", ""),
        user_id=v.get("user_id", ""),
        source=v.get("source", ""),
        run_id=v.get("run_id") or None,
        run_link=v.get("run_link") or None,
        status=v.get("status", "READY"),
        tags=_tags(v.get("tags")),
        model_id=v.get("model_id") or None,
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


#: The proto names of MLflow's logged model statuses.
_MODEL_STATUS = {
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
}


def _logged_model(m: dict[str, Any]) -> LoggedModelIn:
    info, data = m["info"], m.get("data", {})
    created = int(info["creation_timestamp_ms"])
    status = info.get("status", "LOGGED_MODEL_READY")
    return LoggedModelIn(
        info["model_id"],
        info.get("name", ""),
        info.get("source_run_id"),
        experiment_id=str(info.get("experiment_id", "")),
        status=_MODEL_STATUS.get(status, status),
        status_message=info.get("status_message"),
        model_type=info.get("model_type"),
        creation_timestamp=created,
        last_updated_timestamp=int(info.get("last_updated_timestamp_ms", created)),
        params=_tags(data.get("params")),
        tags=_tags(info.get("tags")),
        metrics=tuple(
            LinkedPoint(
                x["key"],
                float(x["value"]),
                int(x.get("timestamp", 0)),
                int(x.get("step", 0)),
                x.get("run_id", ""),
                x.get("dataset_name"),
                x.get("dataset_digest"),
            )
            for x in data.get("metrics", [])
        ),
    )


def _dataset(d: dict[str, Any]) -> DatasetIn:
    ds = d["dataset"]
    return DatasetIn(
        ds["name"],
        ds["digest"],
        ds["source_type"],
        ds["source"],
        ds.get("schema"),
        ds.get("profile"),
        _tags(d.get("tags")),
    )
