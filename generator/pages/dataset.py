"""A dataset's page (``datasets/<slug>.html``): one dataset digest, its source and schema,
and every run that used it; also the dataset record the run page shows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import urls
from ..gather.inputs import DatasetEntry, context_of, dataset_slug
from ..output.files import PageWriter
from ..theme.render import render
from .base import Build, Job, PageContext, PageKind, digest, doc, make_page
from .parts import ExperimentLink, RunLink, experiment_link, run_link

#: Columns shown of a schema; a wider one ends with a count of the rest.
MAX_SCHEMA_COLUMNS = 200


@dataclass(frozen=True)
class DatasetView:
    name: str = doc("the name it was logged under")
    digest: str = doc("its digest (MLflow's hash of its content)")
    url: str = doc("the page of its digest: every run that used it")
    context: str | None = doc("training, evaluation ... as the run gave it; None without one")
    source_type: str = doc("where it came from: local, http, code ...")
    source: str = doc("the source as recorded (JSON text)")
    columns: tuple[tuple[str, str], ...] = doc("schema columns as (name, type), in order")
    more_columns: int = doc("schema columns left out of `columns`")
    profile: tuple[tuple[str, str], ...] = doc("profile entries (num_rows ...) as text pairs")


@dataclass(frozen=True)
class DatasetRunRow:
    run: RunLink = doc("the run")
    experiment: ExperimentLink = doc("its experiment")
    start: int = doc("its start time (ms)")
    context: str | None = doc("the context it gave the dataset, or None")


@dataclass(frozen=True)
class DatasetPage(PageContext):
    dataset: DatasetView = doc("the dataset, as its newest run recorded it")
    names: tuple[str, ...] = doc("every name this digest was logged under")
    runs: tuple[DatasetRunRow, ...] = doc("the runs that used it, newest first")


def dataset_view(entry: Mapping[str, Any], context: str | None = None) -> DatasetView:
    columns = _columns(entry.get("schema"))
    return DatasetView(
        name=str(entry["name"]),
        digest=str(entry["digest"]),
        url=urls.href(urls.dataset_page(dataset_slug(str(entry["digest"])))),
        context=context,
        source_type=str(entry["source_type"]),
        source=str(entry["source"]),
        columns=tuple(columns[:MAX_SCHEMA_COLUMNS]),
        more_columns=max(0, len(columns) - MAX_SCHEMA_COLUMNS),
        profile=_profile(entry.get("profile")),
    )


def run_datasets(entries: Iterable[Mapping[str, Any]]) -> tuple[DatasetView, ...]:
    """The run page's datasets, in the order the run logged them."""
    return tuple(dataset_view(e, context_of(e)) for e in entries)


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _columns(schema: Any) -> list[tuple[str, str]]:
    """MLflow's schema JSON (``{"mlflow_colspec": [{"name", "type"}, ...]}`` or a tensor
    spec) as (name, type) pairs; anything else shows no columns."""
    value = _json(schema)
    specs = None
    if isinstance(value, dict):
        specs = value.get("mlflow_colspec") or value.get("mlflow_tensorspec")
    if isinstance(specs, str):
        specs = _json(specs)
    if not isinstance(specs, list):
        return []
    found = []
    for i, spec in enumerate(specs):
        if isinstance(spec, dict):
            name = spec.get("name")
            kind = spec.get("type") or spec.get("dtype")
            shape = spec.get("shape")
            label = str(kind) if kind is not None else "—"
            if isinstance(shape, list):
                label += " " + json.dumps(shape)
            found.append((str(name) if name is not None else f"#{i}", label))
    return found


def _profile(profile: Any) -> tuple[tuple[str, str], ...]:
    value = _json(profile)
    if not isinstance(value, dict):
        return ()
    return tuple(
        (str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in sorted(value.items())
    )


def context(b: Build, entry: DatasetEntry) -> DatasetPage:
    site = b.site
    rows = []
    for use in entry.uses:
        run = site.runs[use.run_id]
        record = site.experiment(run.info.experiment_id)
        rows.append(
            DatasetRunRow(
                run_link(run), experiment_link(record.experiment), run.info.start_time, use.context
            )
        )
    return make_page(
        DatasetPage,
        b.info,
        KIND.name,
        urls.dataset_page(entry.slug),
        f"Dataset {entry.names[0]}",
        dataset=dataset_view(entry.entry),
        names=entry.names,
        runs=tuple(rows),
    )


def inputs_digest(b: Build, entry: DatasetEntry) -> str:
    site = b.site

    def use(rid: str) -> list[Any]:
        info = site.runs[rid].info
        return [rid, info.run_name, info.status, info.start_time, info.experiment_id]

    exps = {site.runs[u.run_id].info.experiment_id for u in entry.uses}
    return digest(
        b.digest,
        dict(entry.entry),
        entry.names,
        [[use(u.run_id), u.context] for u in entry.uses],
        sorted((e, site.experiment(e).experiment.name) for e in exps),
    )


def plan(b: Build) -> Iterable[Job[DatasetEntry]]:
    for entry in b.site.datasets.entries:
        yield Job(f"page:dataset:{entry.slug}", inputs_digest(b, entry), entry)


def write(b: Build, job: Job[DatasetEntry], writer: PageWriter) -> None:
    entry = job.subject
    html = render(b.env, KIND.candidates(entry.slug), context(b, entry))
    writer.write(urls.dataset_page(entry.slug), html)


KIND = PageKind(
    name="dataset", context=DatasetPage, template="dataset.html", plan=plan, write=write
)
