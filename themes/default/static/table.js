/*
 * table.js: the experiment page's runs table (<div id="runs-app" data-experiment-id>).
 *
 * Sort (header buttons, aria-sort), free-text filter, MLflow filter expression with an
 * inline error, column chooser, run selection -> compare link. State lives in the URL
 * hash (sort, dir, q, filter, hide, show) so a view can be bookmarked and shared.
 * Rows are virtualized (rows.js: only the rows near the visible window are in the DOM),
 * and sort and filter work on arrays (columns.js), so 100,000 runs stay responsive. The
 * runs' columns arrive as needed (runsdata.js): the shown ones in the background when the
 * page is idle, a sort's or a filter's before it applies (the header shows a sort pending);
 * cells not there yet show "…". Column widths are fixed, so arriving values move nothing.
 * Every change of the shown runs is announced as a "mltrail:runs-view" event on the
 * app element ({detail: {experiment, runs}}) for the experiment charts.
 * A sweep's runs (children of a run tagged mltrail.sweep) are listed under it, in the
 * table's order, and a button folds them; the sweep carries a badge: its size and the
 * best value of the primary metric among its runs.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});
  const h = M.h;

  const OVERSCAN = 10; // rows drawn above and below the visible window
  const QUIET_MS = 1000; // after the first rows, the time left to the user's first action

  // Column widths in rem (the table's layout is fixed): the select column, each type's
  // values (a number as M.fmt.number writes it, a UTC time, a short commit...), and
  // what a header's label needs, up to the cells' own cap (.mt-cell, 18rem).
  const SELECT_REM = 2.5;
  const TYPE_REM = { number: 6.5, time: 10.5, duration: 5.5, text: 7 };
  const FIELD_REM = { name: 14, status: 6.5, commit: 5.5, id: 18, parent: 18, user: 7 };
  const LABEL_REM = 0.55; // one character of a header's label (0.875rem, weight 600)
  const HEAD_PAD_REM = 2.2; // the header button's padding and its sort icon

  function columnRem(col) {
    const values = FIELD_REM[col.field] || TYPE_REM[col.type] || TYPE_REM.text;
    const label = Math.min(18, HEAD_PAD_REM + LABEL_REM * col.label.length);
    return Math.max(values, Math.round(label * 4) / 4);
  }

  /**
   * The widths of one table's <col>s, in a stylesheet of the page's own (no style
   * attribute: the pages hold none), scoped to the table's id.
   */
  class ColumnWidths {
    constructor(table) {
      this.id = table.id;
      this.sheet = window.CSSStyleSheet && document.adoptedStyleSheets ? new CSSStyleSheet() : null;
      if (this.sheet) document.adoptedStyleSheets = [...document.adoptedStyleSheets, this.sheet];
    }

    set(widths) {
      if (!this.sheet) return; // an older browser: the table's layout follows its values
      const table = `#${this.id}`;
      const rules = widths.map(
        (rem, i) => `${table} > colgroup > col:nth-child(${i + 1}) { width: ${rem}rem; }`,
      );
      const total = widths.reduce((sum, rem) => sum + rem, 0);
      rules.push(`${table} { width: ${total}rem; table-layout: fixed; }`);
      this.sheet.replaceSync(rules.join("\n"));
    }
  }

  /** Call fn when the page is idle (soon in any case), so input is answered first. */
  function whenIdle(fn) {
    if (window.requestIdleCallback) window.requestIdleCallback(fn, { timeout: 300 });
    else setTimeout(fn, 20);
  }

  class RunsTable {
    constructor(app, experiment) {
      this.app = app;
      this.experiment = experiment;
      this.runs = experiment.runs;
      this.columns = M.runs.columnsFor(experiment);
      this.byId = new Map(this.columns.map((c) => [c.id, c]));
      this.hidden = new Set(this.columns.filter((c) => c.hidden).map((c) => c.id));
      this.selected = new Set();
      this.collapsed = new Set();
      this.sweeps = M.runs.sweeps(experiment);
      this.sweepsDone = M.columnsLoaded(experiment, this.sweepFields());
      this.state = { filter: null, filterText: "", query: "", sort: null, descending: false };
      this.shown = this.runs;
      this.waiting = 0;
      this.readHash();
      this.build();
      M.onColumns(experiment, () => this.columnsArrived());
      this.refresh();
    }

    // ------------------------------------------------------------ columns as needed

    /** The fields sweeps are found by (none when no run can be a sweep). */
    sweepFields() {
      if (!this.experiment.columns.tags.includes("mltrail.sweep")) return [];
      const key = this.experiment.primary_metric;
      return ["id", "parent", "tags.mltrail.sweep", key ? "metrics." + key : ""];
    }

    /** The fields the current sort and filters read (null: all of them). */
    neededFields() {
      if (this.state.filter || this.state.query) return null;
      return this.state.sort ? [this.state.sort.field] : [];
    }

    /**
     * Ask for the shown columns (and what sweeps need) in the background, one part (a
     * chunk of one field) at a time, each when the page is idle, so input (a click on
     * a header) is answered between parts; cells fill in as they arrive. While a sort or
     * filter waits for its own columns the trickle stands aside, so those parts come
     * first. The first screens need no part (runs.js has their runs in full): the
     * trickle starts QUIET_MS after the table is drawn, or at once when it scrolls.
     */
    loadShown() {
      if (this.trickling) return;
      if (!this.trickleStarted) {
        this.trickleStarted = true;
        const start = () => {
          clearTimeout(timer);
          this.scroller.removeEventListener("scroll", start);
          this.loadShown();
        };
        const timer = setTimeout(start, QUIET_MS);
        this.scroller.addEventListener("scroll", start, { passive: true });
        return;
      }
      const next = () => {
        if (this.app.hasAttribute("aria-busy")) {
          this.trickling = false; // the waiting refresh calls loadShown again once done
          return;
        }
        const fields = ["id", ...this.visible.map((c) => c.field), ...this.sweepFields()];
        const part = M.nextPart(this.experiment, fields);
        this.trickling = part !== null;
        if (!this.trickling) return;
        M.loadPart(this.experiment, part).then(
          () => whenIdle(next),
          (err) => this.showLoadError(err),
        );
      };
      this.trickling = true;
      whenIdle(next);
    }

    columnsArrived() {
      if (!this.sweepsDone && M.columnsLoaded(this.experiment, this.sweepFields())) {
        this.sweeps = M.runs.sweeps(this.experiment);
        this.sweepsDone = true;
        this.refresh({ keepScroll: true });
        return;
      }
      this.rows.range = null;
      this.rows.schedule();
    }

    showLoadError(err) {
      this.count.textContent = `Some runs could not be loaded: ${err.message}`;
    }

    hasField(run, field) {
      return run.complete || this.experiment.loaded.has(field);
    }

    // ------------------------------------------------------------ state <-> hash

    readHash() {
      const params = M.hashState.get();
      for (const id of params.getAll("hide")) {
        if (this.byId.has(id) && !this.byId.get(id).fixed) this.hidden.add(id);
      }
      for (const id of params.getAll("show")) this.hidden.delete(id);
      const sort = this.byId.get(params.get("sort") || "");
      if (sort) {
        this.state.sort = sort;
        this.state.descending = params.get("dir") === "desc";
      }
      this.state.query = params.get("q") || "";
      this.state.filterText = params.get("filter") || "";
      if (this.state.filterText) {
        try {
          this.state.filter = M.filter.compile(this.state.filterText);
        } catch (err) {
          this.pendingError = err.message;
        }
      }
    }

    writeHash() {
      const params = M.hashState.get();
      for (const key of ["sort", "dir", "q", "filter", "hide", "show"]) params.delete(key);
      if (this.state.sort) {
        params.set("sort", this.state.sort.id);
        params.set("dir", this.state.descending ? "desc" : "asc");
      }
      if (this.state.query) params.set("q", this.state.query);
      if (this.state.filterText) params.set("filter", this.state.filterText);
      for (const col of this.columns) {
        if (!col.hidden && this.hidden.has(col.id)) params.append("hide", col.id);
        if (col.hidden && !this.hidden.has(col.id)) params.append("show", col.id);
      }
      M.hashState.set(params);
    }

    // ------------------------------------------------------------ building

    build() {
      const app = M.clear(this.app);
      app.classList.add("mt-runs-app");
      this.count = h("p", { class: "mt-count", "aria-live": "polite", "aria-atomic": "true" });
      this.compareLink = h("a", { class: "mt-button mt-compare" });
      this.clearButton = h(
        "button",
        { type: "button", class: "mt-button mt-secondary", onclick: () => this.clearSelection() },
        "Clear selection",
      );
      app.append(
        h(
          "div",
          { class: "mt-toolbar" },
          this.buildTextFilter(),
          this.buildColumnChooser(),
          h("div", { class: "mt-selection" }, this.compareLink, this.clearButton),
        ),
        this.buildExpressionFilter(),
        this.count,
        this.buildTable(),
      );
    }

    buildTextFilter() {
      const id = M.uid("runs-q");
      this.queryInput = h("input", {
        id,
        type: "search",
        class: "mt-input mt-text-filter",
        placeholder: "name, param, tag…",
        autocomplete: "off",
        value: this.state.query,
        oninput: M.debounce(() => this.setQuery(this.queryInput.value), 150),
      });
      return h(
        "div",
        { class: "mt-field" },
        h("label", { for: id }, "Search runs"),
        this.queryInput,
      );
    }

    buildExpressionFilter() {
      const id = M.uid("runs-filter");
      const errorId = id + "-error";
      this.filterInput = h("input", {
        id,
        type: "text",
        class: "mt-input mt-filter-input",
        spellcheck: "false",
        autocomplete: "off",
        placeholder: this.examplePlaceholder(),
        "aria-describedby": errorId + " " + id + "-help",
        value: this.state.filterText,
        oninput: M.debounce(() => this.setFilter(this.filterInput.value), 400),
      });
      this.filterError = h("p", { id: errorId, class: "mt-filter-error", "aria-live": "polite" });
      const form = h(
        "form",
        {
          class: "mt-filter-form",
          role: "search",
          onsubmit: (event) => {
            event.preventDefault();
            this.setFilter(this.filterInput.value);
          },
        },
        h("label", { for: id }, "Filter expression"),
        h(
          "div",
          { class: "mt-filter-row" },
          this.filterInput,
          h("button", { type: "submit", class: "mt-button" }, "Apply"),
          h(
            "button",
            { type: "button", class: "mt-button mt-secondary", onclick: () => this.setFilter("") },
            "Clear",
          ),
        ),
        h(
          "p",
          { id: id + "-help", class: "mt-help" },
          "MLflow syntax: metrics.<key>, params.<key>, tags.<key>, attributes.status; =, !=, <, <=, >, >=, LIKE, ILIKE; combine with AND; quote odd keys with backticks.",
        ),
        this.filterError,
      );
      if (this.pendingError) this.showFilterError(this.pendingError);
      return form;
    }

    /** An example expression over this experiment's own keys. */
    examplePlaceholder() {
      const cols = this.experiment.columns;
      const metric = this.experiment.primary_metric || cols.metrics[0];
      const parts = [];
      if (metric) parts.push(`${M.filter.renderIdentifier("metric", metric)} < 0.8`);
      if (cols.params.length) {
        parts.push(`${M.filter.renderIdentifier("param", cols.params[0])} = '…'`);
      }
      if (parts.length < 2) parts.push("attributes.status = 'FINISHED'");
      return "e.g. " + parts.join(" and ");
    }

    buildColumnChooser() {
      this.chooserSummary = h("summary", { class: "mt-button mt-secondary" }, "Columns");
      const groups = [
        ["run", "Run"],
        ["metric", "Metrics"],
        ["param", "Parameters"],
        ["tag", "Tags"],
      ];
      const sets = [];
      for (const [group, title] of groups) {
        const cols = this.columns.filter((c) => c.group === group);
        if (!cols.length) continue;
        sets.push(
          h(
            "fieldset",
            { class: "mt-column-group" },
            h("legend", null, title),
            cols.map((col) =>
              h(
                "label",
                { class: "mt-check" },
                h("input", {
                  type: "checkbox",
                  checked: !this.hidden.has(col.id),
                  disabled: col.fixed,
                  dataset: { column: col.id },
                  onchange: (event) => this.toggleColumn(col.id, event.target.checked),
                }),
                " ",
                col.label,
              ),
            ),
          ),
        );
      }
      this.chooserBody = h(
        "div",
        { class: "mt-columns-body" },
        h(
          "div",
          { class: "mt-columns-actions" },
          h(
            "button",
            {
              type: "button",
              class: "mt-button mt-secondary",
              onclick: () => this.showAllColumns(true),
            },
            "Show all",
          ),
          h(
            "button",
            {
              type: "button",
              class: "mt-button mt-secondary",
              onclick: () => this.showAllColumns(false),
            },
            "Defaults",
          ),
        ),
        sets,
      );
      const details = h("details", { class: "mt-columns" }, this.chooserSummary, this.chooserBody);
      // Close the chooser on Escape (focus back on its button) and on a click elsewhere.
      details.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && details.open) {
          details.open = false;
          this.chooserSummary.focus();
        }
      });
      document.addEventListener("click", (event) => {
        if (details.open && !details.contains(event.target)) details.open = false;
      });
      return details;
    }

    buildTable() {
      this.colgroup = h("colgroup");
      this.thead = h("thead");
      this.tbody = h("tbody");
      this.table = h(
        "table",
        { class: "mt-runs", id: M.uid("runs-table") },
        h(
          "caption",
          { class: "mt-visually-hidden" },
          `Runs of ${this.experiment.name || this.experiment.id}`,
        ),
        this.colgroup,
        this.thead,
        this.tbody,
      );
      this.widths = new ColumnWidths(this.table);
      this.scroller = h(
        "div",
        { class: "mt-table-scroll", role: "region", "aria-label": "Runs table", tabindex: "0" },
        this.table,
      );
      this.rows = new M.VirtualRows(this.scroller, this.thead, this.tbody, {
        overscan: OVERSCAN,
        renderRow: (run, index) => this.renderRow(run, index),
      });
      return this.scroller;
    }

    // ------------------------------------------------------------ state changes

    setQuery(query) {
      if (query === this.state.query) return;
      this.state.query = query;
      this.refresh();
    }

    setFilter(text) {
      text = text.trim();
      let predicate;
      try {
        predicate = M.filter.compile(text);
      } catch (err) {
        this.showFilterError(err.message);
        return;
      }
      this.showFilterError("");
      if (text === this.state.filterText) return;
      this.state.filterText = text;
      this.state.filter = text ? predicate : null;
      if (!text) this.filterInput.value = "";
      this.refresh();
    }

    showFilterError(message) {
      this.filterError.textContent = message;
      this.filterError.hidden = !message;
      if (message) this.filterInput.setAttribute("aria-invalid", "true");
      else this.filterInput.removeAttribute("aria-invalid");
    }

    prefetch(column) {
      if (M.columnsLoaded(this.experiment, [column.field])) return;
      M.loadColumns(this.experiment, [column.field]).catch((err) => this.showLoadError(err));
    }

    sortBy(column) {
      this.focusAfterHead = column.id;
      if (this.state.sort === column) this.state.descending = !this.state.descending;
      else {
        this.state.sort = column;
        this.state.descending = false;
      }
      this.refresh();
    }

    toggleColumn(id, visible) {
      if (visible) this.hidden.delete(id);
      else this.hidden.add(id);
      this.refresh({ keepScroll: true });
    }

    showAllColumns(all) {
      this.hidden = new Set(all ? [] : this.columns.filter((c) => c.hidden).map((c) => c.id));
      for (const box of this.chooserBody.querySelectorAll("input[data-column]")) {
        box.checked = !this.hidden.has(box.dataset.column);
      }
      this.refresh({ keepScroll: true });
    }

    toggleGroup(id) {
      if (this.collapsed.has(id)) this.collapsed.delete(id);
      else this.collapsed.add(id);
      this.refresh({ keepScroll: true });
    }

    toggleRun(id, selected) {
      if (selected) this.selected.add(id);
      else this.selected.delete(id);
      this.renderSelection();
    }

    clearSelection() {
      this.selected.clear();
      for (const box of this.tbody.querySelectorAll("input[data-run-id]")) box.checked = false;
      this.renderSelection();
    }

    // ------------------------------------------------------------ rendering

    refresh(options) {
      const needed = this.neededFields();
      const token = ++this.waiting; // a later refresh supersedes one still waiting
      if (!M.columnsLoaded(this.experiment, needed)) {
        this.app.setAttribute("aria-busy", "true");
        this.showPending();
        M.loadColumns(this.experiment, needed).then(
          () => token === this.waiting && this.refresh(options),
          (err) => this.showLoadError(err),
        );
        return;
      }
      this.app.removeAttribute("aria-busy");
      const t0 = performance.now();
      this.visible = this.columns.filter((c) => !this.hidden.has(c.id));
      this.shown = M.runs.view(this.runs, this.state);
      this.tree = M.runs.group(this.shown, this.sweeps, this.collapsed);
      this.renderHead();
      this.rows.set(this.tree.runs, {
        colspan: this.visible.length + 1,
        empty: this.runs.length
          ? "No run matches the filters."
          : "This experiment has no runs yet.",
        keepScroll: Boolean(options && options.keepScroll),
      });
      this.renderCount();
      this.renderSelection();
      this.chooserSummary.textContent = `Columns (${this.visible.length}/${this.columns.length})`;
      this.writeHash();
      this.lastRenderMs = performance.now() - t0;
      this.loadShown();
      this.app.dispatchEvent(
        new CustomEvent("mltrail:runs-view", {
          bubbles: true,
          detail: { experiment: this.experiment, runs: this.shown },
        }),
      );
    }

    /**
     * Until the columns a sort or filter reads have arrived, the rows stay as they were
     * and the header says what is coming: the sort's column is marked pending.
     */
    showPending() {
      if (!this.visible) return; // the first refresh: nothing drawn yet
      const sort = this.state.sort;
      this.renderHead(sort);
      const what = sort ? `Sorting by ${sort.label}` : "Filtering";
      this.count.textContent = `${what} once every run's values are loaded…`;
    }

    /**
     * The header, and one <col> per column: the table's layout is fixed and each width
     * comes from the column's type and label, never from the values, so nothing moves
     * as the parts fill the "…" cells in (or as rows scroll by).
     */
    renderHead(pending) {
      const widths = [SELECT_REM, ...this.visible.map(columnRem)];
      this.colgroup.replaceChildren(...widths.map(() => h("col")));
      this.widths.set(widths);
      const cells = [
        h(
          "th",
          { scope: "col", class: "mt-select-col" },
          h("span", { class: "mt-visually-hidden" }, "Select"),
        ),
      ];
      for (const col of this.visible) {
        const sorted = this.state.sort === col && !pending;
        const dir = sorted ? (this.state.descending ? "descending" : "ascending") : null;
        let icon = sorted ? (this.state.descending ? "▼" : "▲") : "";
        if (pending === col) icon = "…";
        const button = h(
          "button",
          {
            type: "button",
            class: "mt-sort",
            title: col.id,
            dataset: { column: col.id },
            onclick: () => this.sortBy(col),
            // A pointer on the header (or focus) asks for the column's parts already, so
            // a click finds its values there or on the way.
            onpointerenter: () => this.prefetch(col),
            onfocus: () => this.prefetch(col),
          },
          col.group === "run" ? null : h("span", { class: "mt-col-group" }, col.group),
          h("span", { class: "mt-col-key" }, col.label),
          h("span", { class: "mt-sort-icon", "aria-hidden": "true" }, icon),
        );
        const classes = ["mt-col-" + col.group, "mt-type-" + col.type];
        if (col.primary) classes.push("mt-primary");
        if (col.fixed) classes.push("mt-name-col");
        if (pending === col) classes.push("mt-sort-pending");
        cells.push(
          h(
            "th",
            {
              scope: "col",
              class: classes.join(" "),
              "aria-sort": dir,
              dataset: { column: col.id },
            },
            button,
          ),
        );
      }
      M.clear(this.thead).appendChild(h("tr", { "aria-rowindex": "1" }, cells));
      this.table.setAttribute("aria-rowcount", String(this.tree.runs.length + 1));
      this.table.setAttribute("aria-colcount", String(this.visible.length + 1));
      const focusedColumn = this.focusAfterHead;
      if (focusedColumn) {
        const again = this.thead.querySelector(
          `button[data-column="${CSS.escape(focusedColumn)}"]`,
        );
        if (again) again.focus();
        this.focusAfterHead = null;
      }
    }

    renderRow(run, index) {
      const key = run.id === null ? `pending-${index}` : run.id;
      const cells = [
        h(
          "td",
          { class: "mt-select-col" },
          h("input", {
            type: "checkbox",
            disabled: run.id === null,
            checked: this.selected.has(run.id),
            "aria-label": "Select run " + (run.name || run.id || "(loading)"),
            dataset: run.id === null ? {} : { runId: run.id },
            onchange: (event) => this.toggleRun(run.id, event.target.checked),
          }),
        ),
      ];
      for (const col of this.visible) cells.push(this.renderCell(col, run));
      return h(
        "tr",
        {
          class: "mt-run",
          "aria-rowindex": String(index + 2),
          "data-row-key": key,
          dataset: run.id === null ? {} : { runId: run.id },
        },
        cells,
      );
    }

    renderCell(col, run) {
      const loaded = this.hasField(run, col.field) && (!col.fixed || this.hasField(run, "id"));
      if (!loaded) {
        const wait = h("span", { class: "mt-pending", title: "loading" }, "…");
        return h("td", { class: "mt-type-" + col.type }, h("span", { class: "mt-cell" }, wait));
      }
      const value = col.get(run);
      const missing = value === undefined || value === null || value === "";
      const classes =
        "mt-type-" + col.type + (col.fixed ? " mt-name-col" : "") + (missing ? " mt-missing" : "");
      return h(
        "td",
        { class: classes },
        h("span", { class: "mt-cell" }, this.cellContent(col, run, value, missing)),
      );
    }

    cellContent(col, run, value, missing) {
      if (col.id === "attributes.run_name") return this.nameContent(run);
      if (missing) return h("span", { class: "mt-none", title: "not recorded" }, "—");
      const text = String(value);
      switch (col.type === "text" ? col.id : col.type) {
        case "attributes.status":
          return h("span", { class: "mt-status", "data-status": text }, text);
        case "attributes.commit":
          return h("code", { title: text }, M.fmt.commit(value));
        case "attributes.parent":
          return h("a", { href: M.url.run(value) }, text);
        case "time":
          return h("time", { datetime: M.fmt.isoTime(value) }, M.fmt.time(value));
        case "duration":
          return h("span", { title: `${text} ms` }, M.fmt.duration(value));
        case "number":
          return h("span", { title: text }, M.fmt.number(value));
        default:
          return h("span", { title: text }, text);
      }
    }

    /** The run's link, indented under its parent, with its fold button and sweep badge. */
    nameContent(run) {
      const name = run.name || run.id;
      const level = Math.min(this.tree.depth.get(run.id) || 0, 4);
      const kids = this.tree.children.get(run.id) || 0;
      const parts = [];
      for (let i = 0; i < level; i++) parts.push(h("span", { class: "mt-group-space" }));
      if (level) parts.push(h("span", { class: "mt-child-mark", "aria-hidden": "true" }, "↳"));
      if (kids) {
        const open = !this.collapsed.has(run.id);
        parts.push(
          h(
            "button",
            {
              type: "button",
              class: "mt-group-toggle",
              "aria-expanded": String(open),
              "aria-label": `${open ? "Hide" : "Show"} the ${kids} runs of ${name}`,
              title: `${open ? "Hide" : "Show"} its ${kids} runs`,
              onclick: () => this.toggleGroup(run.id),
            },
            open ? "▾" : "▸",
          ),
        );
      } else if (this.tree.children.size && !level) {
        parts.push(h("span", { class: "mt-group-space" }));
      }
      parts.push(h("a", { href: M.url.run(run.id), title: name }, name));
      const sweep = this.sweeps.get(run.id);
      if (sweep) parts.push(this.sweepBadge(sweep));
      return parts;
    }

    sweepBadge(sweep) {
      const key = this.experiment.primary_metric;
      let text = `sweep · ${sweep.size} runs`;
      let title = `A sweep of ${sweep.size} runs (${sweep.runs} in this experiment)`;
      if (sweep.best !== null) {
        text += ` · best ${M.fmt.number(sweep.best)}`;
        title += `; best ${key}: ${sweep.best}`;
      }
      return h("span", { class: "mt-badge mt-sweep", title }, text);
    }

    renderCount() {
      const total = this.runs.length;
      const shown = this.shown.length;
      this.count.textContent =
        shown === total
          ? `${M.fmt.count(total)} runs`
          : `${M.fmt.count(shown)} of ${M.fmt.count(total)} runs match`;
    }

    renderSelection() {
      const ids = Array.from(this.selected);
      if (ids.length >= 2) {
        this.compareLink.setAttribute("href", M.url.compare(ids));
        this.compareLink.removeAttribute("aria-disabled");
        this.compareLink.textContent = `Compare ${ids.length} runs`;
      } else {
        this.compareLink.removeAttribute("href");
        this.compareLink.setAttribute("aria-disabled", "true");
        this.compareLink.textContent = ids.length
          ? "Select one more run to compare"
          : "Select runs to compare";
      }
      this.clearButton.hidden = ids.length === 0;
    }
  }

  M.RunsTable = RunsTable;

  M.page("#runs-app", (app) => {
    const id = app.getAttribute("data-experiment-id");
    if (!app.firstChild) app.appendChild(h("p", { class: "mt-loading" }, "Loading runs…"));
    M.whenExperiment(id, (experiment) => {
      app.mltrailTable = new RunsTable(app, experiment);
    });
  });
})();
