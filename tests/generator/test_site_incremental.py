"""Incremental builds: after one new run only what shows it is rewritten; --ref builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mltrail
from mltrail.errors import GitError
from mltrail.tracking import context
from mltrail_generator import build_site
from mltrail_generator.config import SiteBuildError
from mltrail_generator.gather.series import decode_floats, decode_ints
from mltrail_generator.output import runcolumns
from mltrail_generator.urls import MANIFEST
from tests.generator.conftest import mtimes_of


def _add_run(store: Path, experiment: str, **params: str) -> str:
    mltrail.set_tracking_uri(store)
    try:
        client = mltrail.Client()
        exp = client.get_experiment_by_name(experiment)
        assert exp is not None
        run = client.create_run(exp.experiment_id, start_time=1_800_000_000_000, run_name="new")
        for key, value in params.items():
            client.log_param(run.info.run_id, key, value)
        client.log_metric(run.info.run_id, "cv_rmse", 40.0, step=0)
        client.set_terminated(run.info.run_id, end_time=1_800_000_001_000)
        return run.info.run_id
    finally:
        context.close_all()
        context.reset_tracking_uri()


def test_a_new_run_rewrites_only_its_pages(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    monkeypatch.chdir(tmp_path)  # no code repository: no source diff artifact
    out = tmp_path / "site"
    build_site(store_copy, out)
    before = mtimes_of(out)
    run_id = _add_run(store_copy, "diabetes-regression", alpha="0.7")
    summary = build_site(store_copy, out)
    after = mtimes_of(out)
    changed = {rel for rel, t in after.items() if before.get(rel) != t}
    exp_id = next(
        p.parent.name
        for p in (out / "experiments").glob("*/index.html")
        if "<h1>diabetes-regression</h1>" in p.read_text()
    )
    assert changed == {
        f"runs/{run_id}/index.html",
        f"runs/{run_id}/data.js",
        f"experiments/{exp_id}/index.html",
        f"experiments/{exp_id}/runs.js",
        f"experiments/{exp_id}/search-0.js",  # its chunk's search entries, not search.js
        "index.html",
        ".mltrail-build.json",
    }
    assert summary.pages_written == 3  # the run, its experiment, home


def _files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_a_rebuild_after_a_new_run_is_the_full_build_and_keeps_old_chunks(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    monkeypatch.chdir(tmp_path)
    # Chunks of 2 runs, parts beyond the newest run: the sample store gets several chunks.
    monkeypatch.setattr(runcolumns, "CHUNK_RUNS", 2)
    monkeypatch.setattr(runcolumns, "HEAD_RUNS", 1)
    out = tmp_path / "site"
    build_site(store_copy, out)
    before = mtimes_of(out)
    _add_run(store_copy, "diabetes-regression", alpha="0.7")
    build_site(store_copy, out)
    fresh = tmp_path / "fresh"
    build_site(store_copy, fresh)
    built, full = _files(out), _files(fresh)
    manifests = json.loads(built.pop(MANIFEST)), json.loads(full.pop(MANIFEST))
    assert built == full
    # The same pages and files (digests may differ: a run's signature is taken from the
    # run index's record stats only once the index trusts them).
    files = [dict(zip(m["keys"], m["files"], strict=True)) for m in manifests]
    assert files[0] == files[1]
    after = mtimes_of(out)
    changed = {rel for rel, t in after.items() if before.get(rel) != t}
    # Of the chunks' files, only the newest chunk's changed (the new run is the newest).
    chunk_of = {
        rel: int(rel.rsplit("/", 1)[1].split("-")[1].removesuffix(".js"))
        for rel in after
        if rel.startswith(f"experiments/{_experiment_id(out)}/")
        and rel.rsplit("/", 1)[1].startswith(("runs-", "search-"))
    }
    newest = max(chunk_of.values())
    assert newest >= 2
    assert {rel for rel in chunk_of if rel in changed} == {
        rel for rel, chunk in chunk_of.items() if chunk == newest
    }


def _experiment_id(site: Path) -> str:
    return next(
        p.parent.name
        for p in (site / "experiments").glob("*/index.html")
        if "<h1>diabetes-regression</h1>" in p.read_text()
    )


def test_a_deleted_run_disappears_from_the_site(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    monkeypatch.chdir(tmp_path)  # no code repository: no source diff artifact
    out = tmp_path / "site"
    run_id = _add_run(store_copy, "diabetes-regression")
    build_site(store_copy, out)
    assert (out / "runs" / run_id / "index.html").is_file()
    files = [p for p in (out / "runs" / run_id).rglob("*") if p.is_file()]
    assert len(files) >= 2  # its page and data.js (and what else it has)
    mltrail.set_tracking_uri(store_copy)
    try:
        mltrail.Client().delete_run(run_id)
    finally:
        context.close_all()
        context.reset_tracking_uri()
    summary = build_site(store_copy, out)
    assert not (out / "runs" / run_id).exists()
    assert summary.files_removed == len(files)
    assert run_id not in (out / "search.js").read_text()


def test_a_changed_template_rerenders_every_page(store_copy: Path, tmp_path: Path) -> None:
    custom = store_copy / "custom"  # inside the store: config paths may not leave it
    (custom / "templates").mkdir(parents=True)
    out = tmp_path / "site"
    (store_copy / "mltrail.yaml").write_text(f"custom_dir: {custom}\n")
    build_site(store_copy, out)
    (custom / "templates" / "base.html").write_text(
        '{% extends "default:base.html" %}{% block footer %}Team ML{% endblock %}'
    )
    summary = build_site(store_copy, out)
    assert summary.pages_unchanged == 0
    assert "Team ML" in next((out / "runs").glob("*/index.html")).read_text()


def test_ref_builds_an_older_commit_without_touching_the_work_tree(
    tracking: object, repo: Path, git: object, tmp_path: Path
) -> None:
    with mltrail.start_run(run_name="first"):
        mltrail.log_metric("loss", 0.5)
    mltrail.flush()
    old = git(repo, "rev-parse", "HEAD").strip()  # type: ignore[operator]
    with mltrail.start_run(run_name="second"):
        mltrail.log_metric("loss", 0.25)
    mltrail.flush()
    status = git(repo, "status", "--porcelain")  # type: ignore[operator]
    out = tmp_path / "site"
    build_site(repo / "runs", out, ref=old)
    names = [p.read_text() for p in (out / "runs").glob("*/index.html")]
    assert len(names) == 1 and "<h1>first " in names[0]
    assert git(repo, "status", "--porcelain") == status  # type: ignore[operator]
    assert not any(tmp_path.glob(".mltrail-ref-*"))  # the export is cleaned up
    build_site(repo / "runs", out)
    assert len(list((out / "runs").glob("*/index.html"))) == 2


def test_ref_errors_name_the_revision(tracking: object, repo: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="no-such-tag"):
        build_site(repo / "runs", tmp_path / "site", ref="no-such-tag")


def test_ref_before_the_store_existed(
    tracking: object, repo: Path, git: object, tmp_path: Path
) -> None:
    first = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()  # type: ignore[operator]
    with pytest.raises(SiteBuildError, match="did not exist"):
        build_site(repo / "runs", tmp_path / "site", ref=first)


def test_a_point_logged_to_an_ended_run_rewrites_its_page(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ended runs' histories are not stat-ed one by one; the run.yaml rewrite shows it."""
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "site"
    run_id = _add_run(store_copy, "diabetes-regression", alpha="0.9")
    build_site(store_copy, out)
    mltrail.set_tracking_uri(store_copy)
    try:
        mltrail.Client().log_metric(run_id, "cv_rmse", 12.5, step=1)
    finally:
        context.close_all()
        context.reset_tracking_uri()
    build_site(store_copy, out)
    data = (out / "runs" / run_id / "data.js").read_text()
    payload = json.loads(data[data.index("(") + 1 : data.rindex(")")])
    series = payload["series"]["cv_rmse"]
    points = len(decode_ints(series.get("step", payload.get("shared", {}).get("step"))))
    assert 12.5 in decode_floats(series["value"], points)  # the CSV download is made from it
    assert "12.5" in (out / "runs" / run_id / "index.html").read_text()
