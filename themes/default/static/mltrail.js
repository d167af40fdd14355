/*
 * mltrail.js: the core of the dashboard's client code (classic script, no modules:
 * Chromium blocks module scripts and fetch() on file://).
 *
 * Loaded before any data file. It defines the registration functions the data files
 * call (docs/SITE.md), a DOM builder that only ever uses textContent/setAttribute,
 * link builders relative to the site root, value formatting, URL-hash state, and a
 * tiny page registry: each page script calls MLTRAIL.page(selector, init) and init
 * runs on DOMContentLoaded when the selector matches.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});

  // ------------------------------------------------------------ data registry

  const data = {
    experiments: new Map(), // id -> experiment data (runs normalized)
    runs: new Map(), // id -> run data
    search: null, // array of {kind, title, url, text}
    searchParts: [], // paths of the files holding the runs' entries
    specs: {}, // chart kind -> Vega-Lite spec template
  };
  const waiters = { experiment: [], run: [], search: [], specs: [] };
  M.data = data;

  function notify(kind, value) {
    const pending = waiters[kind];
    waiters[kind] = [];
    for (const waiter of pending) {
      if (!waiter.match || waiter.match(value)) waiter.fn(value);
      else waiters[kind].push(waiter);
    }
  }

  function whenRegistered(kind, current, match, fn) {
    if (current !== undefined && current !== null) fn(current);
    else waiters[kind].push({ match, fn });
  }

  /** A metric value as a number: JSON null stays null; "NaN"/"Infinity" become numbers. */
  function toMetric(value) {
    if (value === null || value === undefined) return null;
    if (typeof value === "number") return value;
    if (value === "NaN") return NaN;
    if (value === "Infinity" || value === "inf") return Infinity;
    if (value === "-Infinity" || value === "-inf") return -Infinity;
    const n = Number(value);
    return Number.isNaN(n) ? null : n;
  }
  M.toMetric = toMetric;

  function normalizeRun(run) {
    run.id = String(run.id);
    run.params = run.params || {};
    run.tags = run.tags || {};
    const metrics = run.metrics || {};
    for (const key of Object.keys(metrics)) metrics[key] = toMetric(metrics[key]);
    // JSON has no NaN/Infinity: a metric written as null may be named in "nonfinite".
    const nonfinite = run.nonfinite || run.metrics_nonfinite || {};
    for (const key of Object.keys(nonfinite)) {
      if (metrics[key] === null || metrics[key] === undefined) {
        metrics[key] = toMetric(nonfinite[key]);
      }
    }
    run.metrics = metrics;
    return run;
  }

  /**
   * runs.js: the experiment, its newest runs in full (`runs`), the number of runs
   * (`count`), the `fields` of its parts and their number of `chunks` (runsdata.js).
   * Runs not in `runs` start empty ({id: null, ...}); runsdata.js fills them in as parts
   * arrive (M.loadColumns). `loaded` holds the fields already there for every run.
   */
  M.experimentData = function (experiment) {
    experiment.id = String(experiment.id);
    const runs = (experiment.runs || []).map(normalizeRun);
    const whole = runs.length;
    const count = Math.max(Number(experiment.count) || 0, whole);
    for (const run of runs) run.complete = true;
    for (let i = whole; i < count; i++) {
      runs.push({ id: null, name: null, params: {}, metrics: {}, tags: {}, complete: false });
    }
    experiment.runs = runs;
    experiment.fields = Array.isArray(experiment.fields) ? experiment.fields : [];
    experiment.chunks = Number(experiment.chunks) || 0;
    experiment.chunkRuns = Number(experiment.chunk_runs) || 0;
    experiment.loaded = new Set(count > whole ? [] : ["*"]);
    experiment.loadedParts = new Set(); // "<chunk>-<field index>"
    experiment.arrived = new Map(); // field -> chunks arrived
    const script = document.currentScript;
    experiment.base = script && script.src ? script.src.replace(/runs\.js([?#].*)?$/, "") : "";
    const cols = experiment.columns || {};
    experiment.columns = {
      params: cols.params || [],
      metrics: cols.metrics || [],
      tags: cols.tags || [],
    };
    data.experiments.set(experiment.id, experiment);
    notify("experiment", experiment);
  };

  /** Integers from data.js: [first, delta | [delta, count] | "absolute", ...]. */
  function decodeInts(items) {
    const out = [];
    let last = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item === "string") out.push((last = Number(item)));
      else if (i === 0) out.push((last = item));
      else if (Array.isArray(item)) for (let k = 0; k < item[1]; k++) out.push((last += item[0]));
      else out.push((last += item));
    }
    return out;
  }

  // Base 85 digits of data.js values: RFC 1924's, with "." "/" ":" for "&" "<" ">".
  const B85 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%.()*+-;/=:?@^_`{|}~";
  const B85_DIGIT = new Map(Array.from(B85, (c, i) => [c, i]));

  /** Bytes from base 85: 5 digits to 4 bytes, a last group of k + 1 digits to k bytes. */
  function base85Bytes(text) {
    const size = Math.floor(text.length / 5) * 4 + Math.max(0, (text.length % 5) - 1);
    const bytes = new Uint8Array(size);
    for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
      let n = 0;
      for (let k = 0; k < 5; k++) {
        const digit = i + k < text.length ? B85_DIGIT.get(text[i + k]) : 84;
        if (digit === undefined) throw new Error(`not a data.js value digit: ${text[i + k]}`);
        n = n * 85 + digit;
      }
      for (let k = 0; k < 4 && o + k < size; k++) bytes[o + k] = (n >>> (24 - 8 * k)) & 255;
    }
    return bytes;
  }

  /**
   * `count` float64 values from data.js (generator/gather/series.py, encode_floats): in
   * base 85, the low zero bytes every value has, a nibble per value (its bytes), then
   * each value's bytes: its bits XOR the value before, most significant first.
   */
  function decodeFloats(text, count) {
    const out = new Array(count);
    if (!count) return out;
    const bytes = base85Bytes(text);
    const low = bytes[0];
    const bits = new Uint8Array(8); // the value before, big-endian
    const view = new DataView(bits.buffer);
    let pos = 1 + Math.ceil(count / 2);
    for (let i = 0; i < count; i++) {
      const head = bytes[1 + (i >> 1)];
      const width = i % 2 ? head & 15 : head >> 4;
      for (let k = 8 - low - width; k < 8 - low; k++) bits[k] ^= bytes[pos++];
      out[i] = view.getFloat64(0, false);
    }
    return out;
  }

  /**
   * A series of data.js as the charts and the CSV use it: step, time and value arrays,
   * value null where `nonfinite` names the value ("NaN", "Infinity", "-Infinity").
   * `count` and `downsampled` are written only for a downsampled series; `step` and
   * `time` only when they are not the run's `shared` ones.
   */
  function decodeSeries(series, shared) {
    const axes = shared || {};
    const step = decodeInts(series.step || axes.step);
    const value = decodeFloats(series.value, step.length);
    const nonfinite = {};
    for (let i = 0; i < value.length; i++) {
      if (!Number.isFinite(value[i])) {
        nonfinite[i] = Number.isNaN(value[i]) ? "NaN" : value[i] > 0 ? "Infinity" : "-Infinity";
        value[i] = null;
      }
    }
    return {
      step,
      time: decodeInts(series.time || axes.time),
      value,
      nonfinite,
      count: series.downsampled ? series.count : value.length,
      downsampled: Boolean(series.downsampled),
    };
  }
  M.decodeSeries = decodeSeries;

  /** data.js: a run and its series; a latest value not in `metrics` is its series' last. */
  M.runData = function (run) {
    const series = run.series || {};
    const metrics = (run.metrics = run.metrics || {});
    for (const key of Object.keys(series)) {
      const s = (series[key] = decodeSeries(series[key], run.shared));
      const last = s.value.length - 1;
      if (last < 0 || Object.hasOwn(metrics, key)) continue;
      metrics[key] = s.nonfinite[last] || s.value[last];
    }
    run.series = series;
    normalizeRun(run);
    data.runs.set(run.id, run);
    notify("run", run);
  };

  /** search.js: {entries, parts}: the entries of experiments, models and datasets, and
   * the paths (from the root) of the parts holding the runs' (M.searchPart). */
  M.searchIndex = function (index) {
    data.search = Array.isArray(index && index.entries) ? index.entries : [];
    data.searchParts = Array.isArray(index && index.parts) ? index.parts : [];
    notify("search", data.search);
  };

  /**
   * The entries of a search part's runs ({experiment, runs: [[id, name, words]]}), as
   * search.js writes entries: the generator leaves out what they repeat.
   */
  function runEntries(part) {
    const experiment = String(part.experiment);
    return part.runs.map(([id, name, words]) => {
      const text = `${name} ${id} ${experiment}`;
      return {
        kind: "run",
        title: name,
        url: `runs/${seg(id)}/index.html`,
        text: words ? `${text} ${words}` : text,
      };
    });
  }

  const searchPartListeners = [];
  /** A part of the search index ({entries} or {experiment, runs}): added to data.search,
   * then announced. */
  M.searchPart = function (part) {
    const entries = Array.isArray(part && part.entries) ? part.entries.slice() : [];
    if (part && Array.isArray(part.runs)) entries.push(...runEntries(part));
    if (data.search) for (const entry of entries) data.search.push(entry);
    for (const fn of searchPartListeners) fn(entries);
  };
  M.onSearchPart = function (fn) {
    searchPartListeners.push(fn);
  };

  M.chartSpecs = function (specs) {
    Object.assign(data.specs, specs || {});
    notify("specs", data.specs);
  };

  /** Call fn(experiment) once the experiment's data file has registered it. */
  M.whenExperiment = function (id, fn) {
    id = String(id);
    whenRegistered("experiment", data.experiments.get(id), (e) => e.id === id, fn);
  };

  M.whenRun = function (id, fn) {
    id = String(id);
    whenRegistered("run", data.runs.get(id), (r) => r.id === id, fn);
  };

  M.whenSearchIndex = function (fn) {
    whenRegistered("search", data.search, null, fn);
  };

  // ------------------------------------------------------------ DOM building

  /**
   * h("a", {href: url, class: "x", onclick: fn}, "text", child, [more])
   * Strings become text nodes; attributes go through setAttribute; functions for
   * on* keys become event listeners. Never innerHTML.
   */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name.startsWith("on")) {
          if (typeof value === "function") node.addEventListener(name.slice(2), value);
          continue; // never an inline handler
        }
        if (name === "dataset") Object.assign(node.dataset, value);
        else if (name === "checked" || name === "value" || name === "selected") node[name] = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else if (child instanceof Node) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
    return node;
  }

  M.h = h;
  M.append = append;
  M.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  let uid = 0;
  M.uid = (prefix) => `${prefix || "mt"}-${++uid}`;

  // ------------------------------------------------------------ links

  /** The relative path to the site root, from <body data-root="../../">. */
  M.root = function () {
    const body = document.body;
    const root = (body && body.getAttribute("data-root")) || "";
    return root === "" || root.endsWith("/") ? root : root + "/";
  };

  const seg = (id) => encodeURIComponent(String(id));
  M.url = {
    root: (path) => M.root() + path,
    run: (id) => `${M.root()}runs/${seg(id)}/index.html`,
    runData: (id) => `${M.root()}runs/${seg(id)}/data.js`,
    experiment: (id) => `${M.root()}experiments/${seg(id)}/index.html`,
    compare: (ids) => `${M.root()}compare/index.html?runs=${ids.map(seg).join(",")}`,
  };

  // ------------------------------------------------------------ formatting

  const pad = (n, width) => String(n).padStart(width || 2, "0");

  M.fmt = {
    /** A number in at most 6 significant digits; NaN/Infinity spelled out. */
    number(value) {
      if (value === null || value === undefined) return "";
      if (typeof value !== "number") return String(value);
      if (Number.isNaN(value)) return "NaN";
      if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
      if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
      const abs = Math.abs(value);
      if (abs !== 0 && (abs < 1e-4 || abs >= 1e15)) return value.toExponential(4);
      return String(Number(value.toPrecision(6)));
    },
    /** Local time as YYYY-MM-DD HH:MM:SS (milliseconds since the epoch in). */
    time(ms) {
      if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
      const d = new Date(ms);
      return (
        `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
        `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
      );
    },
    isoTime(ms) {
      if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
      return new Date(ms).toISOString();
    },
    /** A duration in ms as "850ms", "12.3s", "4m 05s", "2h 03m", "3d 4h". */
    duration(ms) {
      if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
      if (ms < 1000) return `${Math.round(ms)}ms`;
      const s = ms / 1000;
      if (s < 60) return `${s.toFixed(1)}s`;
      const m = Math.floor(s / 60);
      if (m < 60) return `${m}m ${pad(Math.floor(s % 60))}s`;
      const hours = Math.floor(m / 60);
      if (hours < 24) return `${hours}h ${pad(m % 60)}m`;
      return `${Math.floor(hours / 24)}d ${hours % 24}h`;
    },
    commit: (sha) => (sha ? String(sha).slice(0, 8) : ""),
    count: (n) => Number(n).toLocaleString("en-US"),
  };

  // ------------------------------------------------------------ URL hash state

  /** State kept in the URL hash as URLSearchParams (works on file://, shareable). */
  M.hashState = {
    get() {
      return new URLSearchParams(window.location.hash.replace(/^#/, ""));
    },
    set(params) {
      const text = params.toString();
      const url = window.location.href.split("#")[0] + (text ? "#" + text : "");
      try {
        window.history.replaceState(window.history.state, "", url);
      } catch {
        window.location.hash = text; // some file:// setups refuse replaceState
      }
    },
    update(changes) {
      const params = M.hashState.get();
      for (const [key, value] of Object.entries(changes)) {
        if (value === null || value === undefined || value === "") params.delete(key);
        else params.set(key, value);
      }
      M.hashState.set(params);
    },
  };

  M.debounce = function (fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  };

  // ------------------------------------------------------------ page registry

  const pages = [];
  let started = false;

  /** Run init(element) on DOMContentLoaded for the first element matching selector. */
  M.page = function (selector, init) {
    pages.push({ selector, init });
    if (started) start(pages[pages.length - 1]);
  };

  function start(page) {
    const nodes = document.querySelectorAll(page.selector);
    for (const node of nodes) {
      try {
        page.init(node);
      } catch (err) {
        console.error("mltrail: could not set up", page.selector, err);
        node.appendChild(h("p", { class: "mt-error", role: "alert" }, String(err.message)));
      }
    }
  }

  function startAll() {
    started = true;
    document.documentElement.classList.add("js");
    for (const page of pages) start(page);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else setTimeout(startAll, 0);
})();
