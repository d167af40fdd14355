"""`mltrail ui`'s server: a real HTTP server on 127.0.0.1 that rebuilds when the store changes."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mltrail_generator.serve import SiteServer, default_output, tree_fingerprint


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_serves_the_site_and_rebuilds_on_change(store_copy: Path, tmp_path: Path) -> None:
    server = SiteServer(store_copy, tmp_path / "site", port=0)
    summary = server.start()
    try:
        assert summary.pages_written > 30
        assert server.url.startswith("http://127.0.0.1:")
        status, body = _get(server.url)
        assert status == 200 and 'id="site-search"' in body
        status, body = _get(server.url.replace("index.html", "no/such/page.html"))
        assert status == 404 and "Page not found" in body
        assert server.check() is None  # nothing changed
        exp = next((store_copy / "experiments").glob("17*/experiment.yaml"))
        exp.write_text(exp.read_text().replace("name: ", "name: renamed-", 1))
        rebuilt = server.check()
        assert rebuilt is not None and rebuilt.pages_written >= 1
        assert "renamed-" in _get(server.url)[1]
    finally:
        server.stop()


def test_a_failed_rebuild_keeps_the_last_site(
    store_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = SiteServer(store_copy, tmp_path / "site", port=0)
    server.start()
    try:
        (store_copy / "mltrail.yaml").write_text("title: [broken\n")
        assert server.check() is None
        assert "Rebuild failed" in caplog.text
        assert _get(server.url)[0] == 200
    finally:
        server.stop()


def test_fingerprint_skips_dot_folders(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    before = tree_fingerprint([tmp_path])
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "x").write_text("x")
    assert tree_fingerprint([tmp_path]) == before
    (tmp_path / "a.txt").write_text("bb")
    assert tree_fingerprint([tmp_path]) != before


def test_default_output_is_outside_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = default_output(tmp_path / "store")
    assert out.is_relative_to(tmp_path / "cache" / "mltrail" / "sites")
    assert default_output(tmp_path / "store") == out != default_output(tmp_path / "other")
