/*
 * compare.js: the compare page (<div id="compare-app">), for ?runs=<id>,<id>,...
 *
 * Each run's runs/<id>/data.js is added as a <script> tag (works on file://, where
 * fetch() does not); once all have loaded or failed, the page shows the runs' params
 * side by side with differing rows highlighted, a metrics table, one overlaid history
 * chart per metric (x as step or time) and parallel coordinates over params -> metric.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});
  const h = M.h;
  const MAX_RUNS = 50;

  /** The run ids in ?runs=a,b,c (decoded, blanks and repeats dropped). */
  function requestedIds(search) {
    const value = new URLSearchParams(search).get("runs") || "";
    const ids = [];
    for (const part of value.split(",")) {
      const id = part.trim();
      if (id && !ids.includes(id)) ids.push(id);
    }
    return ids;
  }

  function loadRun(id) {
    return new Promise((resolve) => {
      if (M.data.runs.has(id)) return resolve(M.data.runs.get(id));
      const script = document.createElement("script");
      script.src = M.url.runData(id);
      script.async = true;
      script.onload = () => resolve(M.data.runs.get(id) || null);
      script.onerror = () => resolve(null);
      document.head.appendChild(script);
    });
  }

  /** Labels for the runs' columns: the name, with the id's start when names repeat. */
  function labels(runs) {
    const counts = new Map();
    for (const run of runs) counts.set(run.name, (counts.get(run.name) || 0) + 1);
    return runs.map((run) => {
      const name = run.name || run.id;
      return counts.get(run.name) > 1 || !run.name ? `${name} (${run.id.slice(0, 8)})` : name;
    });
  }

  function unionKeys(runs, field) {
    const keys = new Set();
    for (const run of runs) for (const key of Object.keys(run[field] || {})) keys.add(key);
    return Array.from(keys).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  function sameValues(values) {
    const first = values[0];
    return values.every((v) => Object.is(v, first));
  }

  /** A table: one row per key, one column per run; rows whose values differ are marked. */
  function keyTable(runs, names, field, caption, format) {
    const keys = unionKeys(runs, field);
    const head = h(
      "tr",
      null,
      h("th", { scope: "col" }, field === "params" ? "Parameter" : "Metric"),
      names.map((name, i) =>
        h("th", { scope: "col" }, h("a", { href: M.url.run(runs[i].id) }, name)),
      ),
    );
    const rows = keys.map((key) => {
      const raw = runs.map((run) =>
        Object.prototype.hasOwnProperty.call(run[field], key) ? run[field][key] : undefined,
      );
      const differs = !sameValues(raw);
      return h(
        "tr",
        {
          class: differs ? "mt-diff" : null,
          "data-key": key,
          "data-differs": differs ? "true" : "false",
        },
        h(
          "th",
          { scope: "row" },
          key,
          differs
            ? h(
                "span",
                { class: "mt-diff-mark", title: "values differ" },
                h("span", { "aria-hidden": "true" }, " ≠"),
                h("span", { class: "mt-visually-hidden" }, " (differs)"),
              )
            : null,
        ),
        raw.map((value) =>
          value === undefined || value === null
            ? h(
                "td",
                { class: "mt-missing" },
                h("span", { class: "mt-none", title: "not recorded" }, "—"),
              )
            : h("td", { title: String(value) }, format(value)),
        ),
      );
    });
    if (!rows.length) return h("p", { class: "mt-note" }, `None of these runs has ${field}.`);
    const table = h(
      "table",
      { class: "mt-compare-table", "data-table": field },
      h("caption", { class: "mt-visually-hidden" }, caption),
      h("thead", null, head),
      h("tbody", null, rows),
    );
    return h(
      "div",
      {
        class: "mt-table-scroll mt-table-wide",
        role: "region",
        "aria-label": caption,
        tabindex: "0",
      },
      table,
    );
  }

  function onlyDiffToggle(section) {
    const box = h("input", {
      type: "checkbox",
      onchange: () => section.classList.toggle("mt-only-diff", box.checked),
    });
    return h("label", { class: "mt-check" }, box, " Show only differences");
  }

  function runsList(runs, names) {
    return h(
      "ul",
      { class: "mt-compare-runs" },
      runs.map((run, i) =>
        h(
          "li",
          null,
          h("span", { class: "mt-swatch", "data-index": String(i % 10), "aria-hidden": "true" }),
          h("a", { href: M.url.run(run.id) }, names[i]),
          " ",
          run.experiment_id !== undefined && run.experiment_id !== null
            ? h(
                "a",
                { class: "mt-muted", href: M.url.experiment(run.experiment_id) },
                `experiment ${run.experiment_id}`,
              )
            : null,
        ),
      ),
    );
  }

  function historySection(runs, names) {
    const keys = Array.from(new Set(runs.flatMap((run) => Object.keys(run.series || {})))).sort();
    if (!keys.length) return null;
    const section = h(
      "section",
      { class: "mt-compare-histories", "aria-labelledby": "compare-histories" },
      h("h2", { id: "compare-histories" }, "Metric histories"),
    );
    const charts = [];
    const toggle = M.charts.xToggle((x) => charts.forEach((c) => c.setX(x)));
    section.appendChild(toggle);
    const grid = h("div", { class: "mt-chart-grid" });
    for (const key of keys) {
      const target = h("div", { class: "mt-chart", "data-metric": key });
      grid.appendChild(
        h("figure", { class: "mt-chart-figure" }, h("figcaption", null, key), target),
      );
      const lines = runs
        .filter((run) => run.series && run.series[key])
        .map((run) => ({ run, label: names[runs.indexOf(run)], series: run.series[key] }));
      // Every chart gets all the runs' names as its color domain: a run keeps its color
      // (the one of its swatch above) in the charts where other runs have no series.
      charts.push(M.charts.overlay(target, lines, { x: "step", colorDomain: names }));
    }
    section.appendChild(grid);
    return section;
  }

  function parallelSection(runs, names) {
    const params = unionKeys(runs, "params");
    const metrics = unionKeys(runs, "metrics");
    if (!params.length || !metrics.length) return null;
    const target = h("div", { class: "mt-chart mt-chart-wide" });
    // By default the metric most of the runs have (the first by name among equals).
    const have = (key) => runs.filter((run) => Number.isFinite(run.metrics[key])).length;
    const initial = metrics.reduce(
      (best, key) => (have(key) > have(best) ? key : best),
      metrics[0],
    );
    const select = M.charts.select("Color by metric", metrics, initial, (metric) => draw(metric));
    const rows = runs.map((run, i) => Object.assign({}, run, { label: names[i] }));
    function draw(metric) {
      M.charts.parallel(target, rows, params, metric);
    }
    draw(initial);
    return h(
      "section",
      { class: "mt-compare-parallel", "aria-labelledby": "compare-parallel" },
      h("h2", { id: "compare-parallel" }, "Parallel coordinates"),
      h("div", { class: "mt-chart-controls" }, select),
      target,
    );
  }

  function render(app, runs, missing, dropped) {
    M.clear(app);
    app.classList.add("mt-compare-app");
    if (dropped) {
      app.appendChild(
        h(
          "p",
          { class: "mt-note", role: "status" },
          `Comparing the first ${MAX_RUNS} runs; ${dropped} more were left out.`,
        ),
      );
    }
    if (missing.length) {
      app.appendChild(
        h(
          "p",
          { class: "mt-error", role: "alert" },
          "Not found in this site: ",
          missing.join(", "),
        ),
      );
    }
    if (runs.length < 2) {
      app.appendChild(
        h(
          "p",
          { class: "mt-note" },
          runs.length
            ? "Pick at least two runs to compare: select them in an experiment's runs table."
            : "No runs to compare: select two or more runs in an experiment's runs table, then press Compare.",
        ),
      );
      if (!runs.length) return;
    }
    const names = labels(runs);
    const params = h(
      "section",
      { class: "mt-compare-params", "aria-labelledby": "compare-params" },
      h("h2", { id: "compare-params" }, "Parameters"),
    );
    params.append(
      onlyDiffToggle(params),
      keyTable(runs, names, "params", "Parameters of the compared runs", String),
    );
    const metrics = h(
      "section",
      { class: "mt-compare-metrics", "aria-labelledby": "compare-metrics" },
      h("h2", { id: "compare-metrics" }, "Metrics (latest)"),
    );
    metrics.append(
      onlyDiffToggle(metrics),
      keyTable(runs, names, "metrics", "Latest metrics of the compared runs", M.fmt.number),
    );
    app.append(
      h(
        "section",
        { class: "mt-compare-header", "aria-labelledby": "compare-runs" },
        h("h2", { id: "compare-runs" }, `Comparing ${runs.length} runs`),
        runsList(runs, names),
      ),
      params,
      metrics,
    );
    const histories = historySection(runs, names);
    if (histories) app.appendChild(histories);
    const parallel = parallelSection(runs, names);
    if (parallel) app.appendChild(parallel);
  }

  M.page("#compare-app", (app) => {
    let ids = requestedIds(window.location.search);
    const dropped = Math.max(0, ids.length - MAX_RUNS);
    ids = ids.slice(0, MAX_RUNS);
    app.setAttribute("aria-busy", "true");
    M.clear(app).appendChild(
      h("p", { class: "mt-loading" }, ids.length ? `Loading ${ids.length} runs…` : ""),
    );
    Promise.all(ids.map(loadRun)).then((loaded) => {
      const runs = loaded.filter(Boolean);
      const missing = ids.filter((id, i) => !loaded[i]);
      render(app, runs, missing, dropped);
      app.removeAttribute("aria-busy");
      app.dispatchEvent(new CustomEvent("mltrail:compare-ready", { detail: { runs, missing } }));
    });
  });

  M.compare = { requestedIds, labels };
})();
