"""XSS end to end: a store whose every free-form value is a payload, built and opened in
Chromium. Nothing may run (any dialog fails the test, so do the failed requests a
payload's ``<img src=x>`` would make), payloads show as text, no ``javascript:`` URL, no
inline handler and no script but the site's own reaches the DOM, and active artifacts
are offered as downloads only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mltrail
from mltrail.store import init_store
from mltrail.tracking import context
from mltrail_generator import build_site
from tests.site.browse import Pages, draw_charts, settle, site_base
from tests.site.linkcheck import LinkChecker, file_exists

# Each payload calls alert() with its own number, so a dialog says which one ran.
SCRIPT = "<script>alert(1)</script>"
ATTR = "\"'><img src=x onerror=alert(2)>"
CLOSE = "</script><script>alert(3)</script>"
SEPARATORS = "a\u2028b\u2029c</script><script>alert(4)</script>"
MARKDOWN = f"""# Notes {SCRIPT}

<img src=x onerror=alert(5)>

[link](javascript:alert(6)) [mixed](JaVaScRiPt:alert(7)) <a href="javascript:alert(8)">raw</a>

<svg onload=alert(9)></svg> <iframe src="javascript:alert(10)"></iframe>

<div style="x" onclick="alert(11)">{CLOSE}</div>
"""
NOTE = "mlflow.note.content"
#: Allowed key characters only (letters, digits, _ - . space /), as close to markup as
#: they get: spaces and slashes end up in URLs, attributes and selectors.
METRIC_KEY = "x onerror/alert 1.-_"
ARTIFACTS = {
    "notes.md": MARKDOWN,
    "report.html": f"<html><body>{SCRIPT}<img src=x onerror=alert(12)></body></html>",
    "plots/pic.svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(13)">'
        "<script>alert(14)</script></svg>"
    ),
    "log.txt": f"{CLOSE}\n{SEPARATORS}\n",
    f"{ATTR}.txt": "a file whose name is a payload\n",
    "table.csv": f"name,value\n{ATTR},{SCRIPT}\n",
    "data.json": f'{{"x": "{CLOSE}"}}\n',
}
ACTIVE = ("report.html", "plots/pic.svg")  # copied as .txt and offered as downloads
#: The sanitizer keeps Markdown's ``<img src=x>`` (without its handler): a broken image
#: the user wrote, relative to the page (``x``, or ``artifacts/x`` on a run page).
BROKEN_IMAGE = "/x"


def expected_broken_image(problem: str) -> bool:
    return f"{BROKEN_IMAGE} (net::ERR_FILE_NOT_FOUND)" in problem or (
        "ERR_FILE_NOT_FOUND" in problem and f"{BROKEN_IMAGE}'" in problem
    )


@dataclass(frozen=True)
class Hostile:
    site: Path
    experiment_id: str
    run_ids: dict[str, str]  # run name -> id
    parent: str  # run id of the run with the artifacts; its child is named ATTR

    @property
    def base(self) -> str:
        return site_base(self.site)


def _fill(client: mltrail.Client) -> tuple[str, dict[str, str], str]:
    exp = client.create_experiment(
        f"exp {ATTR}", tags={"owner": CLOSE, "sep": SEPARATORS, "mlflow.note.content": MARKDOWN}
    )
    parent = client.create_run(
        exp, run_name=SCRIPT, tags={"note": SCRIPT, "quote": ATTR, NOTE: MARKDOWN}
    ).info.run_id
    child = client.create_run(
        exp, run_name=ATTR, tags={"sep": SEPARATORS, "mlflow.parentRunId": parent}
    ).info.run_id
    third = client.create_run(exp, run_name=SEPARATORS, tags={NOTE: f"{CLOSE} {SEPARATORS}"})
    runs = {SCRIPT: parent, ATTR: child, SEPARATORS: third.info.run_id}
    for i, rid in enumerate(runs.values()):
        client.log_param(rid, "payload", ATTR)
        client.log_param(rid, "close", CLOSE)
        client.log_param(rid, "sep", SEPARATORS)
        for step in range(5):
            client.log_metric(rid, METRIC_KEY, (i + 1) * step / 10, step=step)
        client.log_metric(rid, "loss", float("nan") if i == 2 else 1.0 / (i + 1), step=0)
    for path, text in ARTIFACTS.items():
        client.log_text(parent, text, path)
    for rid in runs.values():
        client.set_terminated(rid)
    return exp, runs, parent


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    tmp = tmp_path_factory.mktemp("hostile")
    gitconfig = tmp / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    project = tmp / "project"
    project.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for var in os.environ:
            if var.startswith(("MLTRAIL_", "MLFLOW_", "GIT_")):
                mp.delenv(var)
        mp.setenv("MLTRAIL_AUTO_COMMIT", "0")
        mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.chdir(project)  # the runs' source record looks at the working folder
        store, _ = init_store(project / "runs")
        try:
            exp, runs, parent = _fill(mltrail.Client(tracking_uri=str(store.root)))
        finally:
            context.close_all()
        site = tmp / "site"
        build_site(store.root, site)
    yield Hostile(site, exp, runs, parent)


@pytest.fixture
def hpages(pages: Pages) -> Iterator[Pages]:
    """``pages``, with the failed requests of the broken images the sanitizer keeps allowed."""
    yield pages
    problems = pages.watch.problems
    problems[:] = [p for p in problems if not expected_broken_image(p)]


def all_pages(hostile: Hostile) -> list[str]:
    found = sorted(
        p.relative_to(hostile.site).as_posix()
        for p in hostile.site.rglob("*.html")
        if "artifacts" not in p.relative_to(hostile.site).parts
    )
    compare = "compare/index.html"
    return [
        f"{compare}?runs={','.join(hostile.run_ids.values())}" if p == compare else p for p in found
    ]


def injected(page: Any, base: str) -> dict[str, list[str]]:
    """What a payload would have added to the DOM, whether or not it ran."""
    return page.evaluate(
        """(base) => {
            const all = Array.from(document.querySelectorAll('*'));
            const urls = [];
            for (const el of all) for (const attr of ['href', 'src', 'action', 'formaction']) {
                const v = el.getAttribute(attr);
                if (v !== null) urls.push(v);
            }
            return {
                handlers: all.flatMap((el) => Array.from(el.attributes)
                    .filter((a) => a.name.toLowerCase().startsWith('on'))
                    .map((a) => `<${el.tagName} ${a.name}=${a.value}>`)),
                scriptUrls: urls.filter((u) => /^[\\s\\x00-\\x1f]*(javascript|vbscript|data):/i
                    .test(u)),
                foreignScripts: Array.from(document.scripts)
                    .filter((s) => !s.src || !s.src.startsWith(base))
                    .map((s) => s.outerHTML.slice(0, 120)),
                frames: Array.from(document.querySelectorAll('iframe, object, embed, frame'))
                    .map((e) => e.outerHTML.slice(0, 120)),
                styles: all.filter((el) => el.hasAttribute('style') && el.closest('main')
                    && !el.closest('.vega-embed')).map((el) => el.outerHTML.slice(0, 120)),
            };
        }""",
        base,
    )


def test_no_page_runs_a_payload(hostile: Hostile, hpages: Pages) -> None:
    opened = 0
    for path in all_pages(hostile):
        page = hpages.open(hostile.base, path)
        draw_charts(page, ".metric-chart, #experiment-charts .mt-chart, #compare-app .mt-chart")
        if page.locator("#site-search").count():
            page.fill("#site-search", "onerror")
            page.wait_for_selector("#search-results [role=option]")
        if path == f"experiments/{hostile.experiment_id}/index.html":
            page.wait_for_selector("#runs-app tbody tr.mt-run")
            page.fill(".mt-text-filter", "onerror")
            page.fill(".mt-filter-input", "params.payload LIKE '%onerror%'")
            page.press(".mt-filter-input", "Enter")
        settle(page)
        found = injected(page, hostile.base)
        assert not any(found.values()), f"{path}: {found}"
        page.close()
        opened += 1
    assert opened >= 8  # home, 404, compare, 2 experiments, 3 runs
    assert hpages.watch.dialogs == []


def test_payloads_show_as_text(hostile: Hostile, hpages: Pages) -> None:
    parent = hpages.open(hostile.base, f"runs/{hostile.parent}/index.html")
    assert parent.text_content("h1").startswith(SCRIPT)
    cells = parent.eval_on_selector_all(".mt-kv-table td", "tds => tds.map(td => td.textContent)")
    assert cells.count(ATTR) == 2 and cells.count(CLOSE) == 1 and cells.count(SCRIPT) == 1
    assert cells.count(SEPARATORS) == 1  # params payload, close, sep; tags note, quote
    chart = parent.locator(f'.metric-chart[data-metric="{METRIC_KEY}"]')
    assert chart.count() == 1  # the key, in an attribute and a selector
    crumbs = parent.eval_on_selector_all(
        "nav[aria-label=Breadcrumb] a", "links => links.map(a => a.textContent)"
    )
    assert crumbs == ["Experiments", f"exp {ATTR}", SCRIPT]
    children = parent.eval_on_selector_all(".mt-child-runs a", "links => links.map(a => a.text)")
    assert children == [ATTR]
    description = parent.locator(".mt-description, section[aria-labelledby=description-heading]")
    assert "Notes" in description.first.text_content()
    log = parent.locator('.mt-artifact:has(a[download="log.txt"]) .highlight').text_content()
    assert CLOSE in log and SEPARATORS in log
    child = hpages.open(hostile.base, f"runs/{hostile.run_ids[ATTR]}/index.html")
    assert child.text_content("h1").startswith(ATTR)
    third = hpages.open(hostile.base, f"runs/{hostile.run_ids[SEPARATORS]}/index.html")
    assert third.text_content("h1").startswith(SEPARATORS)
    experiment = hpages.open(hostile.base, f"experiments/{hostile.experiment_id}/index.html")
    assert experiment.text_content("h1") == f"exp {ATTR}"
    experiment.wait_for_selector("#runs-app tbody tr.mt-run")
    names = experiment.eval_on_selector_all(
        "#runs-app tbody tr.mt-run td a", "links => links.map(a => a.textContent)"
    )
    assert set(hostile.run_ids) <= set(names)
    home = hpages.open(hostile.base, "index.html")
    home.fill("#site-search", "onerror")
    home.wait_for_selector("#search-results [role=option]")
    titles = home.eval_on_selector_all(
        "#search-results .mt-search-title", "els => els.map(e => e.textContent)"
    )
    assert ATTR in titles and f"exp {ATTR}" in titles
    assert hpages.watch.dialogs == []


def test_active_artifacts_are_downloads_and_open_as_text(hostile: Hostile, hpages: Pages) -> None:
    run = hostile.site / "runs" / hostile.parent
    page = hpages.open(hostile.base, f"runs/{hostile.parent}/index.html")
    for name in ACTIVE:
        assert not (run / "artifacts" / name).exists()
        link = page.locator(f'.mt-artifacts a[href$="artifacts/{name}.txt"]')
        assert link.get_attribute("download") == name.rsplit("/", 1)[-1]
    active = '.mt-artifacts [src*="pic.svg"], .mt-artifacts [src*="report.html"]'
    assert page.locator(f"{active}, .mt-artifacts :is(object, embed, iframe)").count() == 0
    markdown = page.locator(".mt-preview-markdown")
    assert markdown.locator("h1, h2, h3, h4").first.text_content().startswith("Notes")
    assert markdown.locator("script, svg, iframe, [onclick], [onerror], [style]").count() == 0
    for name in ACTIVE:  # opened directly, the copy is plain text
        copy = hpages.open(hostile.base, f"runs/{hostile.parent}/artifacts/{name}.txt")
        assert "alert(1" in copy.text_content("body")
    assert hpages.watch.dialogs == []


def test_links_of_the_hostile_site_resolve(hostile: Hostile) -> None:
    checker = LinkChecker(hostile.site, hostile.base, file_exists)
    for report in (checker.check_pages(), checker.check_client_links()):
        problems = [p for p in report.problems if not p.endswith('x"> no such file')]
        assert not problems, "\n".join(problems)
        assert report.checked
