"""The registry's pages in Chromium, from disk and under a sub-path: they load with no
console error and no failed or outside request, the snippets copy, every link resolves,
and the hostile model's payloads stay text (tests/site/modelstore.py makes the store).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mltrail_generator import build_site, urls
from mltrail_generator.gather.registry import site_slug
from tests.site.browse import SUBPATH, Pages, serve, settle, site_base
from tests.site.linkcheck import LinkChecker, file_exists, http_exists
from tests.site.modelstore import HOSTILE_NAME, make_model_store
from tests.site.test_hostile_site import expected_broken_image, injected


@dataclass(frozen=True)
class ModelSite:
    site: Path
    runs: dict[str, str]


@pytest.fixture(scope="module")
def model_site(tmp_path_factory: pytest.TempPathFactory) -> ModelSite:
    registry = make_model_store(tmp_path_factory.mktemp("models"))
    site = tmp_path_factory.mktemp("served-models").joinpath(*SUBPATH.strip("/").split("/"))
    build_site(registry.store, site)
    return ModelSite(site, registry.runs)


@pytest.fixture(scope="module")
def served_models(model_site: ModelSite) -> Iterator[str]:
    httpd, thread = serve(model_site.site.parent.parent)
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{SUBPATH}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(params=["file", "http"])
def base(request: pytest.FixtureRequest, model_site: ModelSite) -> str:
    if request.param == "file":
        return site_base(model_site.site)
    url: str = request.getfixturevalue("served_models")
    return url


@pytest.fixture
def mpages(pages: Pages) -> Iterator[Pages]:
    """``pages``; the hostile Markdown's sanitized ``<img src=x>`` may fail to load (the
    browser may report it after the test, so it is ignored as it arrives)."""
    pages.watch.ignored.append(broken_image)
    yield pages


def broken_image(problem: str) -> bool:
    """The failed load of the ``x`` image the hostile description keeps (disk or HTTP)."""
    return expected_broken_image(problem) or bool(re.search(r"/x(?:'|\s|$)", problem))


HOSTILE = site_slug(HOSTILE_NAME)
#: Page -> its body's data-page ({b}, {d}: run ids).
PAGES = {
    "index.html": "home",
    urls.MODELS: "models",
    urls.model_page("churn"): "model",
    urls.version_page("churn", "v2"): "model-version",
    urls.href(urls.model_page(HOSTILE)): "model",
    urls.href(urls.version_page(HOSTILE, "v1")): "model-version",
    "runs/{b}/index.html": "run",
    "runs/{d}/index.html": "run",
}


@pytest.mark.parametrize("path", PAGES)
def test_model_pages_load_cleanly(
    path: str, base: str, model_site: ModelSite, mpages: Pages
) -> None:
    page = mpages.open(base, path.format(**model_site.runs))
    assert page.get_attribute("body", "data-page") == PAGES[path]
    settle(page)
    assert page.locator("nav[aria-label=Site] a", has_text="Models").count() == 1
    copies = page.locator(".mt-snippet .mt-copy")
    assert copies.count() == page.locator(".mt-snippet").count()
    assert not any(injected(page, base).values())
    assert mpages.watch.dialogs == []


def copy_and_read(page: Any, index: int) -> tuple[str, str, str]:
    """Click the ``index``-th Copy button: (the code, the selected text, the status)."""
    figure = page.locator(".mt-snippet").nth(index)
    figure.locator(".mt-copy").click()
    page.wait_for_function("(f) => f.dataset.copied", arg=figure.element_handle())
    code = figure.locator("code").text_content()
    selected = page.evaluate("() => String(window.getSelection())")
    return code, selected, figure.locator(".mt-copy-status").text_content()


def test_snippets_copy_to_the_clipboard_over_http(served_models: str, mpages: Pages) -> None:
    origin = served_models.split("/sub/")[0]
    mpages.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = mpages.open(served_models, urls.model_page("churn"))
    for i in range(page.locator(".mt-snippet").count()):
        code, selected, status = copy_and_read(page, i)
        assert status == "Copied."
        assert page.evaluate("() => navigator.clipboard.readText()") == code == selected
    assert 'load_model("models:/churn/2")' in page.locator(".mt-snippet code").first.text_content()


def test_snippets_copy_or_select_from_disk(model_site: ModelSite, mpages: Pages) -> None:
    page = mpages.open(site_base(model_site.site), urls.version_page("churn", "v2"))
    code, selected, status = copy_and_read(page, 2)
    assert code == "mltrail models serve -m models:/churn/2 -p 5000" and selected == code
    assert status in ("Copied.", "Selected: press Ctrl+C (⌘C) to copy.")
    assert page.locator("button.mt-copy").first.get_attribute("type") == "button"


def test_every_link_resolves_from_disk_and_under_a_sub_path(
    model_site: ModelSite, served_models: str
) -> None:
    for base, exists in ((site_base(model_site.site), file_exists), (served_models, http_exists)):
        checker = LinkChecker(model_site.site, base, exists)
        for report in (checker.check_pages(), checker.check_client_links()):
            problems = [p for p in report.problems if not p.endswith('x"> no such file')]
            assert not problems, "\n".join(problems)
            assert report.checked


def test_the_hostile_model_shows_as_text_and_is_found_by_search(
    model_site: ModelSite, mpages: Pages
) -> None:
    base = site_base(model_site.site)
    page = mpages.open(base, urls.href(urls.model_page(HOSTILE)))
    assert page.text_content("h1") == HOSTILE_NAME
    crumbs = page.eval_on_selector_all("nav[aria-label=Breadcrumb] a", "as => as.map(a => a.text)")
    assert crumbs == ["Models", HOSTILE_NAME]
    assert page.locator(".mt-description script, .mt-description [onclick]").count() == 0
    home = mpages.open(base, "index.html")
    home.fill("#site-search", "onmouseover")
    home.wait_for_selector("#search-results [role=option]")
    titles = home.eval_on_selector_all(
        "#search-results .mt-search-title", "els => els.map(e => e.textContent)"
    )
    assert titles == [HOSTILE_NAME]
    with home.expect_navigation(wait_until="commit"):
        home.press("#site-search", "Enter")
    assert home.url.endswith(urls.href(urls.model_page(HOSTILE)))
    assert mpages.watch.dialogs == []
