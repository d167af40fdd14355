/*
 * rows.js: virtual rows for a long <table> inside a scrolling box. Only the rows in (or
 * near) the visible window are in the DOM, between two spacer rows as tall as the rows
 * left out, so 10,000 rows cost the same to draw as 30. Rows must share one height (the
 * stylesheet fixes it; the first drawn row is measured). Keyboard focus inside a row
 * (its link or checkbox) survives a redraw when the row is still drawn.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});
  const h = M.h;

  class VirtualRows {
    /**
     * scroller: the scrolling box; thead/tbody: the table's parts; options.renderRow(item,
     * index) -> <tr data-row-key>; options.overscan: rows drawn beyond the window.
     */
    constructor(scroller, thead, tbody, options) {
      this.scroller = scroller;
      this.thead = thead;
      this.tbody = tbody;
      this.renderRow = options.renderRow;
      this.overscan = options.overscan || 10;
      this.rowHeight = options.rowHeight || 34;
      this.items = [];
      this.colspan = "1";
      this.empty = "";
      this.range = null;
      this.pending = false;
      scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
      window.addEventListener("resize", () => this.schedule());
    }

    /** Show `items` (an array); keepScroll leaves the scroll position alone. */
    set(items, { colspan, empty, keepScroll }) {
      this.items = items;
      this.colspan = String(colspan);
      this.empty = empty || "";
      this.range = null;
      if (!keepScroll) this.scroller.scrollTop = 0;
      this.draw();
    }

    schedule() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }

    draw() {
      const total = this.items.length;
      const headHeight = this.thead.offsetHeight || 0;
      // Before the first rows exist the box is only as tall as its header: assume it may
      // grow to the window's height (the stylesheet caps it below that).
      const viewport = Math.max(this.scroller.clientHeight - headHeight, window.innerHeight);
      const top = Math.max(0, this.scroller.scrollTop);
      const first = Math.max(0, Math.floor(top / this.rowHeight) - this.overscan);
      const last = Math.min(total, Math.ceil((top + viewport) / this.rowHeight) + this.overscan);
      const range = this.range;
      if (range && range[0] === first && range[1] === last && range[2] === this.items) return;
      this.range = [first, last, this.items];
      const focus = this.rememberFocus();
      const rows = [];
      if (first > 0) rows.push(spacer(first * this.rowHeight, this.colspan));
      for (let i = first; i < last; i++) rows.push(this.renderRow(this.items[i], i));
      if (last < total) rows.push(spacer((total - last) * this.rowHeight, this.colspan));
      if (!total) {
        rows.push(h("tr", { class: "mt-empty" }, h("td", { colspan: this.colspan }, this.empty)));
      }
      this.tbody.replaceChildren(...rows);
      this.measure(last > first);
      this.restoreFocus(focus);
    }

    measure(drawn) {
      if (!drawn) return;
      const row = this.tbody.querySelector("tr[data-row-key]");
      const height = row ? row.getBoundingClientRect().height : 0;
      if (height > 0 && Math.abs(height - this.rowHeight) > 0.5) {
        this.rowHeight = height;
        this.range = null;
        this.schedule();
      }
    }

    rememberFocus() {
      const active = document.activeElement;
      if (!active || !this.tbody.contains(active)) return null;
      const row = active.closest("tr[data-row-key]");
      if (!row) return null;
      const kind = ["input", "button"].find((tag) => active.matches(tag)) || "a";
      return { key: row.getAttribute("data-row-key"), kind };
    }

    restoreFocus(focus) {
      if (!focus) return;
      const row = this.tbody.querySelector(`tr[data-row-key="${CSS.escape(focus.key)}"]`);
      const target = row && row.querySelector(focus.kind);
      if (target) target.focus({ preventScroll: true });
    }
  }

  function spacer(height, colspan) {
    const td = h("td", { colspan });
    td.style.height = `${height}px`;
    td.style.padding = "0";
    td.style.border = "0";
    return h("tr", { class: "mt-spacer", "aria-hidden": "true" }, td);
  }

  M.VirtualRows = VirtualRows;
})();
