"""Test what ships: the wheel, installed on its own, builds the sample site with the themes
it carries (``mltrail/_themes``), byte for byte the site a source checkout builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.site.browse import ROOT, SAMPLE_STORE
from tests.site.update_golden import snapshot_of


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_installed_wheel_builds_the_sample_site(tmp_path: Path, sample_site: Path) -> None:
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(tmp_path),
        str(ROOT),
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("mltrail-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("theme.yaml", "templates/base.html", "static/vendor/vega.min.js"):
        assert f"mltrail/_themes/default/{shipped}" in names, shipped
    target = tmp_path / "target"
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "-q",
        "--target",
        str(target),
        str(wheel),
        cwd=tmp_path,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTRAIL_", "MLFLOW_", "GIT_"))}
    env["PYTHONPATH"] = str(target)
    work = tmp_path / "work"
    work.mkdir()
    where = _run(
        sys.executable,
        "-c",
        "import generator, generator.themes as t; print(generator.__file__); "
        "print(t.builtin_themes_dir())",
        cwd=work,
        env=env,
    ).split()
    assert where == [str(target / "generator" / "__init__.py"), str(target / "mltrail" / "_themes")]
    store = work / "store"  # a copy: reading a store writes its cache
    shutil.copytree(SAMPLE_STORE, store, ignore=shutil.ignore_patterns(".cache"))
    out = work / "site"
    summary = _run(
        sys.executable, "-m", "mltrail", "build", str(store), "-o", str(out), cwd=work, env=env
    )
    assert "39 pages written" in summary
    assert (out / "assets" / "vendor" / "vega.min.js").is_file()
    assert "breast-cancer-classification" in (out / "index.html").read_text()
    installed, checkout = snapshot_of(out), snapshot_of(sample_site)
    assert installed.paths == checkout.paths
    assert installed.text == checkout.text  # every page and data file, byte for byte
    assert installed.hashed == checkout.hashed
