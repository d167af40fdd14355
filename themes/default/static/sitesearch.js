/*
 * sitesearch.js: client-side search over the site's search index (search.js at the
 * site root calls MLTRAIL.searchIndex({entries: [{kind, title, url, text}], parts})).
 * The runs' entries are in the parts (one per chunk of an experiment's runs, each
 * calling MLTRAIL.searchPart({experiment, runs})), loaded when the search box is first used.
 *
 * Hooks: <input id="site-search"> and <div id="search-results">. The input becomes an
 * ARIA combobox over a listbox of links: type to search (every word must occur in the
 * title or text), ArrowDown/ArrowUp to move, Enter to open, Escape to clear. The
 * number of results is announced through an aria-live line.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});
  const h = M.h;
  const LIMIT = 30;

  function prepare(entries) {
    return entries.map((entry) => ({
      entry,
      title: String(entry.title || "").toLowerCase(),
      text: String(entry.text || "").toLowerCase(),
    }));
  }

  /** Entries matching every word of the query, best first: [{entry, score}]. */
  function search(prepared, query) {
    const words = String(query).toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) return [];
    const hits = [];
    for (const item of prepared) {
      let score = 0;
      for (const word of words) {
        if (item.title.startsWith(word)) score += 4;
        else if (item.title.includes(word)) score += 3;
        else if (item.text.includes(word)) score += 1;
        else {
          score = -1;
          break;
        }
      }
      if (score < 0) continue;
      if (item.entry.kind === "experiment") score += 0.5;
      hits.push({ entry: item.entry, score });
    }
    hits.sort((a, b) => b.score - a.score);
    return hits;
  }

  function snippet(text, words) {
    text = String(text || "");
    const lower = text.toLowerCase();
    let at = -1;
    for (const word of words) {
      at = lower.indexOf(word);
      if (at >= 0) break;
    }
    if (at < 0) return text.slice(0, 80);
    const start = Math.max(0, at - 30);
    return (
      (start > 0 ? "…" : "") + text.slice(start, start + 90) + (start + 90 < text.length ? "…" : "")
    );
  }

  function setup(input, results) {
    const listId = M.uid("search-list");
    const status = h("p", {
      class: "mt-search-count",
      "aria-live": "polite",
      "aria-atomic": "true",
    });
    const list = h("ul", {
      id: listId,
      role: "listbox",
      class: "mt-search-list",
      "aria-label": "Search results",
    });
    M.clear(results).append(status, list);
    results.classList.add("mt-search-results");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("autocomplete", "off");

    let prepared = null;
    let active = -1;
    let options = [];
    let partsLeft = -1; // parts of the index not loaded yet (-1: not asked for)

    /** Ask for the parts of the index holding the runs, once. */
    function loadParts() {
      if (partsLeft >= 0 || !prepared) return;
      const parts = M.data.searchParts || [];
      partsLeft = parts.length;
      for (const part of parts) {
        const script = document.createElement("script");
        script.src = M.root() + part;
        script.onerror = () => {
          status.textContent = `Part of the search index could not be loaded: ${part}`;
        };
        document.body.appendChild(script);
      }
    }

    function activate(index) {
      if (!options.length) return;
      active = (index + options.length) % options.length;
      options.forEach((option, i) =>
        option.setAttribute("aria-selected", i === active ? "true" : "false"),
      );
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }

    function render() {
      const query = input.value.trim();
      active = -1;
      input.removeAttribute("aria-activedescendant");
      M.clear(list);
      options = [];
      if (!query) {
        status.textContent = "";
        input.setAttribute("aria-expanded", "false");
        return;
      }
      if (!prepared) {
        status.textContent = "The search index is not loaded.";
        return;
      }
      loadParts();
      const words = query.toLowerCase().split(/\s+/).filter(Boolean);
      const hits = search(prepared, query);
      const shown = hits.slice(0, LIMIT);
      for (const { entry } of shown) {
        const option = h(
          "li",
          {
            id: M.uid("search-option"),
            role: "option",
            "aria-selected": "false",
            class: "mt-search-option",
          },
          h(
            "a",
            { href: M.root() + String(entry.url || ""), tabindex: "-1" },
            h(
              "span",
              { class: "mt-kind", "data-kind": String(entry.kind || "") },
              String(entry.kind || ""),
            ),
            " ",
            h("span", { class: "mt-search-title" }, String(entry.title || "")),
            h("span", { class: "mt-search-snippet" }, snippet(entry.text, words)),
          ),
        );
        option.addEventListener("mousemove", () => activate(options.indexOf(option)));
        options.push(option);
        list.appendChild(option);
      }
      input.setAttribute("aria-expanded", shown.length ? "true" : "false");
      if (!hits.length) status.textContent = `No results for “${query}”.`;
      else if (hits.length > shown.length) {
        status.textContent = `${M.fmt.count(hits.length)} results, showing the first ${LIMIT}.`;
      } else status.textContent = hits.length === 1 ? "1 result." : `${hits.length} results.`;
      if (partsLeft > 0) status.textContent += " Loading the runs…";
    }

    input.addEventListener("input", M.debounce(render, 80));
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        if (!options.length) render();
        activate(active + 1);
        event.preventDefault();
      } else if (event.key === "ArrowUp") {
        activate(active - 1);
        event.preventDefault();
      } else if (event.key === "Enter") {
        const target = active >= 0 ? options[active] : options.length === 1 ? options[0] : null;
        if (target) {
          event.preventDefault();
          window.location.href = target.querySelector("a").href;
        }
      } else if (event.key === "Escape") {
        input.value = "";
        render();
      }
    });
    const rerender = M.debounce(() => input.value.trim() && render(), 80);
    input.addEventListener("focus", loadParts);
    M.onSearchPart((entries) => {
      if (!prepared) return;
      for (const item of prepare(entries)) prepared.push(item);
      partsLeft -= 1;
      rerender();
    });
    M.whenSearchIndex((entries) => {
      prepared = prepare(entries);
      if (input.value.trim() || document.activeElement === input) loadParts();
      if (input.value.trim()) render();
    });
  }

  M.siteSearch = { search, prepare };

  M.page("#site-search", (input) => {
    const results = document.getElementById("search-results");
    if (results) setup(input, results);
  });
})();
