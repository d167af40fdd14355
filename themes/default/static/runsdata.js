/*
 * runsdata.js: an experiment's run columns, loaded as needed (docs/SITE.md, "Data files").
 *
 * runs.js lists the fields of its parts (`fields`) and how many chunks of runs there are
 * (`chunks`, of `chunk_runs` runs each, oldest first). Part runs-<c>-<f>.js, next to it,
 * is a call of MLTRAIL.experimentColumns({experiment, chunk: c, field: f, values}):
 * field `fields[f]` of the runs of chunk c, oldest first. M.loadColumns(experiment,
 * fields) adds a <script> for each chunk of each field of `fields` (null: every field)
 * not there yet, and resolves once they all arrived; the values go into the run objects
 * (runs.js order: newest first), so everything that reads runs (table, filter, charts)
 * reads them as before. M.onColumns(experiment, fn) calls fn([field]) as a field completes.
 * M.nextPart and M.loadPart load the parts of some fields one at a time (the table's
 * background loading of its shown columns).
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});

  const pending = new Map(); // "<experiment>/<chunk>-<field>" -> {promise, resolve, reject}
  const listeners = new Map(); // experiment id -> [fn]

  /** A column as written: a plain array, or {dict, codes} with -1 for a missing value. */
  function decode(column) {
    if (Array.isArray(column)) return column;
    const dict = column.dict;
    return Array.from(column.codes, (code) => (code < 0 ? null : dict[code]));
  }

  /** Put `values` (chunk `chunk`, oldest first) into the runs (newest first). */
  function fill(experiment, chunk, field, values) {
    const runs = experiment.runs;
    const last = runs.length - 1 - chunk * experiment.chunkRuns;
    const n = Math.min(values.length, last + 1);
    const dot = field.indexOf(".");
    const group = dot > 0 ? field.slice(0, dot) : "";
    if (group === "metrics" || group === "params" || group === "tags") {
      const key = field.slice(dot + 1);
      const metric = group === "metrics";
      for (let k = 0; k < n; k++) {
        const value = values[k];
        if (value !== null && value !== undefined) {
          runs[last - k][group][key] = metric ? M.toMetric(value) : value;
        }
      }
      return;
    }
    for (let k = 0; k < n; k++) {
      runs[last - k][field] = field === "id" ? String(values[k]) : values[k];
    }
  }

  function entry(experiment, key) {
    const id = experiment.id + "/" + key;
    let found = pending.get(id);
    if (!found) {
      found = {};
      found.promise = new Promise((resolve, reject) => {
        found.resolve = resolve;
        found.reject = reject;
      });
      pending.set(id, found);
    }
    return found;
  }

  M.experimentColumns = function (data) {
    const experiment = M.data.experiments.get(String(data.experiment));
    const chunk = Number(data.chunk);
    const index = Number(data.field);
    const key = chunk + "-" + index;
    const field = experiment && experiment.fields[index];
    if (!field || experiment.loadedParts.has(key)) return;
    fill(experiment, chunk, field, decode(data.values));
    experiment.loadedParts.add(key);
    const arrived = (experiment.arrived.get(field) || 0) + 1;
    experiment.arrived.set(field, arrived);
    if (arrived === experiment.chunks) experiment.loaded.add(field);
    if (experiment.loadedParts.size === experiment.chunks * experiment.fields.length) {
      experiment.loaded.add("*");
      for (const run of experiment.runs) run.complete = true;
    }
    entry(experiment, key).resolve();
    if (arrived === experiment.chunks) {
      for (const fn of listeners.get(experiment.id) || []) fn([field]);
    }
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
    experiment.fields.forEach((name, index) => {
      if (fields && !fields.includes(name)) return;
      // The newest chunk first: its runs are the table's first rows.
      for (let chunk = experiment.chunks - 1; chunk >= 0; chunk--) {
        wanted.push(request(experiment, chunk, index));
      }
    });
    return Promise.all(wanted);
  };

  /**
   * The first part not there yet of `fields` (in that order; of a field, the newest chunk
   * first) as {chunk, index}, or null: for loading in the background one part at a time.
   */
  M.nextPart = function (experiment, fields) {
    for (const name of fields) {
      const index = experiment.fields.indexOf(name);
      if (index < 0 || M.columnsLoaded(experiment, [name])) continue;
      for (let chunk = experiment.chunks - 1; chunk >= 0; chunk--) {
        if (!experiment.loadedParts.has(chunk + "-" + index)) return { chunk, index };
      }
    }
    return null;
  };

  /** Load one part ({chunk, index}, from M.nextPart); a promise resolved once it is in. */
  M.loadPart = function (experiment, part) {
    return request(experiment, part.chunk, part.index);
  };

  function request(experiment, chunk, index) {
    const key = chunk + "-" + index;
    const found = entry(experiment, key);
    if (!found.script && !experiment.loadedParts.has(key)) {
      const src = `${experiment.base}runs-${key}.js`;
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
