"""Every internal link and asset of the built sample site resolves: opened from disk
(``file://``) and served under a sub-path (``http://127.0.0.1:<port>/sub/project/``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.site.browse import site_base
from tests.site.linkcheck import LinkChecker, file_exists, http_exists, parse_page


@pytest.fixture(params=["file", "http"])
def checker(request: pytest.FixtureRequest, sample_site: Path) -> LinkChecker:
    if request.param == "file":
        return LinkChecker(sample_site, site_base(sample_site), file_exists)
    return LinkChecker(sample_site, request.getfixturevalue("served"), http_exists)


def test_every_link_of_every_page_resolves(checker: LinkChecker) -> None:
    report = checker.check_pages()
    assert not report.problems, "\n".join(report.problems)
    assert report.pages >= 49  # home, 404, compare, 5 experiments, 39 runs, 2 of Projects
    assert report.checked > 1000


def test_every_link_the_client_builds_resolves(checker: LinkChecker) -> None:
    report = checker.check_client_links()
    assert not report.problems, "\n".join(report.problems)
    assert report.checked > 100


def test_the_checker_finds_broken_and_non_relative_links(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "runs" / "r").mkdir(parents=True)
    (site / "ok.css").write_text("")
    (site / "runs" / "r" / "index.html").write_text(
        '<a id="top" href="#top">self</a> <a href="#nowhere">gone</a>'
        '<link href="../../ok.css?v=1"> <script src="../../missing.js"></script>'
        '<a href="../../runs/r/">folder</a> <a href="/ok.css">rooted</a>'
        '<a href="javascript:alert(1)">js</a> <a href="../../../outside.html">out</a>'
        '<a href="https://example.com/">web</a> <a href="index.html#top">frag</a>'
        '<a href="index.html#nope">bad frag</a> <img srcset="../../ok.css 1x, ../../x.png 2x">'
    )
    report = LinkChecker(site, site_base(site), file_exists).check_pages()
    problems = "\n".join(report.problems)
    assert report.checked == 13
    for bad in (
        "#nowhere\"> no id 'nowhere' here",
        'src="../../missing.js"> no such file',
        'href="../../runs/r/"> names a folder',
        'href="/ok.css"> is not a relative link',
        'href="javascript:alert(1)"> is not a relative link',
        'href="../../../outside.html"> leaves the site',
        "href=\"index.html#nope\"> no id 'nope' in runs/r/index.html",
        'srcset="../../x.png"> no such file',
    ):
        assert bad in problems, bad
    assert len(report.problems) == 8, problems


def test_pages_are_parsed_with_the_standard_parser() -> None:
    page = parse_page('<base href="x/"><a href="a&amp;b.html" id="i">x</a><img src=c.png>')
    assert page.base == "x/" and page.ids == {"i"}
    assert page.links == [("a", "href", "a&b.html"), ("img", "src", "c.png")]
