// Linting and formatting in one pass, as in Effect's own repository: typescript-eslint for the
// rules and @effect/eslint-plugin's `dprint` rule for the formatting.
import effect from "@effect/eslint-plugin"
import js from "@eslint/js"
import globals from "globals"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["**/dist/**", "**/node_modules/**", "**/.cache/**", "bench-results/**", "docs/**", "coverage/**"]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { "@effect": effect },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "no-constant-condition": "off",
      "require-yield": "off"
    }
  },
  {
    // Issue #12: modules under 400 code lines, functions under 120 (comments and blank lines not
    // counted), in the packages' sources.
    files: ["packages/*/src/**/*.ts", "packages/*/src/**/*.mjs"],
    rules: {
      "max-lines": ["error", { max: 400, skipComments: true, skipBlankLines: true }],
      "max-lines-per-function": ["error", { max: 120, skipComments: true, skipBlankLines: true, IIFEs: true }]
    }
  }
)
