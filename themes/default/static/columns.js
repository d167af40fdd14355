/*
 * columns.js: the runs table's model, on plain arrays (no DOM): column definitions
 * from an experiment's data, sorting (values first, then NaN, then missing, in either
 * direction), the free-text filter, and the filter + sort pipeline the table and the
 * experiment charts share.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});

  const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

  /** Tags the table hides until asked: system tags written by the tracking API. */
  const SYSTEM_TAG = /^(mlflow|mltrail)\./;

  const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

  /**
   * Every column of an experiment's runs table, in display order:
   * {id, label, group, type: "text"|"number"|"time"|"duration", get(run), field (the run
   *  data's field: runsdata.js loads it), hidden (default), fixed (cannot be hidden), primary}.
   */
  function columnsFor(experiment) {
    const attribute = (name, label, type, field, more) => ({
      id: "attributes." + name,
      label,
      group: "run",
      type,
      field,
      get: (r) => r[field],
      ...more,
    });
    const cols = [
      attribute("run_name", "Run", "text", "name", { fixed: true }),
      attribute("status", "Status", "text", "status"),
      attribute("start_time", "Started", "time", "start"),
      attribute("duration", "Duration", "duration", "duration"),
      attribute("user_id", "User", "text", "user"),
      attribute("commit", "Commit", "text", "commit"),
      attribute("run_id", "Run ID", "text", "id", { hidden: true }),
      attribute("parent", "Parent run", "text", "parent", { hidden: true }),
    ];
    const primary = experiment.primary_metric;
    const metrics = experiment.columns.metrics.slice();
    if (primary && metrics.includes(primary)) {
      metrics.splice(metrics.indexOf(primary), 1);
      metrics.unshift(primary);
    }
    for (const key of metrics) {
      cols.push({
        id: "metrics." + key,
        field: "metrics." + key,
        label: key,
        group: "metric",
        type: "number",
        primary: key === primary,
        get: (r) => (has(r.metrics, key) ? r.metrics[key] : undefined),
      });
    }
    for (const key of experiment.columns.params) {
      cols.push({
        id: "params." + key,
        field: "params." + key,
        label: key,
        group: "param",
        type: "text",
        get: (r) => (has(r.params, key) ? r.params[key] : undefined),
      });
    }
    for (const key of experiment.columns.tags) {
      cols.push({
        id: "tags." + key,
        field: "tags." + key,
        label: key,
        group: "tag",
        type: "text",
        hidden: SYSTEM_TAG.test(key),
        get: (r) => (has(r.tags, key) ? r.tags[key] : undefined),
      });
    }
    return cols;
  }

  /** Is every present value of a text column a number? Then it sorts numerically. */
  function numericText(runs, get) {
    let seen = 0;
    for (const run of runs) {
      const value = get(run);
      if (value === undefined || value === null || value === "") continue;
      if (typeof value === "number") continue;
      if (!Number.isFinite(Number(value)) || /^\s*$/.test(value)) return false;
      seen += 1;
    }
    return seen > 0;
  }

  /**
   * Runs sorted by a column: a new array. Values first (ascending or descending), then
   * NaN, then missing values, whichever the direction; ties keep the input order.
   */
  function sortRuns(runs, column, descending) {
    const n = runs.length;
    const rank = new Uint8Array(n);
    const sign = descending ? -1 : 1;
    const numeric = column.type !== "text" || numericText(runs, column.get);
    const keys = numeric ? new Float64Array(n) : new Array(n);
    for (let i = 0; i < n; i++) {
      const value = column.get(runs[i]);
      if (value === undefined || value === null || value === "") {
        rank[i] = 2;
      } else if (numeric) {
        const number = typeof value === "number" ? value : Number(value);
        if (Number.isNaN(number)) rank[i] = 1;
        else keys[i] = number;
      } else {
        keys[i] = String(value);
      }
    }
    // Only the runs with a value are compared; NaN and missing ones follow in input order.
    const valued = [];
    const nan = [];
    const none = [];
    for (let i = 0; i < n; i++) (rank[i] === 0 ? valued : rank[i] === 1 ? nan : none).push(i);
    const order = Uint32Array.from(valued);
    if (numeric) {
      order.sort(
        descending ? (a, b) => keys[b] - keys[a] || a - b : (a, b) => keys[a] - keys[b] || a - b,
      );
    } else {
      order.sort((a, b) => sign * collator.compare(keys[a], keys[b]) || a - b);
    }
    const sorted = new Array(n);
    let k = 0;
    for (const i of order) sorted[k++] = runs[i];
    for (const i of nan) sorted[k++] = runs[i];
    for (const i of none) sorted[k++] = runs[i];
    return sorted;
  }

  /** The lower-cased text a run is searched by: names, ids, params, tags (keys and values). */
  function haystack(run) {
    if (run._text === undefined) {
      const parts = [run.name, run.id, run.status, run.user, run.commit];
      for (const [k, v] of Object.entries(run.params)) parts.push(k + "=" + v);
      for (const [k, v] of Object.entries(run.tags)) parts.push(k + "=" + v);
      for (const k of Object.keys(run.metrics)) parts.push(k);
      Object.defineProperty(run, "_text", {
        value: parts
          .filter((p) => p !== null && p !== undefined)
          .join("\n")
          .toLowerCase(),
        enumerable: false,
      });
    }
    return run._text;
  }

  /** A predicate for the free-text box: every whitespace-separated word must occur. */
  function textMatcher(query) {
    const words = String(query || "")
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean);
    if (!words.length) return null;
    return (run) => {
      const text = haystack(run);
      for (const word of words) if (!text.includes(word)) return false;
      return true;
    };
  }

  /**
   * The runs shown for a table state {filter: predicate|null, query, sort: column|null,
   * descending}: filtered by the expression, then the words, then sorted.
   */
  function view(runs, state) {
    let shown = runs;
    if (state.filter) shown = shown.filter(state.filter);
    const match = textMatcher(state.query);
    if (match) shown = shown.filter(match);
    if (state.sort) shown = sortRuns(shown, state.sort, state.descending);
    return shown;
  }

  /**
   * The shown runs with the runs of each group (a sweep) right after their parent, when
   * both are shown, in the shown order: {runs, depth: Map(id -> level), children: Map(id
   * -> number of shown runs under it)}. `parents` (a Set or Map of run ids) says which
   * runs group their children; the children of a run in `collapsed` (a Set of ids) are
   * left out of `runs`. A run whose parent is not shown (or groups nothing) is a root.
   */
  function group(shown, parents, collapsed) {
    // Nothing groups (no sweep): the shown runs as they are, without a set of every id.
    if (!parents.size) return { runs: shown, depth: new Map(), children: new Map() };
    const ids = new Set(shown.map((r) => r.id));
    const under = (run) =>
      Boolean(run.parent) &&
      run.parent !== run.id &&
      ids.has(run.parent) &&
      parents.has(run.parent);
    const kids = new Map();
    for (const run of shown) {
      if (!under(run)) continue;
      if (!kids.has(run.parent)) kids.set(run.parent, []);
      kids.get(run.parent).push(run);
    }
    const depth = new Map();
    const children = new Map();
    for (const [id, list] of kids) children.set(id, list.length);
    if (!kids.size) return { runs: shown, depth, children };
    const runs = [];
    const placed = new Set();
    const place = (root) => {
      const stack = [[root, 0, false]]; // depth first, without recursion (chains may be long)
      while (stack.length) {
        const [run, level, hidden] = stack.pop();
        if (placed.has(run.id)) continue;
        placed.add(run.id);
        if (!hidden) runs.push(run);
        depth.set(run.id, level);
        const below = hidden || Boolean(collapsed && collapsed.has(run.id));
        const list = kids.get(run.id) || [];
        for (let i = list.length - 1; i >= 0; i--) stack.push([list[i], level + 1, below]);
      }
    };
    for (const run of shown) if (!under(run)) place(run);
    // A loop of parents has no root: its runs are placed where they come.
    for (const run of shown) place(run);
    return { runs, depth, children };
  }

  /**
   * Sweeps of an experiment (runs tagged mltrail.sweep): id -> {size, runs (children in
   * the data), best (the best finite value of the primary metric among them, or null)}.
   */
  function sweeps(experiment) {
    const found = new Map();
    for (const run of experiment.runs) {
      if (has(run.tags, "mltrail.sweep")) {
        found.set(run.id, { size: run.tags["mltrail.sweep"], runs: 0, best: null });
      }
    }
    const key = experiment.primary_metric;
    const lower = experiment.lower_is_better;
    for (const run of experiment.runs) {
      const sweep = run.parent && found.get(run.parent);
      if (!sweep) continue;
      sweep.runs += 1;
      const value = key && has(run.metrics, key) ? run.metrics[key] : null;
      if (typeof value !== "number" || !Number.isFinite(value)) continue;
      if (sweep.best === null || (lower ? value < sweep.best : value > sweep.best)) {
        sweep.best = value;
      }
    }
    return found;
  }

  M.runs = { columnsFor, sortRuns, textMatcher, view, haystack, group, sweeps };
})();
