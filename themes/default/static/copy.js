/*
 * copy.js: a Copy button on each code snippet of the model pages (<figure class="mt-snippet">
 * holding <code class="mt-snippet-code">). No network, works on file://.
 *
 * A click selects the snippet's text (so Ctrl+C works whatever happens next), then asks
 * the Clipboard API to copy it; where that API is missing or refused (some file:// and
 * http setups), the older execCommand("copy") is tried on the selection. The outcome is
 * announced in a polite live region next to the button.
 */
(function () {
  "use strict";

  const M = (window.MLTRAIL = window.MLTRAIL || {});
  const h = M.h;

  function selectText(node) {
    const selection = window.getSelection();
    if (!selection) return;
    const range = document.createRange();
    range.selectNodeContents(node);
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function execCopy() {
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }

  /** Copy ``text``; resolve to "copied" or "selected" (the text is selected for Ctrl+C). */
  function copy(text, node) {
    selectText(node);
    const clipboard = navigator.clipboard;
    if (clipboard && typeof clipboard.writeText === "function" && window.isSecureContext) {
      return clipboard.writeText(text).then(
        () => "copied",
        () => (execCopy() ? "copied" : "selected"),
      );
    }
    return Promise.resolve(execCopy() ? "copied" : "selected");
  }

  const MESSAGES = {
    copied: "Copied.",
    selected: "Selected: press Ctrl+C (⌘C) to copy.",
  };

  function setup(figure) {
    const code = figure.querySelector("code.mt-snippet-code");
    if (!code || figure.querySelector(".mt-copy")) return;
    const caption = figure.querySelector("figcaption");
    const status = h("span", { class: "mt-copy-status", role: "status", "aria-live": "polite" });
    const label = caption ? `Copy: ${caption.textContent}` : "Copy";
    const button = h("button", { type: "button", class: "mt-copy", "aria-label": label }, "Copy");
    let timer = null;
    button.addEventListener("click", () => {
      copy(code.textContent, code).then((outcome) => {
        status.textContent = MESSAGES[outcome];
        figure.dataset.copied = outcome;
        clearTimeout(timer);
        timer = setTimeout(() => {
          status.textContent = "";
        }, 4000);
      });
    });
    const bar = h("div", { class: "mt-snippet-bar" }, button, status);
    if (caption) caption.after(bar);
    else figure.insertBefore(bar, figure.firstChild);
  }

  M.copySnippet = copy;
  M.page(".mt-snippet", setup);
})();
