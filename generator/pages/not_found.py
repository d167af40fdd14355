"""The not-found page (``404.html``), which static hosts serve for a missing path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import urls
from ..output.files import PageWriter
from ..theme.render import render
from .base import Build, Job, PageContext, PageKind, make_page


@dataclass(frozen=True)
class NotFoundPage(PageContext):
    pass


def context(b: Build) -> NotFoundPage:
    return make_page(NotFoundPage, b.info, KIND.name, urls.NOT_FOUND, "Page not found")


def plan(b: Build) -> Iterable[Job[None]]:
    return [Job("page:404", "", None)]


def write(b: Build, job: Job[None], writer: PageWriter) -> None:
    writer.write(urls.NOT_FOUND, render(b.env, KIND.candidates(), context(b)))


KIND = PageKind(name="404", context=NotFoundPage, template="404.html", plan=plan, write=write)
