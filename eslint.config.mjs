// ESLint for the default theme's JavaScript: `npm run lint` (CI runs it; see package.json).
// The theme's files are classic browser scripts, not modules (Chromium refuses module
// scripts on file://): each is one IIFE that shares state through window.MLTRAIL and
// reaches the vendored Vega libraries as window.vega, window.vegaLite, window.vegaEmbed.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    // Vendored, minified libraries are never linted; the rest is not the theme's code
    // (generated sites and fixtures, the venv, build output).
    ignores: [
      "themes/*/static/vendor/",
      "tests/",
      "sample_runs/",
      ".venv/",
      "build/",
      "dist/",
      "site/",
    ],
  },
  js.configs.recommended,
  {
    files: ["themes/*/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: { ...globals.browser },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      strict: ["error", "function"],
      // A one-line `if (x) y;` is fine; once Prettier wraps it, it gets braces.
      curly: ["error", "multi-line"],
      "no-implicit-globals": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
