/*
 * filter.js: MLflow's search_runs filter language, parsed and evaluated in the browser.
 *
 * The same grammar and error messages as mltrail/search.py (the Python side):
 *
 *   filter     := comparison (AND comparison)*          AND in any case; no OR
 *   comparison := identifier comparator value
 *   identifier := [entity "."] key                      no entity: an attribute
 *   entity     := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run
 *   key        := bare ([A-Za-z0-9_.]+) | `quoted` | "quoted"
 *   value      := 'string' | "string" | number | ('id', ...)   lists only for run_id
 *
 * A run missing the key never matches. LIKE/ILIKE: % is any run of characters, _ one
 * character, everything else literal. MLTRAIL.filter.compile(text) returns a predicate
 * over the runs of MLTRAIL.experimentData, or throws MLTRAIL.filter.FilterError.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});

  const METRIC = "metric";
  const PARAM = "param";
  const TAG = "tag";
  const ATTRIBUTE = "attribute";

  const ENTITY_ALIASES = {
    metric: METRIC,
    metrics: METRIC,
    param: PARAM,
    params: PARAM,
    parameter: PARAM,
    parameters: PARAM,
    tag: TAG,
    tags: TAG,
    attribute: ATTRIBUTE,
    attributes: ATTRIBUTE,
    attr: ATTRIBUTE,
    run: ATTRIBUTE,
  };
  const PREFIXES = { metric: "metrics", param: "params", tag: "tags", attribute: "attributes" };

  const NUMERIC_ATTRIBUTES = ["end_time", "start_time"];
  const STRING_ATTRIBUTES = ["artifact_uri", "run_id", "run_name", "status", "user_id"];
  const ATTRIBUTES = new Set([...NUMERIC_ATTRIBUTES, ...STRING_ATTRIBUTES]);
  const ORDER_ALIASES = { created: "start_time", Created: "start_time" };
  const FILTER_ALIASES = Object.assign({}, ORDER_ALIASES, {
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
  });

  const NUMERIC_OPS = ["=", "!=", "<", "<=", ">", ">="];
  const STRING_OPS = ["=", "!=", "LIKE", "ILIKE"];
  const LIST_OPS = ["IN", "NOT IN"];
  const ALL_OPS = [...NUMERIC_OPS, "LIKE", "ILIKE", ...LIST_OPS];

  const WORD = /[A-Za-z_][\p{L}\p{N}\p{M}_]*/uy;
  const BARE_KEY = /[\p{L}\p{N}\p{M}_.]+/uy;
  const BARE_KEY_FULL = /^[\p{L}\p{N}\p{M}_.]+$/u;
  const SYMBOL = /[<>=!]+/y;
  const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\p{L}\p{N}\p{M}_.])/uy;
  const QUOTED = {};
  for (const q of ["'", '"', "`"]) QUOTED[q] = new RegExp(`${q}((?:[^${q}]|${q}${q})*)${q}`, "y");

  const QUOTE_HINT = "; quote keys with spaces or symbols: metrics.`my-key`, params.`my key`";

  class FilterError extends Error {
    constructor(message) {
      super(message);
      this.name = "FilterError";
    }
  }

  // ---------------------------------------------------------------- scanning

  class Scanner {
    constructor(text, what) {
      this.text = text;
      this.what = what;
      this.pos = 0;
    }

    fail(reason) {
      const shown = this.text.split(/\r\n|\r|\n/).join(" ");
      throw new FilterError(`Invalid ${this.what} '${shown}': ${reason}`);
    }

    skipWs() {
      while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos += 1;
    }

    take(pattern) {
      pattern.lastIndex = this.pos;
      const found = pattern.exec(this.text);
      if (found === null) return null;
      this.pos = pattern.lastIndex;
      return found[0];
    }

    takeChar(char) {
      if (this.text.startsWith(char, this.pos)) {
        this.pos += char.length;
        return true;
      }
      return false;
    }

    quoted(quotes) {
      const quote = this.text.charAt(this.pos);
      if (!quote || !quotes.includes(quote)) return null;
      const text = this.take(QUOTED[quote]);
      if (text === null) this.fail(`the quoted text ${this.upcoming()} has no closing ${quote}`);
      return text
        .slice(1, -1)
        .split(quote + quote)
        .join(quote);
    }

    keyword(...words) {
      this.skipWs();
      WORD.lastIndex = this.pos;
      const found = WORD.exec(this.text);
      if (found === null || !words.includes(found[0].toUpperCase())) return null;
      this.pos = WORD.lastIndex;
      return found[0].toUpperCase();
    }

    atEnd() {
      this.skipWs();
      return this.pos >= this.text.length;
    }

    upcoming() {
      const rest = this.text.slice(this.pos).split(/\s+/).filter(Boolean);
      return rest.length ? `'${Array.from(rest[0]).slice(0, 30).join("")}'` : "the end";
    }
  }

  // ---------------------------------------------------------------- parsing

  /** Parse a filter string into [{entity, key, comparator, value}] (value: number|string|array). */
  function parse(text) {
    if (text === null || text === undefined || !String(text).trim()) return [];
    const scanner = new Scanner(String(text), "filter");
    const comparisons = [readComparison(scanner)];
    while (!scanner.atEnd()) {
      if (scanner.keyword("OR")) {
        scanner.fail("'OR' is not supported; MLflow filters combine comparisons with AND only");
      }
      if (!scanner.keyword("AND")) {
        scanner.fail(`expected AND between comparisons, found ${scanner.upcoming()}`);
      }
      comparisons.push(readComparison(scanner));
    }
    return comparisons;
  }

  function readComparison(scanner) {
    const [entity, key] = readIdentifier(scanner, FILTER_ALIASES);
    const comparator = readComparator(scanner, renderIdentifier(entity, key));
    const comparison = { entity, key, comparator, value: readValue(scanner) };
    const trouble = problem(comparison);
    if (trouble) scanner.fail(trouble);
    return comparison;
  }

  function readIdentifier(scanner, aliases) {
    scanner.skipWs();
    let first = scanner.quoted('`"');
    if (first === null) first = scanner.take(WORD);
    if (first === null) {
      scanner.fail(`expected a key such as metrics.rmse, found ${scanner.upcoming()}`);
    }
    if (!scanner.takeChar(".")) return [ATTRIBUTE, attributeKey(scanner, first, aliases)];
    const entity = entityOf(scanner, first);
    let key = scanner.quoted('`"');
    if (key === null) key = scanner.take(BARE_KEY);
    if (!key) scanner.fail(`expected a key after '${first}.', found ${scanner.upcoming()}`);
    return [entity, entity === ATTRIBUTE ? attributeKey(scanner, key, aliases) : key];
  }

  function entityOf(scanner, name) {
    if (name === "dataset" || name === "datasets") {
      scanner.fail(`'${name}.' filters are not supported: mltrail records no dataset inputs`);
    }
    if (!Object.prototype.hasOwnProperty.call(ENTITY_ALIASES, name)) {
      scanner.fail(`unknown entity '${name}'; use metrics., params., tags. or attributes.`);
    }
    return ENTITY_ALIASES[name];
  }

  function attributeKey(scanner, key, aliases) {
    if (Object.prototype.hasOwnProperty.call(aliases, key)) key = aliases[key];
    if (!ATTRIBUTES.has(key)) {
      const names = [...ATTRIBUTES, ...Object.keys(aliases)];
      names.sort((a, b) =>
        a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0,
      );
      scanner.fail(`unknown attribute '${key}'; use one of ${[...new Set(names)].join(", ")}`);
    }
    return key;
  }

  function readComparator(scanner, ident) {
    scanner.skipWs();
    let raw = scanner.take(SYMBOL) || scanner.take(WORD);
    if (raw === null) {
      scanner.fail(
        `expected a comparator after '${ident}', found ${scanner.upcoming()}${QUOTE_HINT}`,
      );
    }
    if (raw.toUpperCase() === "NOT" || raw.toUpperCase() === "IS") {
      scanner.skipWs();
      raw = `${raw} ${scanner.take(WORD) || ""}`.trim();
    }
    const symbol = raw.toUpperCase();
    if (symbol.split(/\s+/)[0] === "IS") {
      scanner.fail(
        `'${raw}' (NULL tests) is not supported for runs; a run without the key never` +
          " matches, so e.g. tags.x LIKE '%' keeps the runs that have tag x",
      );
    }
    if (!ALL_OPS.includes(symbol)) {
      const hint = /^\p{L}/u.test(raw) ? QUOTE_HINT : "";
      scanner.fail(`unknown comparator '${raw}'; use one of ${ALL_OPS.join(", ")}${hint}`);
    }
    return symbol;
  }

  function readValue(scanner) {
    scanner.skipWs();
    const text = scanner.quoted("'\"");
    if (text !== null) return text;
    const number = scanner.take(NUMBER);
    if (number !== null) return Number(number);
    if (scanner.takeChar("(")) return readList(scanner);
    scanner.fail(`expected a quoted string, a number or a list, found ${scanner.upcoming()}`);
  }

  function readList(scanner) {
    const items = [];
    for (;;) {
      scanner.skipWs();
      if (!items.length && scanner.takeChar(")")) {
        scanner.fail("an IN list needs at least one value, e.g. ('a', 'b')");
      }
      const item = scanner.quoted("'\"");
      if (item === null) {
        scanner.fail(`expected a quoted string in the list, found ${scanner.upcoming()}`);
      }
      items.push(item);
      scanner.skipWs();
      if (scanner.takeChar(")")) return items;
      if (!scanner.takeChar(",")) {
        scanner.fail(`expected ',' or ')' in the list, found ${scanner.upcoming()}`);
      }
    }
  }

  function isNumeric(entity, key) {
    return entity === METRIC || (entity === ATTRIBUTE && NUMERIC_ATTRIBUTES.includes(key));
  }

  function allowedComparators(entity, key) {
    if (isNumeric(entity, key)) return NUMERIC_OPS;
    if (entity === ATTRIBUTE && key === "run_id") return [...STRING_OPS, ...LIST_OPS];
    if (entity === PARAM || entity === TAG || (entity === ATTRIBUTE && ATTRIBUTES.has(key))) {
      return STRING_OPS;
    }
    return [];
  }

  function problem(c) {
    const allowed = allowedComparators(c.entity, c.key);
    const label = `${c.entity} '${c.key}'`;
    if (!allowed.length) {
      return `unknown ${label}; use a metric, param, tag or one of ${[...ATTRIBUTES].sort()}`;
    }
    if (!allowed.includes(c.comparator)) {
      return `comparator '${c.comparator}' is not valid for ${label}; use one of ${allowed.join(", ")}`;
    }
    const value = c.value;
    let ok;
    let need;
    if (LIST_OPS.includes(c.comparator)) {
      ok = Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string");
      need = "a list of quoted strings, e.g. ('a', 'b')";
    } else if (isNumeric(c.entity, c.key)) {
      ok = typeof value === "number";
      need = "a number";
    } else {
      ok = typeof value === "string";
      need = "a quoted string";
    }
    return ok ? null : `${label} needs ${need}, got ${renderValue(value)}`;
  }

  // ---------------------------------------------------------------- rendering

  function renderIdentifier(entity, key) {
    const shown = BARE_KEY_FULL.test(key) ? key : "`" + key.split("`").join("``") + "`";
    return `${PREFIXES[entity] || entity}.${shown}`;
  }

  function renderValue(value) {
    if (typeof value === "string") {
      const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
      return quote + value.split(quote).join(quote + quote) + quote;
    }
    if (Array.isArray(value)) return "(" + value.map(renderValue).join(", ") + ")";
    return String(value);
  }

  function toText(comparisons) {
    return comparisons
      .map((c) => `${renderIdentifier(c.entity, c.key)} ${c.comparator} ${renderValue(c.value)}`)
      .join(" AND ");
  }

  // ---------------------------------------------------------------- evaluation

  /** The value of one identifier in a run of MLTRAIL.experimentData (undefined/null: missing). */
  function getter(entity, key) {
    if (entity === METRIC) return (run) => run.metrics[key];
    if (entity === PARAM) return (run) => run.params[key];
    if (entity === TAG) return (run) => run.tags[key];
    switch (key) {
      case "run_id":
        return (run) => run.id;
      case "run_name":
        return (run) => run.name;
      case "status":
        return (run) => run.status;
      case "user_id":
        return (run) => run.user;
      case "start_time":
        return (run) => run.start;
      case "end_time":
        return (run) => run.end;
      default:
        throw new FilterError(
          `attributes.${key} is not in the site's data; filter on metrics, params, tags,` +
            " run_id, run_name, status, user_id, start_time or end_time",
        );
    }
  }

  /** SQL LIKE as an anchored regular expression: % any run, _ one character. */
  function likeRegex(pattern, ignoreCase) {
    let source = "";
    for (const ch of pattern) {
      if (ch === "%") source += "[\\s\\S]*";
      else if (ch === "_") source += "[\\s\\S]";
      else source += ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
    }
    return new RegExp(`^(?:${source})$`, ignoreCase ? "iu" : "u");
  }

  function test(comparator, value) {
    switch (comparator) {
      case "=":
        return (lhs) => lhs === value;
      case "!=":
        return (lhs) => lhs !== value;
      case "<":
        return (lhs) => lhs < value;
      case "<=":
        return (lhs) => lhs <= value;
      case ">":
        return (lhs) => lhs > value;
      case ">=":
        return (lhs) => lhs >= value;
      case "LIKE":
      case "ILIKE": {
        const regex = likeRegex(String(value), comparator === "ILIKE");
        return (lhs) => regex.test(String(lhs));
      }
      case "IN": {
        const members = new Set(value);
        return (lhs) => members.has(lhs);
      }
      case "NOT IN": {
        const members = new Set(value);
        return (lhs) => !members.has(lhs);
      }
      default:
        throw new FilterError(`unknown comparator '${comparator}'`);
    }
  }

  function predicate(c) {
    const get = getter(c.entity, c.key);
    const check = test(c.comparator, c.value);
    return (run) => {
      const lhs = get(run);
      return lhs !== null && lhs !== undefined && check(lhs);
    };
  }

  /** A predicate run -> bool for a filter string (blank: every run); throws FilterError. */
  function compile(text) {
    const predicates = parse(text).map(predicate);
    if (!predicates.length) return () => true;
    return (run) => {
      for (const p of predicates) if (!p(run)) return false;
      return true;
    };
  }

  M.filter = { parse, compile, toText, renderIdentifier, likeRegex, FilterError };
})();
