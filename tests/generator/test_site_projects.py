"""Project docs in the site (issue 11 §5): real project runs in a real git repository,
built into a site. A project's files are read from git at its latest run's commit, only
from the repository that holds the store; a hostile project costs only its own content.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import mltrail
from mltrail.store import FileStore
from mltrail_generator import build_site
from mltrail_generator.config import ConfigError
from mltrail_generator.gather.projectfiles import MAX_FILE_BYTES
from tests.conftest import run_git

pytestmark = pytest.mark.usefixtures("tracking")

MLPROJECT = """
name: demo
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      label: {type: string, default: "<script>alert('default')</script>"}
      depth: int
    command: "python train.py --alpha {alpha} --depth {depth}"
  evaluate:
    parameters:
      split: {type: string, default: test}
    command: "python train.py --split {split}"
"""
TRAIN = """
import mltrail
with mltrail.start_run():
    mltrail.log_metric("loss", 0.25)
"""
README = """# Demo project

<script>alert('readme')</script>

Read the [usage notes](docs/usage.md), or [the code](train.py).
"""
USAGE = "# Usage\n\nBack to the [README](../README.md). Version ONE.\n"


def _project(repo: Path) -> Path:
    folder = repo / "proj"
    (folder / "docs").mkdir(parents=True)
    (folder / "MLproject").write_text(MLPROJECT)
    (folder / "python_env.yaml").write_text("python: '3.11'\ndependencies: [numpy]\n")
    (folder / "train.py").write_text(TRAIN)
    (folder / "README.md").write_text(README)
    (folder / "docs" / "usage.md").write_text(USAGE)
    (folder / "docs" / "notes.txt").write_text("not a doc")
    _commit(repo, "project")
    return folder


def _commit(repo: Path, message: str) -> str:
    run_git(repo, "add", "-A", ".")
    run_git(repo, "commit", "-qm", message)
    return run_git(repo, "rev-parse", "HEAD").strip()


def _run(folder: Path, entry: str = "main", **params: object) -> str:
    submitted = mltrail.projects.run(
        str(folder),
        entry_point=entry,
        parameters={"depth": 3, **params} if entry == "main" else params,
        experiment_name="exp",
        env_manager="local",
    )
    mltrail.flush()  # the run's commit lands in the background: HEAD must not move later
    return submitted.run_id


def _project_page(site: Path) -> tuple[Path, str]:
    (page,) = [p for p in (site / "projects").glob("*/index.html") if p.parent.name != "repository"]
    return page, page.read_text()


def _scripts(html: str) -> list[str]:
    """Every <script> element of a page: the site's own have a src and no body."""
    return re.findall(r"<script\b[^>]*>.*?</script>", html, re.DOTALL)


def test_a_reachable_project_shows_its_docs_entry_points_environment_and_runs(
    repo: Path, tmp_path: Path
) -> None:
    folder = _project(repo)
    first = _run(folder, alpha=0.1)
    second = _run(folder, "evaluate")
    site = tmp_path / "site"
    build_site(repo / "runs", site)

    page, html = _project_page(site)
    assert page.parent.name.startswith(f"{repo.name}-proj-")  # the repository is ./project
    assert f"<h1>{repo.name}/proj</h1>" in html and "<dt>Name</dt><dd>demo</dd>" in html
    # the README and the docs page, sanitized; a link between them goes to its section
    assert "Demo project</h3>" in html and "Version ONE" in html
    assert '<a href="#doc-1" rel="noopener noreferrer">usage notes</a>' in html
    assert '<a href="#readme" rel="noopener noreferrer">README</a>' in html
    assert '<a rel="noopener noreferrer">the code</a>' in html  # not a doc: inert
    assert "not a doc" not in html
    # entry points: parameters with types and defaults, the command
    main = html[html.index('id="ep-main"') : html.index('id="ep-evaluate"')]
    assert "<code>python train.py --alpha {alpha} --depth {depth}</code>" in main.replace(
        ' class="mt-command"', ""
    )
    assert re.search(r"<code>alpha</code></th>\s*<td>float</td>\s*<td><code>0.5</code>", main)
    assert re.search(r"<code>depth</code></th>\s*<td>int</td>\s*<td><span[^>]*>required", main)
    assert "&lt;script&gt;alert(&#39;default&#39;)&lt;/script&gt;" in main
    assert f"../../runs/{first}/index.html" in main and second not in main
    evaluate = html[html.index('id="ep-evaluate"') :]
    assert f"../../runs/{second}/index.html" in evaluate
    # the environment file, escaped and highlighted
    assert "Environment: <code>python_env.yaml</code>" in html and "numpy" in html
    # nothing the project wrote runs: the only scripts are the site's own files
    assert all(' src="' in s and "alert" not in s for s in _scripts(html))

    index = (site / "projects" / "index.html").read_text()
    assert f'href="../projects/{page.parent.name}/index.html"' in index.replace("../../", "../")
    assert "this repository" in index  # the repository holding the store has an entry
    home = (site / "index.html").read_text()
    assert '<a href="projects/index.html">Projects</a>' in home


def test_run_pages_link_their_project_entry_point_and_commit(repo: Path, tmp_path: Path) -> None:
    folder = _project(repo)
    head = run_git(repo, "rev-parse", "HEAD").strip()
    run_id = _run(folder)
    site = tmp_path / "site"
    build_site(repo / "runs", site)
    page, _ = _project_page(site)
    url = f"../../projects/{page.parent.name}/index.html"
    html = (site / "runs" / run_id / "index.html").read_text()
    assert f'<dt>Project</dt><dd><a href="{url}">{repo.name}/proj</a></dd>' in html
    assert f'<a href="{url}#ep-main"><code>main</code></a>' in html
    assert f'<a href="{url}" title="{head}: the project\'s files"><code>{head[:8]}</code></a>' in (
        html
    )


def test_docs_are_read_at_the_commit_of_the_latest_run(repo: Path, tmp_path: Path) -> None:
    folder = _project(repo)
    _run(folder)
    (folder / "docs" / "usage.md").write_text(USAGE.replace("ONE", "TWO"))
    _commit(repo, "docs two")
    (folder / "docs" / "usage.md").write_text(USAGE.replace("ONE", "THREE (not committed)"))
    site = tmp_path / "site"
    build_site(repo / "runs", site)
    page, html = _project_page(site)
    assert "Version ONE" in html and "TWO" not in html and "THREE" not in html

    (folder / "docs" / "usage.md").write_text(USAGE.replace("ONE", "TWO"))
    _run(folder)  # a later run at the later commit: the page follows it
    build_site(repo / "runs", site)
    assert "Version TWO" in page.read_text()


def test_a_store_copied_out_of_git_shows_what_the_runs_recorded(repo: Path, tmp_path: Path) -> None:
    folder = _project(repo)
    head = run_git(repo, "rev-parse", "HEAD").strip()
    _run(folder, alpha=0.7)
    copy = tmp_path / "copy"
    shutil.copytree(repo / "runs", copy, ignore=shutil.ignore_patterns(".cache"))
    site = tmp_path / "site"
    build_site(copy, site)
    assert not (site / "projects" / "repository").exists()  # not in a repository
    _, html = _project_page(site)
    assert "The store is not in a git repository, so the project&#39;s files are not shown." in (
        html
    )
    assert "Demo project" not in html and "python train.py" not in html
    main = html[html.index('id="ep-main"') :]
    assert "(as its runs recorded)" in main
    assert "<code>alpha</code>" in main and "<code>0.7</code>" in main  # the values given
    assert "<code>local</code>" in main  # the environment manager
    assert f"<code>{repo}</code>" in html and f'title="{head}"' in html  # source and commit


def test_a_commit_not_in_the_stores_repository_is_not_read(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    run_git(other, "init", "-q", "-b", "main")
    run_git(other, "config", "user.name", "T")
    run_git(other, "config", "user.email", "t@example.com")
    folder = _project(other)
    _run(folder)
    site = tmp_path / "site"
    build_site(repo / "runs", site)
    _, html = _project_page(site)
    assert "is not in the repository that holds this store" in html
    assert "Demo project" not in html


# --- hostile projects -----------------------------------------------------------------


def test_links_large_files_and_bad_mlprojects_cost_only_themselves(
    repo: Path, tmp_path: Path
) -> None:
    folder = _project(repo)
    os.symlink("/etc/passwd", folder / "docs" / "passwd.md")
    (folder / "docs" / "big.md").write_text("x" * (MAX_FILE_BYTES + 1))
    (folder / "docs" / "zz.md").write_text("# Still here\n")
    _commit(repo, "hostile docs")
    _run(folder)
    site = tmp_path / "site"
    build_site(repo / "runs", site)
    _, html = _project_page(site)
    assert "root:" not in html
    assert "docs/passwd.md is a symbolic link (links are not followed): not shown." in html
    assert "Too large to show" in html and "xxxxxxxxxx" not in html
    assert "Still here" in html and "Version ONE" in html

    (folder / "MLproject").write_text("entry_points: [not, a, mapping\n")
    _commit(repo, "broken MLproject")
    run_git(repo, "checkout", "-q", "HEAD~1", "--", "proj/MLproject")  # to run it once more
    _run(folder)
    run_git(repo, "checkout", "-q", "HEAD", "--", "proj/MLproject")
    # the latest run recorded the commit whose MLproject is broken: an error box, the rest shown
    build_site(repo / "runs", site)
    _, html = _project_page(site)
    assert '<p class="mt-error" role="alert">' in html and "is not valid YAML" in html
    assert "Demo project" in html and 'id="ep-main"' in html  # the runs' entry point


def test_a_recorded_folder_leaving_the_repository_is_never_read(
    repo: Path, store: FileStore, tmp_path: Path
) -> None:
    head = run_git(repo, "rev-parse", "HEAD").strip()
    client = mltrail.MlflowClient()
    experiment = client.create_experiment("hostile")
    for subdir in ("../../etc", "/etc", "README.md"):
        run = client.create_run(
            experiment,
            tags={
                "mlflow.source.type": "PROJECT",
                "mlflow.source.name": f"https://example.com/x#{subdir}",
                "mlflow.source.git.repoURL": "https://example.com/x",
                "mlflow.source.git.commit": head,
                "mltrail.project.subdir": subdir,
                "mlflow.project.entryPoint": "<script>alert(1)</script>",
            },
        )
        client.set_terminated(run.info.run_id)
    site = tmp_path / "site"
    build_site(store.root, site)
    pages = [p for p in (site / "projects").glob("*/index.html") if "repository" not in str(p)]
    assert len(pages) == 3
    notes = []
    for page in pages:
        html = page.read_text()
        assert "root:" not in html and "# project" not in html
        assert all(' src="' in s for s in _scripts(html))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        notes += re.findall(r'<p class="mt-warning" role="note">(.*?)</p>', html)
    assert sorted(n.split(" (")[0] for n in notes) == [
        "Its runs recorded a project folder",
        "Its runs recorded a project folder",
        f"The folder &#39;README.md&#39; does not exist at commit {head[:12]}. Shown: what its "
        "runs recorded.",
    ]


# --- the config and incremental builds --------------------------------------------------


def test_which_folders_are_docs_is_set_in_the_config(repo: Path, tmp_path: Path) -> None:
    folder = _project(repo)
    (folder / "guide").mkdir()
    (folder / "guide" / "intro.md").write_text("# Intro from the guide\n")
    _commit(repo, "guide")
    _run(folder)
    site = tmp_path / "site"
    build_site(repo / "runs", site)
    page, html = _project_page(site)
    assert "Version ONE" in html and "Intro from the guide" not in html
    config = tmp_path / "mltrail.yaml"
    config.write_text("projects:\n  docs: [guide, ./docs/]\n")
    summary = build_site(repo / "runs", site, config=config)
    html = page.read_text()
    assert "Intro from the guide" in html and "Version ONE" in html
    assert html.index("guide/intro.md") < html.index("docs/usage.md")
    assert summary.pages_written > 0
    assert build_site(repo / "runs", site, config=config).pages_written == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("projects: {docs: [../outside]}", "projects.docs[0]: '../outside' must be a folder"),
        ("projects: {docs: [/etc]}", "projects.docs[0]: '/etc' must be a folder"),
        ("projects: {docs: docs}", "projects.docs: expected a list of folders"),
        ("projects: {docs: [3]}", "projects.docs[0]: expected a folder, got int 3"),
        ("projects: [docs]", "projects: expected a mapping {docs}"),
    ],
)
def test_the_docs_setting_is_validated(repo: Path, tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "mltrail.yaml"
    config.write_text(text + "\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_site(repo / "runs", tmp_path / "site", config=config)


def test_an_unknown_projects_key_is_a_warning(repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "mltrail.yaml"
    config.write_text("projects: {doc: [x]}\n")
    with pytest.raises(ConfigError, match=re.escape("projects.doc: unknown key")):
        build_site(repo / "runs", tmp_path / "site", config=config, strict=True)


@pytest.mark.parametrize(
    ("location", "subdir", "title"),
    [
        ("sample_runs/project", "sample_runs/project", "sample_runs/project"),  # in place
        ("/home/u/repo/sub", "sub", "repo/sub"),
        ("https://github.com/a/b.git", "sub", "b/sub"),
        ("git@github.com:a/b.git", ".", "b"),
    ],
)
def test_a_project_is_titled_by_its_repository_and_folder(
    location: str, subdir: str, title: str
) -> None:
    from mltrail_generator.gather.projects import _title

    assert _title(location, subdir) == title
