"""A hostile store builds safely: ``mltrail build`` of a store whose site config, theme or
templates were written by an attacker (a clone, a pull request built by CI) refuses
what would run code, read files outside the store or put a script link on the site,
with a one-line error naming the file and key; nothing from outside reaches the site.
``mltrail ui``'s server answers only requests naming its own address (DNS rebinding).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import mltrail
from mltrail.cli import build_cli
from mltrail.store import FileStore
from mltrail.tracking import context
from mltrail_generator.confine import web_link
from mltrail_generator.serve import HostCheck, SiteServer

#: What the files outside the store hold: it must never show up in a built site.
SECRET = "TOP-SECRET-4f1c9e"


@pytest.fixture
def store(store: FileStore, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The root of a small store (one experiment, one run with a metric) in a git repo."""
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    monkeypatch.chdir(repo)
    try:
        client = mltrail.Client(tracking_uri=str(store.root))
        run = client.create_run(client.create_experiment("exp"), run_name="r1")
        client.log_metric(run.info.run_id, "loss", 0.5, step=0)
        client.set_terminated(run.info.run_id)
    finally:
        context.close_all()
    yield store.root


@pytest.fixture
def outside(store: Path) -> Path:
    """A folder beside the store holding secrets: a file, an image, a theme, templates."""
    folder = store.parent / "outside"
    (folder / "templates").mkdir(parents=True)
    (folder / "static").mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n")
    (folder / "secret.png").write_text(SECRET)
    (folder / "theme.yaml").write_text("name: outside\n")
    (folder / "templates" / "index.html").write_text(SECRET)
    (folder / "templates" / "secret.html").write_text(SECRET)
    (folder / "static" / "secret.css").write_text(f"/* {SECRET} */")
    return folder


def build(store: Path, out: Path, *args: str) -> tuple[int, str]:
    """``mltrail build STORE -o OUT ...``: its exit code and output."""
    result = CliRunner().invoke(build_cli(), ["build", str(store), "-o", str(out), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def refused(store: Path, out: Path, *args: str) -> str:
    """The error of a build that must fail: one ``Error:`` line (or a listed config)."""
    code, output = build(store, out, *args)
    assert code != 0, output
    assert output.startswith("Error: ")
    assert_nothing_leaked(out)
    return output


def assert_nothing_leaked(out: Path) -> None:
    """No file of the site holds the secret, and the site holds no links."""
    if not out.exists():
        return
    for path in out.rglob("*"):
        assert not path.is_symlink(), path
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def config(store: Path, text: str) -> Path:
    path = store / "mltrail.yaml"
    path.write_text(text)
    return path


def theme(folder: Path, templates: dict[str, str], theme_yaml: str | None = None) -> Path:
    """A theme (``theme_yaml`` given) or custom_dir folder with these templates."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in templates.items():
        (folder / "templates" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "templates" / name).write_text(text)
    if theme_yaml is not None:
        (folder / "theme.yaml").write_text(theme_yaml)
    return folder


# --- nav links -----------------------------------------------------------------------

SCRIPT_LINKS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "javascript\x00:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example\\x",
    "/etc/passwd",
    "https:evil.example",
    "https:///evil.example",
    "http://",
    "file:///etc/passwd",
    "mailto:a@example.com",
]


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if k == "href" and v is not None]


def hrefs(page: Path) -> list[str]:
    parser = _Hrefs()
    parser.feed(page.read_text())
    return parser.hrefs


@pytest.mark.parametrize("url", SCRIPT_LINKS)
def test_a_nav_link_that_is_not_a_web_link_is_refused(
    store: Path, tmp_path: Path, url: str
) -> None:
    path = config(store, f"nav:\n  - title: Docs\n    url: {_yaml_string(url)}\n")
    output = refused(store, tmp_path / "site")
    assert f"{path}: nav[0].url: use a path relative to the site root" in output
    assert "or an http(s):// URL" in output
    assert not (tmp_path / "site" / "index.html").exists()


def _yaml_string(text: str) -> str:
    """``text`` as a double-quoted YAML scalar (control characters escaped)."""
    escaped = "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or c in '"\\' else c for c in text)
    return f'"{escaped}"'


def browser_scheme(url: str) -> str | None:
    """The scheme a browser's URL parser finds in ``url`` (WHATWG: ends stripped of C0
    controls and spaces, tabs and newlines removed, scheme case-insensitive)."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip("".join(map(chr, range(0x21)))))
    found = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return found.group(1).lower() if found else None


LINKISH = st.text(st.sampled_from("aJjSsvVdDhHtTpP:/\\.\t\n\x00 \x1f#?@%&;-"), max_size=14)


@given(st.one_of(LINKISH, st.text(max_size=14), LINKISH.map(lambda t: "javascript:" + t)))
def test_a_kept_link_is_relative_or_web_for_a_browser_too(url: str) -> None:
    link = web_link(url)
    if link is None:
        return
    scheme = browser_scheme(link)
    assert scheme in (None, "http", "https"), link
    assert scheme is not None or not link.lstrip().startswith(("/", "\\")), link
    assert scheme is None or link.startswith(f"{scheme}://"), link
    assert browser_scheme(url) == scheme  # what was checked is what the browser reads


def test_web_links_are_kept_and_rendered_as_such(store: Path, tmp_path: Path) -> None:
    config(
        store,
        "nav:\n"
        "  - {title: Docs, url: docs/index.html}\n"
        "  - {title: Up, url: ../other/}\n"
        "  - {title: Repo, url: 'HTTPS://Example.com/a b?q=1#x'}\n"
        "  - {title: Colon, url: './a:b.html'}\n",
    )
    out = tmp_path / "site"
    code, output = build(store, out)
    assert code == 0, output
    links = hrefs(out / "index.html")
    assert {"docs/index.html", "../other/", "https://Example.com/a b?q=1#x", "./a:b.html"} <= set(
        links
    )
    run_page = next((out / "runs").glob("*/index.html"))
    assert "../../docs/index.html" in hrefs(run_page)
    for page in out.rglob("*.html"):
        for href in hrefs(page):
            assert not href.lower().lstrip().startswith(("javascript:", "data:", "//")), href


# --- paths in mltrail.yaml -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("logo", "../outside/secret.png", "file"),
        ("logo", "{outside}/secret.png", "file"),
        ("logo", "~/../../{outside}/secret.png", "file"),
        ("logo", "link to secret.png", "file"),
        ("custom_dir", "../outside", "folder"),
        ("custom_dir", "{outside}", "folder"),
        ("custom_dir", "..", "folder"),
        ("custom_dir", "link to .", "folder"),
        ("theme", "../outside", "folder"),
        ("theme", "{outside}", "folder"),
        ("theme", "link to .", "folder"),
    ],
)
def test_a_config_path_out_of_the_store_is_refused(
    store: Path, outside: Path, tmp_path: Path, key: str, value: str, kind: str
) -> None:
    """A path leading out, directly or through a symlink in the store (``link to X``)."""
    if value.startswith("link to "):
        target = (outside / value.removeprefix("link to ")).resolve()
        (store / "innocent").symlink_to(target)
        value = "innocent"
    path = config(store, f"{key}: {value.format(outside=outside)}\n")
    output = refused(store, tmp_path / "site")
    assert f"{path}: {key}: must be a {kind} inside {store}" in output
    assert "outside" in output
    assert value != "innocent" or f"resolves to {target}" in output
    assert not (tmp_path / "site" / "assets").exists()


def test_the_config_itself_may_not_be_a_link_out(
    store: Path, outside: Path, tmp_path: Path
) -> None:
    (outside / "site.yaml").write_text(f"title: {SECRET}\n")
    (store / "mltrail.yaml").symlink_to(outside / "site.yaml")
    output = refused(store, tmp_path / "site")
    assert "the site config is a link to a file outside the store" in output
    assert SECRET not in output


def test_a_logo_must_be_an_image_inside_the_store(store: Path, tmp_path: Path) -> None:
    (store / "page.html").write_text("<script>alert(1)</script>")
    path = config(store, "logo: page.html\n")
    output = refused(store, tmp_path / "site")
    assert f"{path}: logo: 'page.html' is not an image: use one of .avif, .gif" in output
    (store / "brand").mkdir()
    (store / "brand" / "logo.PNG").write_bytes(b"\x89PNG")
    config(store, "logo: brand/../brand/logo.PNG\n")
    code, output = build(store, tmp_path / "site")
    assert code == 0, output
    assert (tmp_path / "site" / "assets" / "logo.png").read_bytes() == b"\x89PNG"


def test_every_problem_of_the_config_is_listed_at_once(
    store: Path, outside: Path, tmp_path: Path
) -> None:
    path = config(
        store,
        f"logo: {outside}/secret.png\ncustom_dir: ../outside\n"
        "nav: [{title: x, url: 'javascript:alert(1)'}]\n",
    )
    output = refused(store, tmp_path / "site")
    assert "The site config has 3 problem(s)" in output
    for key in ("logo", "custom_dir", "nav[0].url"):
        assert f"{path}: {key}: " in output


def test_a_config_given_with_config_is_confined_to_its_folder(
    store: Path, outside: Path, tmp_path: Path
) -> None:
    """The user's own --config outside the store: its paths stay in its folder."""
    mine = tmp_path / "mine"
    (mine / "brand").mkdir(parents=True)
    (mine / "brand" / "logo.svg").write_text("<svg/>")
    (mine / "site.yaml").write_text("logo: brand/logo.svg\n")
    code, output = build(store, tmp_path / "site", "--config", str(mine / "site.yaml"))
    assert code == 0, output
    (mine / "site.yaml").write_text(f"logo: {outside}/secret.png\n")
    output = refused(store, tmp_path / "site2", "--config", str(mine / "site.yaml"))
    assert f"logo: must be a file inside {mine}" in output


# --- themes --------------------------------------------------------------------------

CODE = {
    "cycler": "{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}",
    "joiner": "{{ joiner.__init__.__globals__['os'].system('touch {marker}') }}",
    "lipsum": "{{ lipsum.__globals__['os'].popen('touch {marker}') }}",
    "self": "{{ self.__init__.__globals__['__builtins__']['open']('{marker}', 'w') }}",
    "mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "attr": "{{ (site|attr('__class__')).__init__ }}",
    "namespace": "{{ namespace.__init__.__globals__ }}",
    "format": "{{ '{0.__class__.__init__.__globals__}'.format(site) }}",
    "mutation": "{% set xs = [] %}{{ xs.append(1) }}",
    "huge": "{{ 'x' * 10 ** 9 }}",
    "power": "{{ 7 ** 100000 }}",
}


@pytest.mark.parametrize("where", ["custom_dir", "theme"])
@pytest.mark.parametrize("name", sorted(CODE))
def test_a_template_cannot_run_code(store: Path, tmp_path: Path, where: str, name: str) -> None:
    marker = tmp_path / "ran"
    payload = CODE[name].replace("{marker}", str(marker))
    partial = theme(
        store / "mine",
        {
            "index.html": '{% extends "default:index.html" %}'
            '{% block footer %}{% include "partials/evil.html" %}{% endblock %}',
            "partials/evil.html": f"before\n{payload}\n",
        },
        theme_yaml="name: mine\n" if where == "theme" else None,
    )
    config(store, f"{where}: mine\n")
    output = refused(store, tmp_path / "site")
    evil = partial / "templates" / "partials" / "evil.html"
    assert output.startswith(
        f"Error: Cannot render index.html: the template {evil}:2 tried what a theme may not do ("
    )
    assert "templates render in a sandbox (see docs/SITE.md, Themes)." in output
    assert output.count("\n") == 1
    assert not marker.exists()


def test_the_builtin_theme_still_renders_in_the_sandbox(store: Path, tmp_path: Path) -> None:
    code, output = build(store, tmp_path / "site")
    assert code == 0, output
    assert 'id="site-search"' in (tmp_path / "site" / "index.html").read_text()


@pytest.mark.parametrize(
    "include",
    [
        "/etc/passwd",
        "../../outside/templates/secret.html",
        "default:../../../outside/templates/secret.html",
        "custom:../secret.txt",
        "{outside}/templates/secret.html",
    ],
)
def test_include_reads_only_the_search_path(
    store: Path, outside: Path, tmp_path: Path, include: str
) -> None:
    name = include.format(outside=outside)
    theme(store / "mine", {"index.html": f'{{% include "{name}" %}}'})
    config(store, "custom_dir: mine\n")
    output = refused(store, tmp_path / "site")
    assert f"TemplateNotFound: {name}" in output


@pytest.mark.parametrize("tag", ["include", "extends", "import"])
def test_a_template_linked_out_of_the_theme_is_refused(
    store: Path, outside: Path, tmp_path: Path, tag: str
) -> None:
    alias = " as secret" if tag == "import" else ""
    mine = theme(store / "mine", {"index.html": f'{{% {tag} "partials/secret.html"{alias} %}}'})
    (mine / "templates" / "partials").symlink_to(outside / "templates")
    config(store, "custom_dir: mine\n")
    output = refused(store, tmp_path / "site")
    real = (outside / "templates" / "secret.html").resolve()
    assert "Error: Template 'partials/secret.html': " in output
    assert f"resolves to {real}" in output and "a theme may use only its own files" in output


@pytest.mark.parametrize("sub", ["templates", "static"])
def test_a_theme_file_linked_out_is_refused(
    store: Path, outside: Path, tmp_path: Path, sub: str
) -> None:
    mine = theme(store / "mine", {})
    (mine / sub).mkdir(exist_ok=True)
    (mine / sub / "secret.css").symlink_to(outside / "secret.txt")
    config(store, "custom_dir: mine\n")
    output = refused(store, tmp_path / "site")
    assert f"{mine / sub / 'secret.css'} resolves to {(outside / 'secret.txt').resolve()}" in output
    assert "a theme may hold only its own files" in output


@pytest.mark.parametrize("sub", ["templates", "static"])
def test_a_theme_folder_linked_out_is_refused(
    store: Path, outside: Path, tmp_path: Path, sub: str
) -> None:
    (store / "mine").mkdir()
    (store / "mine" / sub).symlink_to(outside / sub)
    config(store, "custom_dir: mine\n")
    output = refused(store, tmp_path / "site")
    assert f"Error: A theme's {sub}/ must be its own folder, but " in output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_in_a_theme_does_not_hang_the_build(store: Path, tmp_path: Path) -> None:
    mine = theme(store / "mine", {})
    (mine / "static").mkdir()
    os.mkfifo(mine / "static" / "pipe.css")
    config(store, "custom_dir: mine\n")
    output = refused(store, tmp_path / "site")
    assert "pipe.css is not a regular file" in output


@pytest.mark.parametrize("parent", ["../../outside", "/etc", "..", "a/b", "", ".hidden"])
def test_a_parent_theme_is_a_plain_name(store: Path, tmp_path: Path, parent: str) -> None:
    theme(store / "themes" / "mine", {}, theme_yaml=f"name: mine\nextends: {parent!r}\n")
    config(store, "theme: themes/mine\n")
    output = refused(store, tmp_path / "site")
    assert f"{store / 'themes' / 'mine' / 'theme.yaml'}: extends: expected a theme name" in output


def test_a_parent_theme_linked_out_is_refused(store: Path, outside: Path, tmp_path: Path) -> None:
    theme(store / "themes" / "mine", {}, theme_yaml="name: mine\nextends: other\n")
    (store / "themes" / "other").symlink_to(outside)
    config(store, "theme: themes/mine\n")
    output = refused(store, tmp_path / "site")
    assert "the parent theme 'other' must be a theme folder beside this one, but" in output


def test_a_theme_of_the_store_with_a_sibling_parent_builds(store: Path, tmp_path: Path) -> None:
    theme(
        store / "themes" / "base",
        {"index.html": '{% extends "default:index.html" %}{% block footer %}BASE{% endblock %}'},
        theme_yaml="name: base\n",
    )
    theme(store / "themes" / "mine", {}, theme_yaml="name: mine\nextends: base\n")
    config(store, "theme: themes/mine\n")
    code, output = build(store, tmp_path / "site")
    assert code == 0, output
    assert "BASE" in (tmp_path / "site" / "index.html").read_text()


# --- mltrail ui and DNS rebinding ----------------------------------------------------


@pytest.fixture
def server(store: Path, tmp_path: Path) -> Iterator[SiteServer]:
    running = SiteServer(store, tmp_path / "site", port=0)
    running.start()
    yield running
    running.stop()


def raw_get(port: int, *headers: str, path: str = "/index.html") -> tuple[int, str, bytes]:
    """A raw HTTP/1.1 GET: status, Content-Type and body."""
    lines = [f"GET {path} HTTP/1.1", *headers, "Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    types = [h for h in head.decode().split("\r\n") if h.lower().startswith("content-type:")]
    return status, types[0].split(":", 1)[1].strip() if types else "", body


@pytest.mark.parametrize(
    "headers",
    [
        ("Host: evil.example:{port}",),
        ("Host: evil.example",),
        ("Host: 127.0.0.1.evil.example:{port}",),
        ("Host: localhost.evil.example:{port}",),
        ("Host: 127.0.0.1:1{port}",),
        ("Host: 127.0.0.1",),
        ("Host: 10.0.0.1:{port}",),
        ("Host: ",),
        (),
        ("Host: 127.0.0.1:{port}", "Host: evil.example:{port}"),
    ],
)
def test_ui_refuses_a_request_for_another_host(
    server: SiteServer, headers: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    port = server.httpd.server_address[1]
    status, kind, body = raw_get(port, *(h.format(port=port) for h in headers))
    assert status == 403
    assert kind == "text/plain; charset=utf-8"
    assert body.startswith(b"Forbidden: this is mltrail ui's local server")
    assert b"<" not in body and body.count(b"\n") == 1
    assert "Refused a request naming another host" in caplog.text


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"]
)
def test_ui_answers_its_own_address(server: SiteServer, host: str) -> None:
    port = server.httpd.server_address[1]
    status, kind, body = raw_get(port, f"Host: {host.format(port=port)}")
    assert status == 200 and kind.startswith("text/html")
    assert b'id="site-search"' in body
    status, _, body = raw_get(port, f"Host: {host.format(port=port)}", path="/nope.html")
    assert status == 404 and b"Page not found" in body


def test_a_server_on_every_interface_answers_ip_addresses_only() -> None:
    check = HostCheck.for_address("0.0.0.0", "0.0.0.0", 8000)
    for host in ("192.168.1.20:8000", "[fe80::1]:8000", "localhost:8000", "0.0.0.0:8000"):
        assert check.allows(host), host
    for host in ("evil.example:8000", "192.168.1.20:8001", "192.168.1.20.nip.io:8000", None):
        assert not check.allows(host), host
    named = HostCheck.for_address("mybox.lan", "192.168.1.20", 8000)
    assert named.allows("mybox.lan:8000") and named.allows("192.168.1.20:8000")
    assert not named.allows("localhost:8000") and not named.allows("10.0.0.1:8000")
