/*
 * charts.js: puts data into the Vega-Lite templates of assets/chart-specs.js
 * (MLTRAIL.chartSpecs) with vega-embed. The row fields of each template are
 * generator/output/charts.py's ROW_FIELDS. Embedding: the rows become the spec's named
 * dataset "table", renderer "svg" (canvas for big data sets), actions: false
 * (vega-embed's menu links to external editors), colors from the stylesheet's
 * variables. The view is finalized before a chart is redrawn. The chart libraries
 * (assets/vendor/) and assets/chart-specs.js are loaded with script tags on the first
 * chart when the page does not include them itself.
 *
 * MLTRAIL.charts: history, overlay, acrossRuns, scatter, parallel (and their row
 * builders), plus the select and step/time toggle controls; chartpages.js and
 * compare.js use them.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});
  const h = M.h;

  const LIMITS = { acrossRuns: 100, scatter: 10000, parallel: 500, parallelParams: 12 };
  const CANVAS_ABOVE = 2000; // rows; SVG gets slow past a few thousand marks
  const ROW_HEIGHT = 20; // metric across runs: pixels per run

  // ------------------------------------------------------------ libraries

  let libraries = null;

  function loadScript(path) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = M.url.root(path);
      script.onload = resolve;
      script.onerror = () => reject(new Error(`could not load ${script.src}`));
      document.head.appendChild(script);
    });
  }

  /**
   * Vega, Vega-Lite, vega-embed and the chart templates, loaded on first use unless the
   * page already has them: a page with 10,000 runs draws its table without waiting for
   * 800 KB of chart code.
   */
  function chartLibraries() {
    if (!libraries) {
      libraries = (async () => {
        if (!window.vega) await loadScript("assets/vendor/vega.min.js");
        if (!window.vegaLite) await loadScript("assets/vendor/vega-lite.min.js");
        if (!window.vegaEmbed) await loadScript("assets/vendor/vega-embed.min.js");
        if (!Object.keys(M.data.specs).length) await loadScript("assets/chart-specs.js");
      })();
    }
    return libraries;
  }

  /** Whether the page is dark: its --mt-bg is (a theme may set it without the media query). */
  function isDark() {
    const bg = getComputedStyle(document.documentElement).getPropertyValue("--mt-bg").trim();
    const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(bg);
    if (!hex) {
      return window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)").matches : false;
    }
    const [r, g, b] = hex.slice(1).map((part) => parseInt(part, 16) / 255);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.4;
  }

  /**
   * Vega-Lite config from the stylesheet's colors (--mt-fg, --mt-muted, --mt-border, and
   * for the marks of one-color charts --mt-series-0, or --mt-accent on a dark page, where
   * the series blue is too dim), so charts follow the light/dark scheme and a theme's
   * overrides, in SVG and canvas alike.
   */
  function themeConfig(dark) {
    const style = getComputedStyle(document.documentElement);
    const color = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    const fg = color("--mt-fg", "#1f2328");
    const muted = color("--mt-muted", "#59636e");
    const border = color("--mt-border", "#d1d9e0");
    const font = color("--mt-font", "sans-serif");
    const mark = dark ? color("--mt-accent", "#58a6ff") : color("--mt-series-0", "#4c78a8");
    return {
      background: null,
      font,
      mark: { color: mark },
      axis: {
        labelColor: muted,
        titleColor: fg,
        gridColor: border,
        gridOpacity: dark ? 0.6 : 1,
        domainColor: border,
        tickColor: border,
      },
      legend: { labelColor: fg, titleColor: fg },
      title: { color: fg },
      text: { color: fg },
      view: { stroke: null },
    };
  }

  /** Sequential schemes (viridis) start near black: on a dark page, start at 40 % (3:1 contrast). */
  function lightenSchemes(spec) {
    const color = spec.encoding && spec.encoding.color;
    const scale = color && color.type === "quantitative" && color.scale;
    if (scale && typeof scale.scheme === "string") {
      scale.scheme = { name: scale.scheme, extent: [0.4, 1] };
    }
    for (const layer of spec.layer || []) lightenSchemes(layer);
  }

  // ------------------------------------------------------------ embedding

  function note(target, text) {
    M.clear(target).appendChild(h("p", { class: "mt-note mt-chart-note" }, text));
  }

  /**
   * Draw chart `kind` with `rows` into `target`, replacing what was there.
   * Resolves to the vega-embed result (or null when charts cannot be drawn).
   */
  function embed(target, kind, rows, options) {
    const token = (target.mltrailToken || 0) + 1;
    target.mltrailToken = token;
    if (target.mltrailChart) {
      target.mltrailChart.finalize();
      target.mltrailChart = null;
    }
    if (!rows.length) {
      note(target, (options && options.empty) || "Nothing to draw.");
      return Promise.resolve(null);
    }
    return chartLibraries().then(
      () => (target.mltrailToken === token ? draw(target, kind, rows, token, options || {}) : null),
      (err) => {
        console.error("mltrail: chart libraries missing", err);
        note(target, "The chart libraries could not be loaded.");
        return null;
      },
    );
  }

  /** Give every color encoding of `field` (in any layer) a fixed domain. */
  function fixColorDomain(spec, field, domain) {
    const color = spec.encoding && spec.encoding.color;
    if (color && color.field === field) color.scale = Object.assign({}, color.scale, { domain });
    for (const layer of spec.layer || []) fixColorDomain(layer, field, domain);
  }

  function draw(target, kind, rows, token, options) {
    const template = M.data.specs[kind];
    if (!template) {
      note(target, `No chart template "${kind}" in assets/chart-specs.js.`);
      return null;
    }
    M.clear(target);
    target.classList.add("mt-chart-host");
    const spec = JSON.parse(JSON.stringify(template));
    const dark = isDark();
    if (options.colorDomain) fixColorDomain(spec, "run", options.colorDomain);
    if (dark) lightenSchemes(spec);
    if (options.patch) options.patch(spec);
    // The rows go in as the named dataset "table" before the first render (putting them
    // in afterwards with view.data() draws an empty chart first, with warnings).
    spec.datasets = Object.assign({}, spec.datasets, { table: rows });
    const embedOptions = {
      renderer: rows.length > CANVAS_ABOVE ? "canvas" : "svg",
      actions: false,
      mode: "vega-lite",
      config: themeConfig(dark),
    };
    return window
      .vegaEmbed(target, spec, embedOptions)
      .then((result) => {
        if (target.mltrailToken !== token) {
          result.finalize();
          return null;
        }
        target.mltrailChart = result;
        target.setAttribute("data-chart-kind", kind);
        target.setAttribute("data-rows", String(rows.length));
        return result;
      })
      .catch((err) => {
        console.error("mltrail: chart failed", kind, err);
        note(target, "This chart could not be drawn.");
        return null;
      });
  }

  /** Run fn the first time `target` comes near the viewport. */
  function whenVisible(target, fn) {
    if (typeof IntersectionObserver !== "function") return fn();
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          observer.disconnect();
          fn();
        }
      },
      { rootMargin: "300px" },
    );
    observer.observe(target);
  }

  // ------------------------------------------------------------ rows

  /** History rows {step, time, value, nonfinite?} from a series of MLTRAIL.runData. */
  function historyRows(series, extra) {
    const steps = series.step || [];
    const times = series.time || [];
    const values = series.value || [];
    const nonfinite = series.nonfinite || {};
    const rows = new Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const row = Object.assign({ step: steps[i], time: times[i], value: values[i] }, extra);
      if (values[i] === null || values[i] === undefined) {
        row.value = null;
        const kind = nonfinite[String(i)];
        if (kind) row.nonfinite = kind;
      }
      rows[i] = row;
    }
    return rows;
  }

  function isNumber(value) {
    return typeof value === "number"
      ? Number.isFinite(value)
      : typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value));
  }

  const isMissing = (value) => value === undefined || value === null || value === "";

  /**
   * Long rows {run, run_id, dimension, value, norm, metric} over params, the metric last,
   * for the runs with a finite metric. A run lacking a param gets a row with value and
   * norm null there (its line breaks); a param none of them has gets no axis.
   */
  function parallelRows(runs, params, metric, label) {
    const withMetric = runs.filter((run) => Number.isFinite(run.metrics[metric]));
    const get = (run, dim, i) => (i === params.length ? run.metrics[metric] : run.params[dim]);
    const dims = params
      .concat([metric])
      .filter((dim, i) => withMetric.some((run) => !isMissing(get(run, dim, i))));
    const index = (dim) => (dim === metric ? params.length : params.indexOf(dim));
    const scales = dims.map((dim) => {
      const values = withMetric
        .map((run) => get(run, dim, index(dim)))
        .filter((v) => !isMissing(v));
      if (values.every(isNumber)) {
        const numbers = values.map(Number);
        const lo = Math.min(...numbers);
        const hi = Math.max(...numbers);
        return { numeric: true, norm: (v) => (hi > lo ? (Number(v) - lo) / (hi - lo) : 0.5) };
      }
      const categories = Array.from(new Set(values.map(String))).sort((a, b) =>
        a.localeCompare(b, "en", { numeric: true }),
      );
      const last = Math.max(1, categories.length - 1);
      return {
        numeric: false,
        norm: (v) => (categories.length > 1 ? categories.indexOf(String(v)) / last : 0.5),
      };
    });
    // Dimension by dimension: the axes' order is the order the rows first name them, so
    // the metric's axis stays last.
    const names = withMetric.map((run) => (label ? label(run) : run.name || run.id));
    const rows = [];
    dims.forEach((dim, i) => {
      const scale = scales[i];
      withMetric.forEach((run, r) => {
        const value = get(run, dim, index(dim));
        const missing = isMissing(value);
        rows.push({
          run: names[r],
          run_id: run.id,
          dimension: dim,
          value: missing ? null : scale.numeric ? Number(value) : String(value),
          norm: missing ? null : scale.norm(value),
          metric: run.metrics[metric],
        });
      });
    });
    return rows;
  }

  /** The params worth an axis: those whose value differs between the runs (else all). */
  function varyingParams(runs, params) {
    const varying = params.filter(
      (key) =>
        new Set(
          runs
            .map((run) => run.params[key])
            .filter((v) => !isMissing(v))
            .map(String),
        ).size > 1,
    );
    return varying.length ? varying : params;
  }

  /** Metric keys where lower is better, as the generator guesses them (docs/SITE.md). */
  const LOWER_IS_BETTER = /(loss|err|error|rmse|mse|mae|perplexity)$/i;

  function lowerIsBetter(metric) {
    return LOWER_IS_BETTER.test(String(metric).split("/").pop());
  }

  // ------------------------------------------------------------ controls

  /** A labelled <select> calling onChange(value). */
  function select(label, values, current, onChange) {
    const id = M.uid("chart-select");
    const box = h(
      "select",
      { id, class: "mt-select", onchange: () => onChange(box.value) },
      values.map((v) => h("option", { value: v, selected: v === current }, v)),
    );
    return h("span", { class: "mt-field mt-inline" }, h("label", { for: id }, label), box);
  }

  /** A step/time toggle: two buttons with aria-pressed, data-x="step|time". */
  function xToggle(onChange) {
    const buttons = ["step", "time"].map((x) =>
      h(
        "button",
        {
          type: "button",
          class: "mt-button mt-secondary",
          "data-x": x,
          "aria-pressed": x === "step" ? "true" : "false",
        },
        x === "step" ? "Step" : "Time",
      ),
    );
    const group = h(
      "div",
      { class: "mt-x-toggle", role: "group", "aria-label": "X axis" },
      h("span", { class: "mt-muted" }, "X axis: "),
      buttons,
    );
    wireToggle(buttons, onChange);
    return group;
  }

  function wireToggle(buttons, onChange) {
    for (const button of buttons) {
      button.addEventListener("click", () => {
        const x = button.getAttribute("data-x") === "time" ? "time" : "step";
        for (const other of buttons) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        }
        onChange(x);
      });
    }
  }

  // ------------------------------------------------------------ chart objects

  /** An overlay chart of several runs' series of one metric: {setX(x)}. */
  function overlay(target, lines, options) {
    let x = (options && options.x) || "step";
    let drawn = false;
    const rows = [];
    for (const line of lines) {
      rows.push(...historyRows(line.series, { run: line.label }).filter((r) => r.value !== null));
    }
    const domain = options && options.colorDomain;
    const draw = () =>
      embed(target, x === "time" ? "overlay_time" : "overlay", rows, { colorDomain: domain });
    whenVisible(target, () => {
      drawn = true;
      draw();
    });
    return {
      setX(value) {
        x = value;
        if (drawn) draw();
      },
    };
  }

  /** A history chart of one series: {setX(x)}. */
  function history(target, series, options) {
    let x = (options && options.x) || "step";
    let drawn = false;
    const rows = historyRows(series);
    const draw = () => embed(target, x === "time" ? "history_time" : "history", rows);
    whenVisible(target, () => {
      drawn = true;
      draw();
    });
    return {
      setX(value) {
        x = value;
        if (drawn) draw();
      },
    };
  }

  function parallel(target, runs, params, metric) {
    const shown = runs
      .slice(0, LIMITS.parallel)
      .filter((run) => Number.isFinite(run.metrics[metric]));
    const axes = varyingParams(shown, params).slice(0, LIMITS.parallelParams);
    const rows = parallelRows(shown, axes, metric, (run) => run.label || run.name || run.id);
    return embed(target, "parallel", rows, { empty: `No run has a finite ${metric}.` });
  }

  /**
   * One point per run (the first LIMITS.acrossRuns with a finite value), best first:
   * ascending when options.lowerIsBetter (default: guessed from the key), else descending.
   */
  function acrossRuns(target, runs, metric, options) {
    const picked = [];
    for (const run of runs) {
      if (Number.isFinite(run.metrics[metric])) picked.push(run);
      if (picked.length >= LIMITS.acrossRuns) break;
    }
    const lower =
      options && typeof options.lowerIsBetter === "boolean"
        ? options.lowerIsBetter
        : lowerIsBetter(metric);
    picked.sort((a, b) =>
      lower ? a.metrics[metric] - b.metrics[metric] : b.metrics[metric] - a.metrics[metric],
    );
    // One row per run on a nominal axis: runs sharing a name get their id's start.
    const names = new Map();
    for (const run of picked) names.set(run.name, (names.get(run.name) || 0) + 1);
    const rows = picked.map((run) => ({
      run: !run.name
        ? run.id
        : names.get(run.name) > 1
          ? `${run.name} (${run.id.slice(0, 8)})`
          : run.name,
      run_id: run.id,
      value: run.metrics[metric],
    }));
    return embed(target, "metric_across_runs", rows, {
      empty: `No run has a finite ${metric}.`,
      patch(spec) {
        spec.height = ROW_HEIGHT * rows.length;
        spec.encoding.x.title = `${metric} (${lower ? "lower" : "higher"} is better)`;
      },
    });
  }

  function scatter(target, runs, param, metric) {
    const rows = [];
    for (const run of runs) {
      const x = run.params[param];
      const y = run.metrics[metric];
      if (isMissing(x) || !Number.isFinite(y)) continue;
      rows.push({ run: run.name || run.id, run_id: run.id, x, y });
      if (rows.length >= LIMITS.scatter) break;
    }
    const numeric = rows.every((row) => isNumber(row.x));
    if (numeric) for (const row of rows) row.x = Number(row.x);
    const xs = numeric ? rows.map((row) => row.x) : [];
    // Values over two decades or more (learning rates, regularization) on a log axis.
    const log = xs.length > 1 && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= 100;
    return embed(target, numeric ? "scatter" : "scatter_nominal", rows, {
      empty: `No run has both ${param} and a finite ${metric}.`,
      patch(spec) {
        spec.encoding.x.title = log ? `${param} (log scale)` : param;
        spec.encoding.y.title = metric;
        if (log) {
          const scale = Object.assign({}, spec.encoding.x.scale, { type: "log" });
          delete scale.zero; // a log scale has none (Vega-Lite warns)
          spec.encoding.x.scale = scale;
          // Ticks and grid lines at the powers of ten only (not at every 2..9 multiple).
          const powers = [];
          for (
            let e = Math.floor(Math.log10(Math.min(...xs)));
            e <= Math.ceil(Math.log10(Math.max(...xs)));
            e++
          ) {
            powers.push(Number(`1e${e}`));
          }
          spec.encoding.x.axis = Object.assign({}, spec.encoding.x.axis, { values: powers });
          delete spec.encoding.x.axis.tickCount;
        }
      },
    });
  }

  M.charts = {
    embed,
    note,
    historyRows,
    parallelRows,
    varyingParams,
    lowerIsBetter,
    select,
    xToggle,
    wireToggle,
    overlay,
    history,
    parallel,
    acrossRuns,
    scatter,
    whenVisible,
    LIMITS,
  };
})();
