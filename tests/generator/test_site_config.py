"""mltrail.yaml: declared keys, every problem reported at once, --strict, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrail_generator import build_site
from mltrail_generator.config import ConfigError, ExperimentSettings, NavLink, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mltrail.yaml"
    path.write_text(text)
    return path


def test_a_valid_config_is_read(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"png")
    path = _write(
        tmp_path,
        """
title: Churn
description: Models of the growth team
logo: logo.png
base_url: https://acme.github.io/churn
theme: default
nav:
  - {title: Docs, url: docs/index.html}
  - {title: Repo, url: "https://github.com/acme/churn"}
experiments:
  churn: {primary_metric: val/auc, lower_is_better: false}
""",
    )
    config = load_config(path)
    assert config.title == "Churn" and config.logo == tmp_path / "logo.png"
    assert config.base_url == "https://acme.github.io/churn/"
    assert config.nav[1] == NavLink("Repo", "https://github.com/acme/churn")
    assert config.settings_for("churn") == ExperimentSettings("val/auc", False)
    assert config.settings_for("other") == ExperimentSettings()


def test_every_error_is_reported_together(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
title: 3
logo: missing.png
base_url: ftp://example.com
nav: [{title: Docs}, {title: Abs, url: /abs}]
experiments:
  churn: {primary_metric: 7, lower_is_better: "yes"}
""",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    for key in (
        "title: expected a string",
        "logo: no such file",
        "base_url: expected an http(s) URL",
        "nav[0].url: expected a string",
        "nav[1].url: use a path relative",
        "experiments.churn.primary_metric: expected a metric key",
        "experiments.churn.lower_is_better: expected true or false",
    ):
        assert key in text, key
    assert str(path) in text and "7 problem(s)" in text


def test_unknown_keys_warn_and_fail_under_strict(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "titel: Typo\nexperiments: {churn: {metric: x}}\n")
    load_config(path)
    assert "titel: unknown key" in caplog.text
    assert "experiments.churn.metric: unknown key" in caplog.text
    with pytest.raises(ConfigError, match="under --strict"):
        load_config(path, strict=True)


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "title: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(_write(tmp_path, "- a list\n"))


def test_flags_override_the_file_only_when_given(tmp_path: Path) -> None:
    path = _write(tmp_path, "base_url: https://a.example/\ntheme: default\n")
    assert load_config(path, overrides={"base_url": None}).base_url == "https://a.example/"
    config = load_config(path, overrides={"base_url": "https://b.example/x"})
    assert config.base_url == "https://b.example/x/"


def test_experiment_warnings_come_from_the_build(
    store_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (store_copy / "mltrail.yaml").write_text(
        "experiments:\n  nope: {primary_metric: x}\n"
        "  diabetes-regression: {primary_metric: not_logged}\n"
    )
    build_site(store_copy, tmp_path / "site")
    assert "experiments.nope: no such experiment" in caplog.text
    assert "no run logged 'not_logged'" in caplog.text
    with pytest.raises(ConfigError, match="2 problem"):
        build_site(store_copy, tmp_path / "site", strict=True)


def test_primary_metric_from_config_sets_the_best_run(store_copy: Path, tmp_path: Path) -> None:
    (store_copy / "mltrail.yaml").write_text(
        "title: Sample\nexperiments:\n"
        "  diabetes-regression: {primary_metric: cv_rmse, lower_is_better: false}\n"
    )
    build_site(store_copy, tmp_path / "site")
    home = (tmp_path / "site" / "index.html").read_text()
    assert "<title>Sample</title>" in home
    assert '<code>cv_rmse</code> <span class="mt-muted">(higher is better)</span>' in home
