/*
 * chartpages.js: the chart hooks of the run and experiment pages (charts.js draws).
 *
 * Run page: #run-charts gets a figure per row of the metrics table, and every
 * <div class="metric-chart" data-metric="KEY"> gets its history, drawn
 * when it scrolls into view; the run is the data-run-id of an ancestor (the generator's
 * #run-charts) or else the page's only MLTRAIL.runData. <button data-x="step|time">
 * switch the x axis (one step/time toggle is added when the page has none).
 *
 * Experiment page: <div id="experiment-charts"> gets a metric across runs, a param-vs-
 * metric scatter and parallel coordinates, with selectors, following the runs table's
 * filter and sort ("mltrail:runs-view" events of #runs-app).
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});
  const h = M.h;
  let C = null; // M.charts, looked up at DOMContentLoaded (charts.js may load after this file)

  // ------------------------------------------------------------ run page

  function runIdFor(node) {
    const holder = node.closest("[data-run-id]");
    if (holder) return holder.getAttribute("data-run-id");
    const ids = Array.from(M.data.runs.keys());
    return ids.length === 1 ? ids[0] : null;
  }

  let runChartsStarted = false;

  function startRunCharts() {
    if (runChartsStarted) return;
    runChartsStarted = true;
    C = M.charts;
    const targets = Array.from(document.querySelectorAll(".metric-chart[data-metric]"));
    const charts = [];
    const buttons = Array.from(document.querySelectorAll("button[data-x]"));
    if (!buttons.length) {
      // One toggle for all of the page's charts, before the block that holds them.
      const toggle = C.xToggle((x) => charts.forEach((c) => c.setX(x)));
      const first = targets[0];
      const anchor =
        first.closest("#run-charts, .mt-chart-grid") || first.closest("figure") || first;
      anchor.parentNode.insertBefore(toggle, anchor);
    } else {
      C.wireToggle(buttons, (x) => charts.forEach((c) => c.setX(x)));
    }
    for (const target of targets) {
      const id = runIdFor(target);
      const key = target.getAttribute("data-metric");
      M.whenRun(id === null ? "" : id, (run) => {
        const series = run.series[key];
        if (!series) return C.note(target, "No history recorded for this metric.");
        charts.push(C.history(target, series, { x: "step" }));
        if (series.downsampled) {
          target.after(
            h(
              "p",
              { class: "mt-note" },
              `Drawn from ${M.fmt.count(series.value.length)} of ${M.fmt.count(series.count)} points (min and max of each step bucket kept); download the CSV for the full history.`,
            ),
          );
        }
      });
    }
  }

  /**
   * The run page's #run-charts: one figure per row of its metrics table (data.js holds
   * the histories, so the page itself carries no chart markup), then the charts.
   */
  function addRunFigures(holder) {
    if (holder.querySelector(".metric-chart")) return; // a theme's own figures
    const keys = Array.from(document.querySelectorAll("table.mt-metrics tbody th"));
    for (const key of keys.map((code) => code.textContent)) {
      holder.appendChild(
        h(
          "figure",
          { class: "mt-chart-figure" },
          h("figcaption", null, h("code", null, key)),
          h("div", { class: "metric-chart", "data-metric": key }),
        ),
      );
    }
    if (keys.length) startRunCharts();
  }

  M.page("#run-charts[data-run-id]", addRunFigures);
  M.page(".metric-chart[data-metric]", startRunCharts);

  // ------------------------------------------------------------ experiment page

  /**
   * The param the scatter starts with: the one most runs with a finite `metric` have,
   * preferring one whose value differs between them (a constant param is a flat line).
   */
  function initialParam(runs, params, metric) {
    let best = params[0];
    let bestScore = -1;
    for (const key of params) {
      const values = runs
        .filter((run) => Number.isFinite(run.metrics[metric]))
        .map((run) => run.params[key]);
      const present = values.filter((v) => v !== undefined && v !== null && v !== "");
      const score = (new Set(present.map(String)).size > 1 ? runs.length + 1 : 0) + present.length;
      if (score > bestScore) {
        best = key;
        bestScore = score;
      }
    }
    return best;
  }

  function experimentCharts(holder) {
    C = M.charts;
    const app = document.getElementById("runs-app");
    const id =
      holder.getAttribute("data-experiment-id") || (app && app.getAttribute("data-experiment-id"));
    M.whenExperiment(id, (experiment) => {
      let runs = experiment.runs;
      const metrics = experiment.columns.metrics;
      const params = experiment.columns.params;
      M.clear(holder).classList.add("mt-experiment-charts");
      if (!metrics.length) return C.note(holder, "No metrics recorded: nothing to chart.");
      const metric = metrics.includes(experiment.primary_metric)
        ? experiment.primary_metric
        : metrics[0];
      const state = { metric, param: initialParam(runs, params, metric) };
      // The experiment says whether lower is better for its primary metric; other metrics' is guessed.
      const lowerIsBetter = (key) =>
        key === experiment.primary_metric && typeof experiment.lower_is_better === "boolean"
          ? experiment.lower_is_better
          : C.lowerIsBetter(key);
      const targets = {
        across: h("div", { class: "mt-chart" }),
        scatter: h("div", { class: "mt-chart" }),
        parallel: h("div", { class: "mt-chart mt-chart-wide" }),
      };
      const caption = h("p", { class: "mt-note", "aria-live": "polite" });
      const controls = h(
        "div",
        { class: "mt-chart-controls" },
        C.select("Metric", metrics, state.metric, (v) => set({ metric: v })),
        params.length ? C.select("Parameter", params, state.param, (v) => set({ param: v })) : null,
      );
      holder.append(
        controls,
        caption,
        h(
          "div",
          { class: "mt-chart-grid" },
          h(
            "figure",
            { class: "mt-chart-figure" },
            h("figcaption", null, "Metric across runs"),
            targets.across,
          ),
          params.length
            ? h(
                "figure",
                { class: "mt-chart-figure" },
                h("figcaption", null, "Parameter vs metric"),
                targets.scatter,
              )
            : null,
        ),
        params.length
          ? h(
              "figure",
              { class: "mt-chart-figure" },
              h("figcaption", null, "Parallel coordinates: parameters → metric"),
              targets.parallel,
            )
          : null,
      );
      let visible = false;
      const draw = M.debounce(() => {
        caption.textContent =
          runs.length > C.LIMITS.acrossRuns
            ? `Charts follow the runs table; “metric across runs” shows its first ${C.LIMITS.acrossRuns} runs, parallel coordinates its first ${C.LIMITS.parallel}.`
            : "Charts follow the runs table's filters.";
        C.acrossRuns(targets.across, runs, state.metric, {
          lowerIsBetter: lowerIsBetter(state.metric),
        });
        if (params.length) {
          C.scatter(targets.scatter, runs, state.param, state.metric);
          C.parallel(targets.parallel, runs, params, state.metric);
        }
      }, 250);
      function set(changes) {
        Object.assign(state, changes);
        if (visible) draw();
      }
      if (app) {
        app.addEventListener("mltrail:runs-view", (event) => {
          if (event.detail.experiment === experiment) {
            runs = event.detail.runs;
            if (visible) draw();
          }
        });
        if (app.mltrailTable) runs = app.mltrailTable.shown;
      }
      // The charts read every run's metrics and params: loaded once they come into view.
      const fields = ["id", "name", ...metrics.map((k) => "metrics." + k)];
      fields.push(...params.map((k) => "params." + k));
      C.whenVisible(holder, () => {
        M.loadColumns(experiment, fields).then(() => {
          visible = true;
          draw();
        });
      });
    });
  }

  M.page("#experiment-charts", experimentCharts);
})();
