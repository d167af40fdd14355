"""Screenshots of the sample dashboard for the README: ``docs/screenshots/*.png``.

    python docs/screenshots.py            # from the repository root, in the dev venv

builds ``sample_runs/store`` into a temp folder, opens it from disk in Debian's Chromium
(through Playwright, as the browser tests do) at 1280 px wide in light mode, UTC and
en-US, draws the charts, and writes home.png, experiment.png, run.png, compare.png and
model.png.
Same store, same Chromium and fonts: the same pictures.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_STORE = ROOT / "sample_runs" / "store"
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--font-render-hinting=none"]
WIDTH = 1280
MODEL = "breast-cancer-classifier"
CHARTS = ".metric-chart, #experiment-charts .mt-chart, #compare-app .mt-chart"


@dataclass(frozen=True)
class Shot:
    name: str
    path: str  # relative to the site root, with its ?query
    height: int  # the most the picture may take, from its top
    top: str | None = None  # a selector: the picture starts just above it (else at 0)
    bottom: str | None = None  # a selector: the picture ends just below it


def shots(client: Any) -> list[Shot]:
    """The pages to take, found through the API (ids change when the sample is remade)."""
    from mltrail_generator.gather.registry import site_slug

    classification = client.get_experiment_by_name("breast-cancer-classification")
    curves = client.get_experiment_by_name("training-curves")
    sweep = client.search_runs(  # one architecture's learning-rate sweep: long histories
        [curves.experiment_id],
        "tags.architecture = 'mlp-4x256' and attributes.run_name LIKE '%-lr%'",
        order_by=["attributes.run_name"],
    )
    ids = ",".join(run.info.run_id for run in sweep)
    middle = sweep[len(sweep) // 2].info.run_id
    return [
        Shot("home", "index.html", 800),
        Shot(
            "experiment",
            f"experiments/{classification.experiment_id}/index.html",
            1700,
            top="#runs-heading",  # the runs table and the charts below it
            bottom="#experiment-charts",
        ),
        Shot("run", f"runs/{middle}/index.html", 1700, bottom="#run-charts figure:nth-of-type(3)"),
        Shot("compare", f"compare/index.html?runs={ids}", 1900, bottom=".mt-compare-histories"),
        Shot(
            "model", f"models/{site_slug(MODEL)}/index.html", 1500, bottom="#use-heading ~ .mt-note"
        ),
    ]


def draw_charts(page: Any) -> None:
    """Charts are drawn as they near the viewport: bring each in, wait for it."""
    holders = page.locator(CHARTS)
    for i in range(holders.count()):
        holder = holders.nth(i)
        holder.scroll_into_view_if_needed()
        page.wait_for_function(
            "(el) => el.querySelector('.marks, .mt-note')", arg=holder.element_handle()
        )
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_load_state("networkidle")


def take(browser: Any, site: Path, shot: Shot, out: Path) -> Path:
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 900},
        device_scale_factor=1,
        color_scheme="light",
        reduced_motion="reduce",
        timezone_id="UTC",
        locale="en-US",
    )
    page = context.new_page()
    page.goto(site.joinpath(shot.path.split("?")[0]).as_uri() + _query(shot.path))
    draw_charts(page)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    box = "(el) => el.getBoundingClientRect()"
    top = max(0, int(page.eval_on_selector(shot.top, box)["top"]) - 16) if shot.top else 0
    end = int(page.evaluate("document.documentElement.scrollHeight"))
    if shot.bottom:
        end = min(end, int(page.eval_on_selector(shot.bottom, box)["bottom"]) + 16)
    height = min(shot.height, end - top)
    target = out / f"{shot.name}.png"
    page.screenshot(
        path=str(target),
        full_page=True,
        clip={"x": 0, "y": top, "width": WIDTH, "height": height},
        animations="disabled",
        caret="hide",
    )
    context.close()
    return target


def _query(path: str) -> str:
    return "?" + path.split("?", 1)[1] if "?" in path else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {OUT.relative_to(ROOT)}")
    parser.add_argument("--chromium", type=Path, default=CHROMIUM, help=f"default {CHROMIUM}")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    import mltrail
    from mltrail_generator import build_site

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mltrail-screenshots-") as tmp:
        store = Path(tmp) / "store"  # a copy: reading a store writes its cache
        shutil.copytree(SAMPLE_STORE, store, ignore=shutil.ignore_patterns(".cache"))
        site = Path(tmp) / "site"
        build_site(store, site)
        wanted = shots(mltrail.Client(tracking_uri=str(store)))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(args.chromium), args=CHROMIUM_ARGS
            )
            for shot in wanted:
                target = take(browser, site, shot, args.out)
                shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
                print(f"{shown}: {target.stat().st_size / 1000:.0f} KB")
            browser.close()


if __name__ == "__main__":
    main()
