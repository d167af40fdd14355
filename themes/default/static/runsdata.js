/*
 * runsdata.js: an experiment's run columns, loaded as needed (docs/SITE.md, "Data files").
 *
 * runs.js lists its parts: runs-<n>.js next to it, each a call of
 * MLTRAIL.experimentColumns({experiment, part, columns: {field: values}}) holding whole
 * columns (one value per run, in the order of runs.js). M.loadColumns(experiment, fields)
 * adds a <script> for each part holding one of `fields` (null: every part) that is not
 * there yet, and resolves once they all arrived; the values go into the run objects, so
 * everything that reads runs (table, filter, charts) reads them as before.
 * M.onColumns(experiment, fn) calls fn(fields) each time a part arrives.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});

  const pending = new Map(); // "<experiment>/<part>" -> {promise, resolve, reject}
  const listeners = new Map(); // experiment id -> [fn]

  /** A column as written: a plain array, or {dict, codes} with -1 for a missing value. */
  function decode(column) {
    if (Array.isArray(column)) return column;
    const dict = column.dict;
    return Array.from(column.codes, (code) => (code < 0 ? null : dict[code]));
  }

  function fill(runs, field, values) {
    const n = Math.min(runs.length, values.length);
    const dot = field.indexOf(".");
    const group = dot > 0 ? field.slice(0, dot) : "";
    if (group === "metrics" || group === "params" || group === "tags") {
      const key = field.slice(dot + 1);
      const metric = group === "metrics";
      for (let i = 0; i < n; i++) {
        const value = values[i];
        if (value !== null && value !== undefined) {
          runs[i][group][key] = metric ? M.toMetric(value) : value;
        }
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      runs[i][field] = field === "id" ? String(values[i]) : values[i];
    }
  }

  function entry(experiment, part) {
    const key = experiment.id + "/" + part;
    let found = pending.get(key);
    if (!found) {
      found = {};
      found.promise = new Promise((resolve, reject) => {
        found.resolve = resolve;
        found.reject = reject;
      });
      pending.set(key, found);
    }
    return found;
  }

  M.experimentColumns = function (data) {
    const experiment = M.data.experiments.get(String(data.experiment));
    const part = Number(data.part);
    if (!experiment || experiment.loadedParts.has(part)) return;
    const fields = Object.keys(data.columns || {});
    for (const field of fields) {
      fill(experiment.runs, field, decode(data.columns[field]));
      experiment.loaded.add(field);
    }
    experiment.loadedParts.add(part);
    if (experiment.loadedParts.size === experiment.parts.length) {
      experiment.loaded.add("*");
      for (const run of experiment.runs) run.complete = true;
    }
    entry(experiment, part).resolve();
    for (const fn of listeners.get(experiment.id) || []) fn(fields);
  };

  /** Whether every run has `fields` (null: every field). */
  M.columnsLoaded = function (experiment, fields) {
    if (experiment.loaded.has("*")) return true;
    return Boolean(fields) && fields.every((f) => experiment.loaded.has(f) || !f);
  };

  /** Load the parts holding `fields` (null: all); a promise resolved when they are in. */
  M.loadColumns = function (experiment, fields) {
    if (M.columnsLoaded(experiment, fields)) return Promise.resolve();
    const wanted = [];
    experiment.parts.forEach((names, part) => {
      if (!fields || fields.some((f) => names.includes(f))) wanted.push(part);
    });
    return Promise.all(wanted.map((part) => request(experiment, part)));
  };

  function request(experiment, part) {
    const found = entry(experiment, part);
    if (!found.script && !experiment.loadedParts.has(part)) {
      const src = `${experiment.base}runs-${part}.js`;
      found.script = document.createElement("script");
      found.script.src = src;
      found.script.onerror = () => found.reject(new Error(`cannot load ${src}`));
      document.body.appendChild(found.script);
    }
    return found.promise;
  }

  M.onColumns = function (experiment, fn) {
    if (!listeners.has(experiment.id)) listeners.set(experiment.id, []);
    listeners.get(experiment.id).push(fn);
  };
})();
