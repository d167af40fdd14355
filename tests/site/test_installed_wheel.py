"""Test what ships: the wheel, installed on its own, builds the sample site with the themes
it carries (``mltrail/_themes``), byte for byte the site a source checkout builds.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import InstalledWheel, run_ok
from tests.site.browse import SAMPLE_STORE
from tests.site.update_golden import snapshot_of


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_installed_wheel_builds_the_sample_site(
    tmp_path: Path, sample_site: Path, installed_wheel: InstalledWheel
) -> None:
    names = set(zipfile.ZipFile(installed_wheel.wheel).namelist())
    for shipped in ("theme.yaml", "templates/base.html", "static/vendor/vega.min.js"):
        assert f"mltrail/_themes/default/{shipped}" in names, shipped
    target, env = installed_wheel.target, installed_wheel.env
    work = tmp_path / "work"
    work.mkdir()
    where = run_ok(
        sys.executable,
        "-c",
        "import mltrail_generator as g, mltrail_generator.theme.loader as t; "
        "print(g.__file__); print(t.builtin_themes_dir())",
        cwd=work,
        env=env,
    ).split()
    assert where == [
        str(target / "mltrail_generator" / "__init__.py"),
        str(target / "mltrail" / "_themes"),
    ]
    store = work / "store"  # a copy: reading a store writes its cache
    shutil.copytree(SAMPLE_STORE, store, ignore=shutil.ignore_patterns(".cache"))
    out = work / "site"
    summary = run_ok(
        sys.executable, "-m", "mltrail", "build", str(store), "-o", str(out), cwd=work, env=env
    )
    assert "61 pages written" in summary
    assert (out / "assets" / "vendor" / "vega.min.js").is_file()
    assert "breast-cancer-classification" in (out / "index.html").read_text()
    installed, checkout = snapshot_of(out), snapshot_of(sample_site)
    assert installed.paths == checkout.paths
    assert installed.text == checkout.text  # every page and data file, byte for byte
    assert installed.hashed == checkout.hashed
