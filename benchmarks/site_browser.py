"""Chromium measurements of built pages (Playwright driving Debian's Chromium).

- :func:`experiment_timings`: on the experiment page, the time from navigation start
  (``performance.timeOrigin``) to the runs table drawn, and to a sort answered after a
  click on a column header (rows reordered), each taken at the next frame after the
  DOM change, so layout and paint of the change are included.
- :func:`loaded_files`: every file a page loads, to split its weight into the page's
  own files and the shared assets.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
ROW = "#runs-app tbody tr.mt-run"
TIMEOUT_MS = 60_000

# Installed before the page's own scripts: marks (performance.now(), i.e. ms since the
# navigation started) when the first run row appears, when a sort header is clicked,
# and when the first row then changes; "...Frame" is the next frame after each.
MARKS_SCRIPT = """
(() => {
  const marks = (window.__bench = {});
  const firstRow = () => document.querySelector(%(row)s);
  const afterFrame = (name) =>
    requestAnimationFrame(() => setTimeout(() => { marks[name] = performance.now(); }, 0));
  const watch = () => {
    const row = firstRow();
    if (!row) return;
    if (marks.drawn === undefined) {
      marks.drawn = performance.now();
      afterFrame("drawnFrame");
    }
    const key = row.getAttribute("data-row-key");
    if (marks.click !== undefined && marks.sorted === undefined && key !== marks.firstBefore) {
      marks.sorted = performance.now();
      afterFrame("sortedFrame");
    }
  };
  new MutationObserver(watch).observe(document, {childList: true, subtree: true});
  document.addEventListener("click", (event) => {
    if (!event.target.closest("button.mt-sort")) return;
    const row = firstRow();
    marks.firstBefore = row && row.getAttribute("data-row-key");
    marks.click = performance.now();
  }, true);
})();
"""

# Whether the rows now shown are in ascending order of the column (a sanity check).
SORTED_CHECK = """
(column) => {
  const table = document.querySelector("#runs-app").mltrailTable;
  const col = table.byId.get(column);
  const values = table.shown.map((run) => col.get(run));
  const th = document.querySelector(`th[data-column="${column}"]`);
  const ordered = values.every((v, i) => i === 0 || values[i - 1] <= v);
  return {ordered, ariaSort: th && th.getAttribute("aria-sort"), rows: values.length,
          count: document.querySelector("#runs-app .mt-count").textContent};
}
"""


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's: Playwright's own download cannot work here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def experiment_timings(browser: Any, url: str, column: str) -> dict[str, Any]:
    """Open the experiment page at ``url``, sort by ``column`` once drawn; times in ms."""
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(MARKS_SCRIPT % {"row": repr(ROW)})
    try:
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_function("window.__bench.drawnFrame !== undefined", timeout=TIMEOUT_MS)
        page.click(f'#runs-app thead button.mt-sort[data-column="{column}"]')
        page.wait_for_function("window.__bench.sortedFrame !== undefined", timeout=TIMEOUT_MS)
        marks = page.evaluate("window.__bench")
        check = page.evaluate(SORTED_CHECK, column)
        page.wait_for_load_state("load", timeout=TIMEOUT_MS)
        nav = page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0];"
            " return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()"
        )
    finally:
        page.close()
    return {
        "table_ms": marks["drawnFrame"],
        "sorted_ms": marks["sortedFrame"],
        "sort_latency_ms": marks["sortedFrame"] - marks["click"],
        "click_ms": marks["click"],
        "dom_content_loaded_ms": nav["dcl"],
        "load_ms": nav["load"],
        "check": check,
        "errors": errors,
    }


def loaded_files(browser: Any, url: str, ready: str) -> tuple[list[Path], list[str]]:
    """The local files the page at ``url`` (``file://``) loads until ``ready`` is true."""
    page = browser.new_page(viewport=VIEWPORT)
    files: list[Path] = []
    errors: list[str] = []
    page.on("request", lambda r: files.append(Path(unquote(urlparse(r.url).path))))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    try:
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function(ready, timeout=TIMEOUT_MS)
        page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    finally:
        page.close()
    return sorted(set(files)), errors


def rows_drawn(browser: Any, url: str, count_text: str) -> None:
    """Open ``url`` and wait until its runs table is drawn and counts ``count_text``."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_selector(ROW, timeout=TIMEOUT_MS)
        page.wait_for_function(
            "(text) => document.querySelector('#runs-app .mt-count').textContent === text",
            arg=count_text,
            timeout=TIMEOUT_MS,
        )
    finally:
        page.close()
