"""A link checker for a built site: every ``href``/``src`` of every page, and the links
the client code builds from the data files (``runs.js``, ``data.js``, ``search.js``).

URLs are resolved the way a browser resolves them (``urljoin`` against the page's URL,
``<base href>`` honoured), against either the site's ``file://`` URL or its served
``http://`` URL, and then checked with ``exists(url)``. What is checked, and why, is in
docs/SITE.md: every link is relative, page links name the file, nothing leaves the site.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit
from urllib.request import url2pathname

#: URLs a page may hold that are not files of the site.
EXTERNAL = ("http://", "https://", "mailto:")
_LINK_ATTRS = ("href", "src")
_DATA_CALL = re.compile(r"\A(MLTRAIL\.\w+)\((.*)\);\n?\Z", re.DOTALL)


@dataclass
class PageLinks:
    """The links and element ids of one HTML page."""

    links: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attr, value)
    ids: set[str] = field(default_factory=set)
    base: str | None = None


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = PageLinks()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.page.ids.add(value)
            elif tag == "base" and name == "href":
                self.page.base = value
            elif name in _LINK_ATTRS:
                self.page.links.append((tag, name, value))
            elif name == "srcset":
                for candidate in value.split(","):
                    if candidate.strip():
                        self.page.links.append((tag, name, candidate.split()[0]))


def parse_page(html: str) -> PageLinks:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page


def file_exists(url: str) -> bool:
    """A ``file://`` URL names an existing file (a folder does not open its index)."""
    return Path(url2pathname(urlsplit(url).path)).is_file()


def http_exists(url: str) -> bool:
    """An ``http://`` URL answers a HEAD request with 200."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return False


def data_payload(path: Path) -> object:
    """The JSON argument of a data file (``MLTRAIL.fn({...});``)."""
    call = _DATA_CALL.match(path.read_text(encoding="utf-8"))
    assert call, f"{path} is not a data file"
    return json.loads(call.group(2))


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: int = 0  # links (or client-built URLs) looked at
    pages: int = 0


class LinkChecker:
    """Checks a site folder's links against ``base`` (its URL, ending in ``/``)."""

    def __init__(self, site: Path, base: str, exists: Callable[[str], bool]) -> None:
        self.site = site
        self.base = base
        self.exists = exists
        self._seen: dict[str, bool] = {}
        self._ids: dict[str, set[str]] = {}

    def _ok(self, url: str) -> bool:
        if url not in self._seen:
            self._seen[url] = self.exists(url)
        return self._seen[url]

    def _problem(self, url: str) -> str | None:
        """Why the absolute ``url`` (no fragment) is not a file of this site, or None."""
        plain = url.split("?", 1)[0]
        if not plain.startswith(self.base):
            return "leaves the site"
        if plain.endswith("/"):
            return "names a folder (file:// does not open its index.html)"
        if not self._ok(plain):
            return "no such file"
        return None

    def pages(self) -> Iterator[tuple[str, PageLinks]]:
        for path in sorted(self.site.rglob("*.html")):
            rel = path.relative_to(self.site).as_posix()
            if "artifacts" in rel.split("/"):
                continue  # artifact copies are the user's files, not pages of the site
            yield rel, parse_page(path.read_text(encoding="utf-8"))

    def check_pages(self) -> Report:
        report = Report()
        parsed = dict(self.pages())
        self._ids = {rel: page.ids for rel, page in parsed.items()}
        for rel, page in parsed.items():
            report.pages += 1
            page_url = self.base + rel
            if page.base is not None:
                report.problems.append(f"{rel}: has <base href={page.base!r}> (no base_url set)")
                continue
            for tag, attr, value in page.links:
                report.checked += 1
                why = self._check_link(rel, page_url, value)
                if why:
                    report.problems.append(f'{rel}: <{tag} {attr}="{value}"> {why}')
        return report

    def _check_link(self, rel: str, page_url: str, value: str) -> str | None:
        if value.startswith(EXTERNAL):
            return None
        if value.startswith("#"):
            frag = unquote(value[1:])
            return None if not frag or frag in self._ids[rel] else f"no id {frag!r} here"
        if ":" in value.split("/", 1)[0] or value.startswith("/"):
            return "is not a relative link"
        url, frag = urldefrag(urljoin(page_url, value))
        why = self._problem(url)
        if why is None and frag:
            target = url.split("?", 1)[0].removeprefix(self.base)
            if target in self._ids and unquote(frag) not in self._ids[target]:
                why = f"no id {frag!r} in {target}"
        return why

    def check_client_links(self) -> Report:
        """The URLs ``mltrail.js``'s ``M.url`` and the search box build from the data files."""
        report = Report()

        def check(source: str, rel: str) -> None:
            report.checked += 1
            why = self._problem(urljoin(self.base, rel))
            if why:
                report.problems.append(f"{source}: {rel} {why}")

        check("compare link", "compare/index.html")
        for runs_js in sorted(self.site.glob("experiments/*/runs.js")):
            source = runs_js.relative_to(self.site).as_posix()
            experiment = data_payload(runs_js)
            assert isinstance(experiment, dict)
            check(source, f"experiments/{_seg(experiment['id'])}/index.html")
            for run in experiment["runs"]:
                check(source, f"runs/{_seg(run['id'])}/index.html")
                check(source, f"runs/{_seg(run['id'])}/data.js")  # the compare page loads it
                if run["parent"]:
                    check(source, f"runs/{_seg(run['parent'])}/index.html")
        for data_js in sorted(self.site.glob("runs/*/data.js")):
            run = data_payload(data_js)
            assert isinstance(run, dict)
            source = data_js.relative_to(self.site).as_posix()
            check(source, f"experiments/{_seg(run['experiment_id'])}/index.html")
        index = data_payload(self.site / "search.js")
        assert isinstance(index, dict)
        for entry in index["entries"]:
            check("search.js", entry["url"])
        for part in index["parts"]:
            check("search.js", part)
            entries = data_payload(self.site / part)
            assert isinstance(entries, dict)
            for entry in entries.get("entries", []):
                check(part, entry["url"])
            for run_id, _, _ in entries.get("runs", []):
                check(part, f"runs/{_seg(run_id)}/index.html")  # as M.searchPart makes it
        return report


def _seg(value: object) -> str:
    """``encodeURIComponent``, as ``M.url`` applies it to ids."""
    return quote(str(value), safe="!'()*-._~")
