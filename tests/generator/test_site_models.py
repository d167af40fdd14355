"""The model registry in the site: the Models index, model and version pages, the run
page's Models section, the home section, search, history from git, incremental and
``--ref`` builds, escaping. Built from a real registry (``tests/site/modelstore.py``).
"""

from __future__ import annotations

import html
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

import mltrail
from mltrail.store import FileStore
from mltrail_generator import build_site, urls
from mltrail_generator.gather.modelfiles import _pretty_json
from mltrail_generator.gather.registry import LOGGED_MODELS_TAG, logged_models, site_slug
from tests.conftest import run_git
from tests.generator.conftest import files_of, mtimes_of
from tests.site.linkcheck import LinkChecker, data_payload, file_exists
from tests.site.modelstore import (
    ATTR,
    HOSTILE_NAME,
    ModelStore,
    isolated,
    make_model_store,
)

#: Never raw in a page or data file (the payloads of tests/site/modelstore.py).
RAW = ("<script>alert", "<img src=x onerror", "<b onmouseover", "</script><script>")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    return make_model_store(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="module")
def site(registry: ModelStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("registry-site") / "site"
    build_site(registry.store, out)
    return out


@pytest.fixture
def project_copy(registry: ModelStore, tmp_path: Path) -> ModelStore:
    """A private copy of the registry's repository (with its git history), free to change."""
    repo = tmp_path / "project"
    shutil.copytree(registry.repo, repo, symlinks=True)
    return ModelStore(repo, repo / "runs", registry.runs)


def text_of(fragment: str) -> str:
    """The text of an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def snippets(page: str) -> list[str]:
    found = re.findall(r'<code id="snippet-\d+"[^>]*>(.*?)</code>', page, re.DOTALL)
    return [html.unescape(s) for s in found]


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


# --- pages, links, navigation ------------------------------------------------------


def test_every_model_and_version_has_a_page_linked_from_nav_home_and_search(
    registry: ModelStore, site: Path
) -> None:
    hostile = site_slug(HOSTILE_NAME)
    for rel in (
        "models/index.html",
        "models/churn/index.html",
        *(f"models/churn/v{n}/index.html" for n in (1, 2, 3)),
        f"models/{hostile}/index.html",
        f"models/{hostile}/v1/index.html",
    ):
        assert (site / rel).is_file(), rel
    run_page = f"runs/{registry.runs['a']}/index.html"
    for rel, root in (("index.html", ""), (run_page, "../../"), ("404.html", "")):
        assert f'<a href="{root}models/index.html"' in read(site, rel), rel
    home = read(site, "index.html")
    assert 'id="models-heading"' in home and 'href="models/churn/index.html">churn</a>' in home
    index = data_payload(site / "search.js")
    assert isinstance(index, dict)
    entries = index["entries"]
    models = [(e["title"], e["url"]) for e in entries if e["kind"] == "model"]
    assert models == [
        (HOSTILE_NAME, urls.href(urls.model_page(hostile))),
        ("churn", "models/churn/index.html"),
    ]


def test_links_resolve(site: Path) -> None:
    checker = LinkChecker(site, site.as_uri() + "/", file_exists)
    for report in (checker.check_pages(), checker.check_client_links()):
        # The sanitized hostile Markdown keeps a broken <img src=x> (no handler).
        problems = [p for p in report.problems if not p.endswith('x"> no such file')]
        assert not problems, "\n".join(problems)


def test_a_store_without_models_has_no_models_pages(tracking: FileStore, tmp_path: Path) -> None:
    with mltrail.start_run():
        mltrail.log_metric("loss", 1.0)
    out = tmp_path / "site"
    build_site(tracking.root, out)
    assert not (out / "models").exists()
    home = read(out, "index.html")
    assert "models/index.html" not in home and "models-heading" not in home
    assert "Search experiments and runs" in home


# --- the model page ----------------------------------------------------------------


def test_model_page_shows_versions_history_and_snippets(registry: ModelStore, site: Path) -> None:
    page = read(site, "models/churn/index.html")
    assert "<strong>churn</strong>" in page  # the description, as Markdown
    rows = re.findall(
        r'<tr>\s*<th scope="row"><a href="[^"]+">(v\d)</a></th>(.*?)</tr>', page, re.DOTALL
    )
    assert [v for v, _ in rows] == ["v3", "v2", "v1"]
    cells = {v: text_of(row) for v, row in rows}
    assert "Staging" in cells["v3"] and "@challenger" in cells["v3"]
    assert "Production" in cells["v2"] and "@champion" in cells["v2"]
    assert "Archived" in cells["v1"]
    for v, run in (("v3", "c"), ("v2", "b"), ("v1", "a")):
        row = dict(rows)[v]
        assert f'href="../../runs/{registry.runs[run]}/index.html">{run}</a>' in row
        assert "ana" in cells[v]
        assert "tenure: double, calls: long → long" in cells[v]
    # Key metrics: the experiment's primary metric (auc) first, marked.
    assert re.search(
        r'mt-primary"><code>auc</code> 0\.82</span>.*<code>f1</code>', dict(rows)["v2"]
    )
    actions = re.findall(r'class="mt-event" data-action="(\w+)"', page)
    assert actions == ["describe", "alias", "alias", *["transition"] * 3, *["register"] * 3]
    assert "model churn v2: None -&gt; Production (archived v1)" in page
    assert "by Test User &lt;test@example.com&gt;" in page
    load, champion_or_challenger, other, serve, query = snippets(page)
    assert load == 'import mltrail\nmodel = mltrail.pyfunc.load_model("models:/churn/2")'
    assert 'load_model("models:/churn@challenger")' in champion_or_challenger
    assert 'load_model("models:/churn@champion")' in other
    assert serve == "mltrail models serve -m models:/churn/2 -p 5000"
    # The version's serving_input_example.json is short: sent inline, as one shell word.
    example = next((registry.store / "runs").rglob("serving_input_example.json"))
    words = shlex.split(query)
    assert words[:4] == ["curl", "-X", "POST", "http://127.0.0.1:5000/invocations"]
    assert words[4:8] == ["-H", "Content-Type: application/json", "--data", words[7]]
    assert json.loads(words[7]) == json.loads(example.read_text())


@pytest.mark.parametrize(
    "example",
    [
        "[" * 100_000,
        "{not json",
        '["a list", "not a request"]',
        '{"inputs": [' + "1, " * 20_000 + "1]}",
    ],
    ids=["deep", "invalid", "not-an-object", "over-the-budget"],
)
def test_a_bad_or_huge_request_example_costs_only_the_curl_snippet(
    project_copy: ModelStore, tmp_path: Path, example: str
) -> None:
    run_b = next((project_copy.store / "runs").rglob(project_copy.runs["b"]))
    (run_b / "artifacts" / "model" / "serving_input_example.json").write_text(example)
    out = tmp_path / "site"
    build_site(project_copy.store, out)
    for rel in ("models/churn/index.html", "models/churn/v2/index.html"):
        page = read(out, rel)
        assert "mltrail models serve -m models:/churn/2 -p 5000" in snippets(page)
        assert not any(s.startswith("curl") for s in snippets(page)), rel
    assert "tenure" in text_of(read(out, "models/churn/v2/index.html"))  # the input example


def test_version_page_shows_signature_example_requirements_mlmodel_lineage(site: Path) -> None:
    page = read(site, "models/churn/v2/index.html")
    text = text_of(page)
    assert re.search(
        r"Inputs\s+Name\s+Type\s+Required\s+tenure\s+double\s+yes\s+calls\s+long", text
    )
    assert '{"columns": ["tenure", "calls"], "data": [[1.0, 3], [5.0, 0]]}' in text
    assert re.search(r"<li><code>scikit-learn==[\d.]+</code></li>", page)
    assert 'class="highlight"' in page and "serialization_format" in text  # MLmodel, as YAML
    assert re.search(r"Parameters of the run.*C\s*2\.0", text, re.DOTALL)
    assert re.search(r"auc \(primary\)\s*0\.82", text)
    assert snippets(page)[0].endswith('load_model("models:/churn/2")')
    assert 'load_model("models:/churn@champion")' in snippets(page)[1]


def test_run_pages_link_logged_models_and_registered_versions(
    registry: ModelStore, site: Path
) -> None:
    d = read(site, f"runs/{registry.runs['d']}/index.html")
    section = d[d.index('id="models-heading"') : d.index('id="artifacts-heading"')]
    assert re.findall(r"<code>([^<]+)/</code>", section) == ["model", "extra/model"]
    assert text_of(section).count("not registered") == 2
    for path in ("model", "extra/model"):
        link = f"../../runs/{registry.runs['d']}/artifacts/{path}/MLmodel"
        assert f'href="{link}"' in section
        assert (site / "runs" / registry.runs["d"] / "artifacts" / path / "MLmodel").is_file()
    b = read(site, f"runs/{registry.runs['b']}/index.html")
    assert '<a href="../../models/churn/v2/index.html">churn v2</a>' in b
    hostile = site_slug(HOSTILE_NAME)
    assert f'<a href="../../{urls.href(urls.version_page(hostile, "v1"))}">' in b


# --- history, --ref, incremental, determinism --------------------------------------


def test_a_store_outside_git_says_it_has_no_history(registry: ModelStore, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(registry.store, store, ignore=shutil.ignore_patterns(".cache"))
    build_site(store, tmp_path / "site")
    page = read(tmp_path / "site", "models/churn/index.html")
    assert "This store is not in a git repository" in page
    assert 'class="mt-timeline"' not in page


def test_a_ref_build_shows_the_registry_as_of_that_commit(
    registry: ModelStore, tmp_path: Path
) -> None:
    log = run_git(registry.repo, "log", "--format=%H %s")
    ref = next(line.split()[0] for line in log.splitlines() if "register v2" in line)
    out = tmp_path / "site"
    build_site(registry.store, out, ref=ref)
    page = read(out, "models/churn/index.html")
    assert not (out / "models/churn/v3").exists()
    assert re.findall(r'data-action="(\w+)"', page) == ["register", "register"]
    assert not (out / "models" / site_slug(HOSTILE_NAME)).exists()


def test_registering_and_promoting_rewrite_only_the_pages_that_show_it(
    project_copy: ModelStore, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site(project_copy.store, out)
    assert build_site(project_copy.store, out).pages_written == 0
    d = project_copy.runs["d"]
    shown = {
        "models/index.html",
        "models/churn/index.html",
        "models/churn/v4/index.html",
        f"runs/{d}/index.html",
        "index.html",
        ".mltrail-build.json",
        # the repository's entry shows its files at HEAD, which each registry change moves
        "projects/index.html",
        "projects/repository/index.html",
    }
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("")
    for change in ("register", "promote"):
        before = mtimes_of(out)
        with isolated(project_copy.repo, gitconfig):
            mltrail.set_tracking_uri(project_copy.store)
            if change == "register":
                mltrail.register_model(f"runs:/{d}/model", "churn")
            else:
                mltrail.Client().transition_model_version_stage("churn", 4, "Staging")
        summary = build_site(project_copy.store, out)
        after = mtimes_of(out)
        assert {rel for rel, t in after.items() if before.get(rel) != t} == shown, change
        assert summary.pages_written == 7


def test_the_same_registry_gives_the_same_bytes(
    registry: ModelStore, site: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    build_site(registry.store, again)
    assert files_of(again) == files_of(site)


def test_versions_two_clones_numbered_alike_get_their_own_pages(
    project_copy: ModelStore, tmp_path: Path
) -> None:
    versions = project_copy.store / "models" / "churn" / "versions"
    first = next(p for p in sorted(versions.iterdir()) if "version: 2\n" in p.read_text())
    text = first.read_text().replace(first.stem, "zz/../../x y")  # sorts after the first
    (versions / "ffff.yaml").write_text(
        text.replace("current_stage: Production", "current_stage: None")
    )
    out = tmp_path / "site"
    build_site(project_copy.store, out)
    dups = [p.parent.name for p in (out / "models" / "churn").glob("v2-*/index.html")]
    assert len(dups) == 1 and re.fullmatch(r"v2-[0-9a-f]{16}", dups[0])  # a safe segment
    page = read(out, "models/churn/index.html")
    assert "run <code>mltrail models resolve churn</code>" in page


# --- escaping, templates ------------------------------------------------------------


def test_hostile_names_descriptions_and_tags_are_escaped(site: Path) -> None:
    checked = 0
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".js") and "artifacts" not in path.parts:
            text = path.read_text(errors="replace")
            for raw in RAW:
                assert raw not in text, f"{raw!r} raw in {path.relative_to(site)}"
            checked += 1
    assert checked > 10
    page = read(site, f"models/{site_slug(HOSTILE_NAME)}/index.html")
    assert f"<h1>{escape(HOSTILE_NAME)}</h1>" in page
    assert "javascript:" not in page and "onclick" not in page
    # A name in a snippet is a Python string literal or a shell word, escaped for HTML.
    assert json.dumps(f"models:/{HOSTILE_NAME}/1") in snippets(page)[0]
    serve = next(s for s in snippets(page) if s.startswith("mltrail models serve"))
    assert shlex.split(serve) == [
        "mltrail",
        "models",
        "serve",
        "-m",
        f"models:/{HOSTILE_NAME}/1",
        "-p",
        "5000",
    ]
    assert escape(serve) in page
    assert ATTR not in read(site, "search.js")


def test_per_item_templates_restyle_one_model(registry: ModelStore, tmp_path: Path) -> None:
    custom = tmp_path / "custom" / "templates"
    custom.mkdir(parents=True)
    for name in ("model-churn.html", "model_version-churn.html"):
        base = name.split("-")[0] + ".html"
        (custom / name).write_text(
            f'{{% extends "default:{base}" %}}{{% block footer %}}MARK {name}{{% endblock %}}'
        )
    config = tmp_path / "mltrail.yaml"
    config.write_text(f"custom_dir: {custom.parent}\n")
    out = tmp_path / "site"
    build_site(registry.store, out, config=config)
    assert "MARK model-churn.html" in read(out, "models/churn/index.html")
    assert "MARK model_version-churn.html" in read(out, "models/churn/v1/index.html")
    assert "MARK" not in read(out, f"models/{site_slug(HOSTILE_NAME)}/index.html")


# --- parsers of what model folders and run tags hold ---------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_pretty_json_keeps_the_value(value: object) -> None:
    text = json.dumps(value)
    assert json.loads(_pretty_json(text)) == json.loads(text)


@given(st.one_of(st.text(), JSON.map(json.dumps)))
def test_any_logged_models_tag_is_read(tag: str) -> None:
    for model in logged_models({LOGGED_MODELS_TAG: tag}):
        assert isinstance(model.artifact_path, str)
