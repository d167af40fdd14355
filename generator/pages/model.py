"""A registered model's page: its versions, aliases, git history and copyable snippets.

Rendered again only when its inputs' digest changes: its records (model, versions,
aliases), its git history, and for each version what the page shows of its source run
(file signature, name, status, experiment: the versions table shows its metrics and its
model folder's signature, both inside the run folder).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mltrail.registry import ModelVersionStage
from mltrail.registry.state import resolve_command

from .. import urls
from ..gather.registry import ModelEntry, RegistryData, VersionEntry
from ..output.files import PageWriter
from ..theme.render import render
from .base import Build, Job, PageContext, PageKind, digest, doc, make_page
from .modelparts import (
    ModelSummary,
    VersionLink,
    VersionRow,
    model_summary,
    version_inputs,
    version_link,
    version_row,
)
from .snippets import SERVE_NOTE, Snippet, version_snippets


@dataclass(frozen=True)
class HistoryEvent:
    commit: str = doc("the commit's full sha")
    author: str = doc("the commit author's name")
    email: str = doc("the commit author's email")
    time: int = doc("author time (ms)")
    action: str = doc("register, transition, alias, unalias, describe, tag, delete, rename ...")
    summary: str = doc("the commit title, e.g. 'model churn v3: Staging -> Production'")
    version: VersionLink | None = doc("the version it concerns, when it has a page")


@dataclass(frozen=True)
class ModelPage(PageContext):
    model: ModelSummary = doc("the model")
    versions: tuple[VersionRow, ...] = doc("live versions, newest first")
    history: tuple[HistoryEvent, ...] | None = doc("git history, newest first; None: no git")
    snippets: tuple[Snippet, ...] = doc("copyable code that loads and serves the model")
    serve_note: str = doc("where and how to run the serve and predict snippets")
    duplicates: tuple[int, ...] = doc("version numbers two merged clones both used")
    resolve_command: str = doc("the command that renumbers duplicates")


def context(b: Build, model: ModelEntry) -> ModelPage:
    served = _served(model)
    snippets: tuple[Snippet, ...] = ()
    if served is not None:
        aliases = tuple(sorted(model.model.aliases))
        files = b.model_files.get(served, detail=True)
        snippets = version_snippets(
            model.model.name, served.version.version, aliases, served.folder, files
        )
    rows = tuple(
        version_row(model, e, b.site, b.model_files.get(e)) for e in reversed(model.versions)
    )
    return make_page(
        ModelPage,
        b.info,
        KIND.name,
        urls.model_page(model.slug),
        model.model.name,
        model=model_summary(model, top_heading=2),
        versions=rows,
        history=_history(model, b.site.registry),
        snippets=snippets,
        serve_note=SERVE_NOTE,
        duplicates=model.duplicates,
        resolve_command=resolve_command(model.model.name),
    )


def _history(model: ModelEntry, registry: RegistryData) -> tuple[HistoryEvent, ...] | None:
    if not registry.in_git:
        return None
    events = []
    for e in model.history:
        entry = model.by_number(e.version) if e.version is not None else None
        events.append(
            HistoryEvent(
                commit=e.commit,
                author=e.author_name,
                email=e.author_email,
                time=e.timestamp,
                action=e.action,
                summary=e.summary,
                version=version_link(model, entry) if entry else None,
            )
        )
    return tuple(events)


def _served(model: ModelEntry) -> VersionEntry | None:
    """The version the model page's snippets use: the newest in Production, else the newest."""
    production = [
        e for e in model.versions if e.version.current_stage == ModelVersionStage.PRODUCTION
    ]
    found = production or list(model.versions)
    return found[-1] if found else None


def inputs_digest(b: Build, model: ModelEntry) -> str:
    return digest(
        b.digest,
        model.model.to_dictionary(),
        model.files,
        [version_inputs(b, e) for e in model.versions],
        [e.to_dictionary() for e in model.history],
        b.site.registry.in_git,
    )


def plan(b: Build) -> Iterable[Job[ModelEntry]]:
    for model in b.site.registry.models:
        yield Job(f"page:model:{model.slug}", inputs_digest(b, model), model)


def write(b: Build, job: Job[ModelEntry], writer: PageWriter) -> None:
    model = job.subject
    html = render(b.env, KIND.candidates(model.slug), context(b, model))
    writer.write(urls.model_page(model.slug), html)


KIND = PageKind(name="model", context=ModelPage, template="model.html", plan=plan, write=write)
