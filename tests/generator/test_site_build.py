"""Building the sample store: every page type, relative links, determinism, the summary."""

from __future__ import annotations

import gc
import json
import re
import shutil
from pathlib import Path

import pytest

import mltrail
from mltrail.errors import StoreError
from mltrail.git import find_repo_root
from mltrail.store import FileStore
from mltrail_generator import build_site, pipeline
from mltrail_generator.config import SiteBuildError
from tests.conftest import make_repo, run_git
from tests.generator.conftest import SAMPLE_STORE, files_of
from tests.site.linkcheck import LinkChecker, file_exists

_LINK = re.compile(r"""(?:href|src)="([^"]*)\"""")


def test_every_page_type_and_data_file_exists(sample_site: Path) -> None:
    for rel in ("index.html", "404.html", "search.js", "compare/index.html"):
        assert (sample_site / rel).is_file(), rel
    assert (sample_site / "assets/chart-specs.js").read_text().startswith("MLTRAIL.chartSpecs(")
    assert (sample_site / "assets/mltrail.js").is_file()
    experiments = sorted(p.name for p in (sample_site / "experiments").iterdir())
    assert len(experiments) == 5  # Default too
    for eid in experiments:
        data = (sample_site / "experiments" / eid / "runs.js").read_text()
        assert data.startswith("MLTRAIL.experimentData(")
        assert (sample_site / "experiments" / eid / "index.html").is_file()
    runs = sorted((sample_site / "runs").iterdir())
    assert len(runs) == 39  # the sample's active runs (one deleted run is left out)
    for run in runs:
        assert (run / "index.html").is_file()
        assert (run / "data.js").read_text().startswith("MLTRAIL.runData(")


def test_run_page_shows_overview_metrics_artifacts(sample_site: Path) -> None:
    pages = {p.parent.name: p.read_text() for p in (sample_site / "runs").glob("*/index.html")}
    best = next(html for html in pages.values() if "model_card.md" in html)
    # the charts and the CSV links of histories data.js holds whole are made in the page
    assert "<tr><th>cv_accuracy<td>" in best
    assert '<div id="run-charts" class="mt-chart-grid" data-run-id="' in best
    assert "metric-chart" not in best and "mt-csv" not in best
    assert "<h4>Model card</h4>" in best  # Markdown artifact rendered
    assert '<img src="../../runs/' in best and 'alt="Artifact plots/roc_curve.png"' in best
    assert "<th>feature</th>" in best or '<th scope="col">feature</th>' in best  # CSV preview
    assert 'download="model_card.md"' in best
    parent = next(html for html in pages.values() if "sweep_results.csv" in html)
    assert parent.count('<li><a href="../../runs/') >= 11  # child runs listed


def test_csv_download_holds_the_full_history(sample_site: Path) -> None:
    csvs = list((sample_site / "runs").glob("*/metrics/train/loss.csv"))
    assert csvs
    lines = csvs[0].read_text().splitlines()
    assert lines[0] == "step,timestamp,value"
    assert len(lines) == 2001  # 2,000 steps: the CSV is not downsampled
    data = (csvs[0].parents[2] / "data.js").read_text()
    payload = json.loads(data.removeprefix("MLTRAIL.runData(").removesuffix(");\n"))
    series = payload["series"]["train/loss"]
    assert series["count"] == 2000 and series["downsampled"] is True
    assert len(series["value"]) <= (1 + 1000 * 8.5) * 5 / 4 + 1  # base 85 of <= 8.5 bytes each
    for path in (sample_site / "runs").glob("*/metrics/**/*.csv"):
        metrics = _metrics_dir(path)
        data = (metrics.parent / "data.js").read_text()
        payload = json.loads(data.removeprefix("MLTRAIL.runData(").removesuffix(");\n"))
        key = path.relative_to(metrics).with_suffix("").as_posix()
        assert payload["series"][key]["downsampled"], path  # a file only where data.js is partial


def _metrics_dir(path: Path) -> Path:
    return next(p for p in path.parents if p.name == "metrics")


def test_links_are_relative_and_resolve(sample_site: Path) -> None:
    for page in sample_site.rglob("*.html"):
        html = page.read_text()
        assert 'href="/' not in html and 'src="/' not in html, page
        for link in _LINK.findall(html):
            if link.startswith(("http://", "https://", "#", "mailto:")):
                continue
            target = link.split("#")[0].split("?")[0]
            from urllib.parse import unquote

            resolved = (page.parent / unquote(target)).resolve()
            assert resolved.exists(), f"{page.relative_to(sample_site)} links to missing {link}"


def test_home_lists_experiments_best_values_and_recent_runs(sample_site: Path) -> None:
    html = (sample_site / "index.html").read_text()
    assert 'id="site-search"' in html and 'id="search-results"' in html
    assert '<script src="search.js"></script>' in html
    assert "diabetes-regression" in html and "(lower is better)" in html
    assert html.count('<tr>\n      <th scope="row"><a href="runs/') == 10  # recent runs


def test_experiment_page_has_the_client_hooks(sample_site: Path) -> None:
    page = next(
        p for p in (sample_site / "experiments").glob("*/index.html") if "diabetes" in p.read_text()
    )
    html = page.read_text()
    eid = page.parent.name
    assert f'<div id="runs-app" class="mt-runs-app" data-experiment-id="{eid}">' in html
    assert f'id="experiment-charts" data-experiment-id="{eid}"' in html
    assert "<noscript>" in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts[0] == "../../assets/mltrail.js"
    tail = scripts[-5:]
    assert tail == [
        "../../assets/vendor/vega.min.js",
        "../../assets/vendor/vega-lite.min.js",
        "../../assets/vendor/vega-embed.min.js",
        "../../assets/chart-specs.js",
        f"../../experiments/{eid}/runs.js",
    ]


def test_two_builds_are_byte_identical(tmp_path: Path, sample_site: Path) -> None:
    again = tmp_path / "again"
    build_site(SAMPLE_STORE, again)
    assert files_of(again) == files_of(sample_site)


def test_summary_counts_pages_and_size(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    first = build_site(SAMPLE_STORE, tmp_path / "s", progress=lambda d, t: calls.append((d, t)))
    # 39 runs, 5 experiments, home, compare, 404; the Models index, 2 models, 6 versions;
    # the Projects index and the sample project's page; the Datasets index and the pages
    # of the 2 classification splits; and in this repository's checkout the page of the
    # repository.
    pages = 39 + 5 + 3 + 9 + 2 + 3 + (1 if find_repo_root(SAMPLE_STORE) else 0)
    assert first.pages_written == pages and first.pages_unchanged == 0
    assert first.site_bytes > 1_000_000 and first.seconds > 0
    assert calls[-1] == (39, 39)
    second = build_site(SAMPLE_STORE, tmp_path / "s")
    assert second.pages_written == 0 and second.pages_unchanged == pages
    assert f"0 pages written, {pages} unchanged" in second.describe()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_rests_while_a_build_reads_and_is_left_as_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    """Gathering and planning make ~10 objects per run and no cycles: full collections
    walking them cost 1.5 s of a 5 s rebuild at 100,000 runs. A long-lived process
    (``mltrail ui``) must get the collector back as it was, after a failed build too."""
    seen: dict[str, tuple[bool, int]] = {}

    def spy(name: str) -> None:
        real = getattr(pipeline, name)

        def call(*args: object, **kwargs: object) -> object:
            seen[name] = (gc.isenabled(), gc.get_freeze_count())
            return real(*args, **kwargs)

        monkeypatch.setattr(pipeline, name, call)

    spy("_plan")
    spy("_write")
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        build_site(SAMPLE_STORE, tmp_path / "site")
        assert seen["_plan"] == (False, 0)  # paused, nothing frozen yet
        assert seen["_write"][0] == enabled and seen["_write"][1] > 0  # the rest frozen
        assert (gc.isenabled(), gc.get_freeze_count()) == (enabled, 0)
        with pytest.raises(SiteBuildError):
            build_site(SAMPLE_STORE, tmp_path / "site", theme="no-such-theme")
        assert (gc.isenabled(), gc.get_freeze_count()) == (enabled, 0)
    finally:
        (gc.enable if was else gc.disable)()


def test_clean_refuses_a_folder_it_did_not_build(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(SiteBuildError, match="Refusing to clean"):
        build_site(SAMPLE_STORE, out, clean=True)
    assert (out / "precious.txt").read_text() == "keep me"


def test_clean_empties_a_built_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(SAMPLE_STORE, out)
    (out / "stray.txt").write_text("left over")
    build_site(SAMPLE_STORE, out, clean=True)
    assert not (out / "stray.txt").exists() and (out / "index.html").is_file()


def test_base_url_only_in_canonical_and_404(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(SAMPLE_STORE, out, base_url="https://acme.github.io/churn")
    home = (out / "index.html").read_text()
    assert '<link rel="canonical" href="https://acme.github.io/churn/index.html">' in home
    assert '<base href="https://acme.github.io/churn/">' in (out / "404.html").read_text()
    for page in out.rglob("*.html"):
        if page.parent == out / "projects" / "repository":
            continue  # this repository's docs, shown there, use the same example URL
        text = page.read_text().replace('rel="canonical" href="https://acme.github.io/churn/', "")
        text = text.replace('<base href="https://acme.github.io/churn/">', "")
        assert "acme.github.io" not in text, page


def test_large_artifacts_are_copied_from_the_blob_store(
    store: object, store_config: object, tracking: object, tmp_path: Path
) -> None:
    import mltrail

    store_config(large_artifact_threshold=10)  # type: ignore[operator]
    with mltrail.start_run(run_name="big") as run:
        mltrail.log_text("x" * 100, "model.bin")
        mltrail.log_text("y" * 100, "weights.bin")
    root = tmp_path / "project" / "runs"
    blobs = sorted((root / ".artifacts").rglob("*"))
    out = tmp_path / "site"
    build_site(root, out)
    copy = out / "runs" / run.info.run_id / "artifacts" / "model.bin"
    assert copy.read_text() == "x" * 100
    for blob in blobs:
        if blob.is_file() and blob.read_text() == "y" * 100:
            blob.unlink()
    build_site(root, out, clean=True)
    page = (out / "runs" / run.info.run_id / "index.html").read_text()
    assert "weights.bin" in page and "not in this site" in page
    assert not (copy.parent / "weights.bin").exists() and copy.is_file()


def test_a_process_pool_gives_the_same_site(
    tmp_path: Path, sample_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltrail_generator.pages import run as runpages

    monkeypatch.setattr(runpages, "POOL_THRESHOLD", 2)
    monkeypatch.setattr(runpages.os, "cpu_count", lambda: 2)
    pooled = tmp_path / "pooled"
    calls: list[tuple[int, int]] = []
    build_site(SAMPLE_STORE, pooled, progress=lambda d, t: calls.append((d, t)))
    assert files_of(pooled) == files_of(sample_site)
    assert calls[-1] == (39, 39)
    broken = tmp_path / "broken"
    (broken / "templates").mkdir(parents=True)
    (broken / "theme.yaml").write_text("name: broken\n")
    (broken / "templates" / "run.html").write_text("{{ run.nope }}")
    with pytest.raises(SiteBuildError, match="nope"):
        build_site(SAMPLE_STORE, tmp_path / "b", theme=str(broken))


def _tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: (size, mtime in ns)."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def test_a_build_leaves_the_store_and_its_repository_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    """docs/SITE.md: the build never writes to the store (its run index cache goes to the
    user's cache folder), at HEAD and at a --ref, first build and rebuild."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "project")
    shutil.copytree(SAMPLE_STORE, repo / "runs", ignore=shutil.ignore_patterns(".cache"))
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "Add the store")
    before = _tree_state(repo)
    build_site(repo / "runs", tmp_path / "site")
    build_site(repo / "runs", tmp_path / "site")
    build_site(repo / "runs", tmp_path / "at-head", ref="HEAD")
    assert _tree_state(repo) == before
    assert run_git(repo, "status", "--porcelain", "--ignored") == ""
    cached = {p.name.split(".")[0] for p in (tmp_path / "cache/mltrail/runs-index").iterdir()}
    assert len(cached) == 1  # the store at HEAD; the --ref export keeps none


def test_a_store_opened_read_only_refuses_writes(tmp_path: Path) -> None:
    store = FileStore.open_read_only(SAMPLE_STORE)
    run = store.all_runs()[0]
    with pytest.raises(StoreError, match="read-only"):
        store.update_run(run.info.run_id, run_name="renamed")
    with pytest.raises(StoreError, match="read-only"):
        store.create_experiment("new")
    assert store.get_run(run.info.run_id).info.run_name == run.info.run_name


def test_keys_with_colons_and_any_script_get_files_and_links(
    tracking: FileStore, tmp_path: Path
) -> None:
    """MLflow's keys (``val:acc``, ``损失/train``): the site's CSV copies are named as
    the store's histories (``%XX``), and every link to them opens."""
    with mltrail.start_run() as run:
        mltrail.log_params({"opt:lr": 0.1, "模型": "mlp"})
        for step, value in enumerate((0.5, 0.7)):
            mltrail.log_metrics({"val:acc": value, "损失/train": 1 - value}, step=step)
    site = tmp_path / "site"
    build_site(tracking.root, site)
    page = (site / "runs" / run.info.run_id / "index.html").read_text()
    assert "<th>val:acc<td>" in page  # its CSV link is made from data.js
    assert "val:acc" in page and "损失/train" in page and "opt:lr" in page
    report = LinkChecker(site, site.as_uri() + "/", file_exists).check_pages()
    assert report.checked and not report.problems, report.problems
