"""Presentation helpers: commit links, numbers, durations, times."""

from __future__ import annotations

import math

import pytest

from mltrail_generator.theme.filters import (
    commit_url,
    datetime_utc,
    duration,
    filesize,
    iso_time,
    number,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/acme/churn.git", f"https://github.com/acme/churn/commit/{SHA}"),
        ("git@github.com:acme/churn.git", f"https://github.com/acme/churn/commit/{SHA}"),
        ("ssh://git@github.com/acme/churn", f"https://github.com/acme/churn/commit/{SHA}"),
        ("https://gitlab.com/g/sub/p.git", f"https://gitlab.com/g/sub/p/-/commit/{SHA}"),
        ("git@bitbucket.org:team/repo.git", f"https://bitbucket.org/team/repo/commits/{SHA}"),
        ("https://example.com/acme/churn.git", None),
        ("/srv/git/churn.git", None),
        ("https://github.com/only-owner", None),
        ("https://github.com/a/..", None),
    ],
)
def test_commit_url(remote: str, expected: str | None) -> None:
    assert commit_url(remote, SHA) == expected


def test_commit_url_needs_a_real_sha() -> None:
    assert commit_url("https://github.com/a/b", "main") is None
    assert commit_url("https://github.com/a/b", None) is None


def test_formatting() -> None:
    assert number(0.123456789) == "0.123457"
    assert number(3.0) == "3" and number(7) == "7"
    assert number(math.nan) == "NaN" and number(-math.inf) == "-Infinity"
    assert number(1.5e-7) == "1.5000e-07" and number(None) == "—"
    assert duration(850) == "850ms" and duration(12_300) == "12.3s"
    assert duration(245_000) == "4m 05s" and duration(7_380_000) == "2h 03m"
    assert duration(None) == "—"
    assert filesize(512) == "512 B" and filesize(2048) == "2.0 KB"
    assert datetime_utc(1_714_984_200_000) == "2024-05-06 08:30:00 UTC"
    assert iso_time(1_714_984_200_123) == "2024-05-06T08:30:00.123Z"
