/**
 * Markdown for the benchmark and reliability reports.
 *
 * @since 0.1.0
 */

/**
 * How a table's columns are aligned: `"numbers"`, the first column (the row's name) left and the
 * rest right, for tables of figures; `"left"`, every column left.
 *
 * @since 0.1.0
 * @category models
 */
export type Alignment = "numbers" | "left"

/**
 * A Markdown table of `rows` under `header` (cells as given, no escaping).
 *
 * @example
 * ```ts
 * import { Markdown } from "@adabatch/testkit"
 *
 * console.log(Markdown.table(["system", "req/s"], [["adabatch", "812"]]))
 * // | system | req/s |
 * // |---|---:|
 * // | adabatch | 812 |
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const table = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align: Alignment = "numbers"
): string =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 || align === "left" ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`)
  ].join("\n")
