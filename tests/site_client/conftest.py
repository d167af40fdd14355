"""Real Chromium (Debian's, /usr/bin/chromium) over a hand-made site opened from file://.

``site`` is a copy of ``fixtures/`` with the theme's static files as ``assets/`` (what
the generator does) and ``assets/chart-specs.js`` written by ``mltrail_generator.output.charts``.
``open_page(path)`` opens a page of it and watches it: console errors, page errors,
failed requests, any request outside file:// and any dialog (an XSS payload that ran)
are collected in ``problems`` and fail the test at teardown unless it cleared them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.site.browse import Watch

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "themes" / "default" / "static"
FIXTURES = Path(__file__).parent / "fixtures"

#: The run ids of the fixture experiment, newest first (as in its runs.js).
RUN_IDS = [f"0190aaaa{n:024x}" for n in (1, 2, 3, 4, 5)]
XSS_NAME = "<img src=x onerror=alert(1)>"


def build_site(target: Path) -> Path:
    """The fixture site at ``target``: pages and data files, assets and chart specs."""
    shutil.copytree(FIXTURES, target)
    shutil.copytree(STATIC, target / "assets")
    from mltrail_generator.output.charts import chart_specs_js

    (target / "assets" / "chart-specs.js").write_text(chart_specs_js())
    return target


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(tmp_path_factory.mktemp("client") / "site")


@pytest.fixture
def watch() -> Watch:
    return Watch(allowed="file://")


@pytest.fixture
def open_page(browser: Any, site: Path, watch: Watch) -> Iterator[Callable[..., Any]]:
    """``open_page(path, query="?runs=a,b", root=site, init_script=js)`` -> a loaded page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)

    def open_(
        path: str, query: str = "", root: Path | None = None, init_script: str | None = None
    ) -> Any:
        page = context.new_page()
        watch.attach(page)
        if init_script:
            page.add_init_script(init_script)
        page.goto((root or site).joinpath(path).as_uri() + query)
        return page

    yield open_
    context.close()
    assert not watch.problems, "\n".join(watch.problems)
