"""The Models index (``models/index.html``): every registered model, only when there are some."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import urls
from ..output.files import PageWriter
from ..theme.render import render
from .base import Build, Job, PageContext, PageKind, doc, make_page
from .modelparts import ModelSummary, model_summaries


@dataclass(frozen=True)
class ModelsPage(PageContext):
    models: tuple[ModelSummary, ...] = doc("every registered model, by name")


def context(b: Build) -> ModelsPage:
    return make_page(
        ModelsPage,
        b.info,
        KIND.name,
        urls.MODELS,
        "Models",
        models=model_summaries(b.site.registry),
    )


def plan(b: Build) -> Iterable[Job[None]]:
    """Cheap, so always rendered (then compared); none without models."""
    return [Job("page:models", "", None)] if b.site.registry.models else []


def write(b: Build, job: Job[None], writer: PageWriter) -> None:
    writer.write(urls.MODELS, render(b.env, KIND.candidates(), context(b)))


KIND = PageKind(name="models", context=ModelsPage, template="models.html", plan=plan, write=write)
