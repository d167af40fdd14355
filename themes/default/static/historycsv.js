/*
 * historycsv.js: the CSV download of a metric history that data.js holds whole.
 *
 * The generator writes runs/<id>/metrics/<key>.csv (and its link in the metrics table)
 * only for a history longer than data.js keeps (downsampled); for the others this adds
 * <a class="mt-csv" data-metric="KEY" download="KEY.csv"> to the row's empty History
 * cell, with a blob: URL of the same CSV (not a data: URL, which a page checker rightly
 * distrusts): "step,timestamp,value", one line per point in the
 * order of data.js (step, then time), values spelled as Python's repr spells them
 * ("nan", "inf", "-inf" for the non-finite ones).
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});
  const h = M.h;

  /** A float as Python's repr() writes it (shortest round-trip digits). */
  function pyFloat(x) {
    if (Number.isNaN(x)) return "nan";
    if (x === Infinity) return "inf";
    if (x === -Infinity) return "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
    const exponent = Number(x.toExponential().split("e")[1]);
    if (exponent < -4 || exponent >= 16) {
      return x.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
    }
    const text = String(x);
    return /[.e]/.test(text) ? text : text + ".0";
  }

  const NONFINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

  /** The CSV of a data.js series (`value` null where `nonfinite` names the value). */
  function seriesCsv(series) {
    const lines = ["step,timestamp,value"];
    const nonfinite = series.nonfinite || {};
    for (let i = 0; i < series.step.length; i++) {
      const value = series.value[i] === null ? NONFINITE[nonfinite[i]] : series.value[i];
      lines.push(`${series.step[i]},${series.time[i]},${pyFloat(value)}`);
    }
    return lines.join("\n") + "\n";
  }

  M.historyCsv = { pyFloat, seriesCsv };

  function csvUrl(series) {
    return URL.createObjectURL(new Blob([seriesCsv(series)], { type: "text/csv" }));
  }

  /** The run page's metrics table: a CSV link in each row whose History cell is empty. */
  M.page("#run-charts[data-run-id]", (holder) => {
    M.whenRun(holder.getAttribute("data-run-id"), (run) => {
      for (const row of document.querySelectorAll("table.mt-metrics tbody tr")) {
        const cell = row.lastElementChild;
        const head = row.querySelector("th");
        const series = head && run.series[head.textContent];
        if (cell.firstChild || !series || series.downsampled) continue;
        const key = head.textContent;
        const attrs = { class: "mt-csv", "data-metric": key, href: csvUrl(series) };
        cell.appendChild(h("a", Object.assign(attrs, { download: `${key}.csv` }), "CSV"));
      }
    });
  });

  /** A theme's own <a class="mt-csv" data-metric="KEY"> without href gets the same URL. */
  M.page("a.mt-csv[data-metric]:not([href])", (link) => {
    const holder = document.getElementById("run-charts");
    const ids = Array.from(M.data.runs.keys());
    M.whenRun(holder ? holder.getAttribute("data-run-id") : ids[0], (run) => {
      const series = run.series[link.getAttribute("data-metric")];
      if (series && !series.downsampled) link.href = csvUrl(series);
    });
  });
})();
