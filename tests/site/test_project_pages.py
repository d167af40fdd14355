"""Project pages and sweeps in Chromium, from ``file://``: a real project run and a real
sweep of it in a git repository, built into a site. The project page renders with its
docs and entry points, every link of the site resolves (anchors included), nothing logs
an error, and the experiment page lists the sweep's runs under the sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

import mltrail
from mltrail.projects.runner import RunRequest
from mltrail.projects.sweep import run_sweep
from mltrail_generator import build_site
from tests.conftest import run_git
from tests.site.browse import Pages, site_base
from tests.site.linkcheck import LinkChecker, file_exists

pytestmark = pytest.mark.usefixtures("tracking")

MLPROJECT = """
name: churn
python_env: python_env.yaml
entry_points:
  train:
    parameters:
      alpha: {type: float, default: 0.5}
    command: "python train.py {alpha}"
"""
TRAIN = """
import sys
import mltrail
with mltrail.start_run():
    mltrail.log_metric("val_loss", 1 - float(sys.argv[1]))
"""


def _site(repo: Path, out: Path) -> tuple[str, str, list[str]]:
    """(the project run, the sweep's parent, its children) built into ``out``."""
    folder = repo / "churn"
    (folder / "docs").mkdir(parents=True)
    (folder / "MLproject").write_text(MLPROJECT)
    (folder / "python_env.yaml").write_text("python: '3.11'\n")
    (folder / "train.py").write_text(TRAIN)
    (folder / "README.md").write_text("# Churn\n\nSee [the guide](docs/guide.md).\n")
    (folder / "docs" / "guide.md").write_text("# Guide\n\nBack to the [README](../README.md).\n")
    run_git(repo, "add", "-A", ".")
    run_git(repo, "commit", "-qm", "churn project")
    request = RunRequest(str(folder), "train", experiment_name="churn", env_manager="local")
    single = mltrail.projects.run(
        str(folder), "train", parameters={"alpha": 0.2}, experiment_name="churn",
        env_manager="local",
    )  # fmt: skip
    parent, children = run_sweep(request, [{"alpha": "0.1"}, {"alpha": "0.9"}])
    build_site(repo / "runs", out)
    return single.run_id, parent, [c.run.run_id for c in children if c.run is not None]


def test_project_pages_and_sweeps_in_chromium(repo: Path, tmp_path: Path, pages: Pages) -> None:
    site = tmp_path / "site"
    single, sweep, children = _site(repo, site)
    base = site_base(site)
    report = LinkChecker(site, base, file_exists).check_pages()
    assert not report.problems, "\n".join(report.problems)

    # a run page links to its entry point's section on the project page
    page = pages.open(base, f"runs/{single}/index.html")
    page.click('a[href*="#ep-train"]')
    page.wait_for_selector("#ep-train")
    assert page.url.endswith("#ep-train") and "/projects/" in page.url
    assert page.text_content("h1").strip() == f"{repo.name}/churn"
    assert page.is_visible("#readme >> text=See the guide")
    page.click("#readme >> text=the guide")
    assert page.url.endswith("#doc-1") and page.is_visible("#doc-1 >> text=Back to the")
    assert page.text_content("#ep-train code.mt-command") == "python train.py {alpha}"
    listed = page.eval_on_selector_all(
        "#ep-train .mt-project-runs tbody tr th a", "links => links.map(a => a.href)"
    )
    everything = {single, sweep, *children}
    assert {run for link in listed for run in everything if f"runs/{run}/" in link} == everything
    page.click("nav[aria-label=Site] >> text=Projects")
    assert page.url.endswith("projects/index.html")

    # the experiment page: the sweep's runs right under it, its badge, and a fold button
    page = pages.open(base, f"runs/{sweep}/index.html")
    page.click("nav[aria-label=Breadcrumb] >> text=churn")
    page.wait_for_selector("#runs-app tbody tr.mt-run")
    rows = page.eval_on_selector_all(
        "#runs-app tbody tr.mt-run", "rows => rows.map(r => r.dataset.runId)"
    )
    at = rows.index(sweep)
    assert sorted(rows[at + 1 : at + 3]) == sorted(children) and single in rows
    badge = page.text_content(f'tr[data-run-id="{sweep}"] .mt-sweep')
    assert badge == "sweep · 2 runs · best 0.1"  # val_loss: lower is better
    marks = page.eval_on_selector_all(
        "#runs-app tbody tr.mt-run", "rows => rows.map(r => !!r.querySelector('.mt-child-mark'))"
    )
    assert marks[at + 1 : at + 3] == [True, True] and not marks[at]
    toggle = f'tr[data-run-id="{sweep}"] button.mt-group-toggle'
    assert page.get_attribute(toggle, "aria-expanded") == "true"
    page.click(toggle)
    assert page.get_attribute(toggle, "aria-expanded") == "false"
    folded = page.eval_on_selector_all(
        "#runs-app tbody tr.mt-run", "rows => rows.map(r => r.dataset.runId)"
    )
    assert sorted(folded) == sorted(set(rows) - set(children))
    assert page.text_content(".mt-count") == f"{len(rows)} runs"
    # sorted by the metric, the sweep's runs stay under it, in the column's order
    page.click(toggle)
    page.click('#runs-app th[data-column="metrics.val_loss"] button')
    rows = page.eval_on_selector_all(
        "#runs-app tbody tr.mt-run", "rows => rows.map(r => r.dataset.runId)"
    )
    at = rows.index(sweep)
    assert rows[at + 1 : at + 3] == children[::-1]  # 0.1 first: val_loss 0.1 < 0.9
