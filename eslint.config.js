// @ts-check
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    // Build output, reports, tool caches and the Rust xtask are not ours to lint.
    ignores: ["dist/", "reports/", "coverage/", "node_modules/", "target/", ".tools/", ".build/", "xtask/"],
  },
  {
    // The security scanner's fixtures and semgrep rule cases hold the very patterns it flags.
    ignores: ["security/test/fixtures/", "security/semgrep/"],
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
    },
  },
  {
    // Plain JavaScript config files are outside tsconfig.json: no type information there.
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
