"""Fixtures of the end-to-end tests over the real site built from ``sample_runs/store``.

``sample_site`` is built once per worker at ``<tmp>/sub/project/``, so the same folder
opens from ``file://`` and is served under a sub-path (``served``: the folder's
grandparent on 127.0.0.1, as a GitHub Pages project site is). See ``browse.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrail_generator import build_site
from tests.site.browse import SUBPATH, Pages, Watch, sample_copy, serve


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample store's site at ``<tmp>/sub/project`` (read-only for the tests)."""
    site = tmp_path_factory.mktemp("served").joinpath(*SUBPATH.strip("/").split("/"))
    build_site(sample_copy(tmp_path_factory.mktemp("sample")), site)
    return site


@pytest.fixture(scope="session")
def served(sample_site: Path) -> Iterator[str]:
    """The sample site's URL under a sub-path: ``http://127.0.0.1:<port>/sub/project/``."""
    httpd, thread = serve(sample_site.parent.parent)
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{SUBPATH}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def pages(browser: Any, watch: Watch) -> Iterator[Pages]:
    """Watched pages in a fresh browser context (1280 × 900, light)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    ctx.set_default_timeout(30_000)  # generous: CI machines can be busy
    yield Pages(ctx, watch)
    ctx.close()
    assert not watch.problems, "\n".join(watch.problems)
