"""Script bundles: the scripts of a page kind with many pages, joined into one file under
``assets/`` so that each of its pages needs one ``<script>`` tag instead of eight.

A run page (100,000 of them in a big site) loads the site's scripts that are not only
the experiment and compare pages', then vega, vega-lite, vega-embed and the chart specs;
:data:`RUN_SCRIPTS` writes them, in that order, to ``assets/bundles/run.js``. The files
stay in ``assets/`` as well, for the other pages and for themes that list them.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from .. import urls
from ..output import charts
from ..output.files import PageWriter
from .assets import chart_specs_inputs
from .base import VENDOR_SCRIPTS, Build, Job, Part, SiteInfo, digest

#: The default theme's scripts only the experiment and compare pages use: a run page
#: does not load them.
OTHER_PAGES_SCRIPTS = frozenset(
    {
        "columns.js",
        "compare.js",
        "copy.js",  # the model pages' snippets
        "filter.js",
        "rows.js",
        "runsdata.js",
        "sitesearch.js",  # home's search box
        "table.js",
    }
)


def run_page_scripts(info: SiteInfo) -> tuple[str, ...]:
    """The site's scripts a run page uses (paths from the root), ``mltrail.js`` first."""
    return tuple(s for s in info.scripts if s.rpartition("/")[2] not in OTHER_PAGES_SCRIPTS)


def _plan_run_scripts(b: Build) -> Iterable[Job[None]]:
    # b.digest covers the theme's files; the chart specs change with the chart code.
    return [Job("assets:run-scripts", digest(b.digest, chart_specs_inputs()), None)]


def _write_run_scripts(b: Build, job: Job[None], writer: PageWriter) -> None:
    parts = []
    for path in (*run_page_scripts(b.info), *VENDOR_SCRIPTS):
        if path == urls.CHART_SPECS:
            code = charts.chart_specs_js().encode()
        else:
            code = b.statics[unquote(path).removeprefix(urls.ASSETS + "/")].read_bytes()
        # A newline ends a last line comment (a source map's); ";" a last statement.
        parts.append(b"/* %s */\n%s\n;\n" % (path.encode(), code))
    writer.write(urls.RUN_SCRIPTS, b"".join(parts))


RUN_SCRIPTS = Part(plan=_plan_run_scripts, write=_write_run_scripts)
