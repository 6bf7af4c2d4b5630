/**
 * The report's closing "Not measured here" section: what this benchmark cannot tell, in fixed text.
 *
 * @since 0.1.0
 */

/**
 * The Markdown lines of the section.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (): Array<string> => [
  "## Not measured here",
  "",
  [
    "- GPUs and other execution providers: this machine has none.",
    "- Real pretrained weights: nothing may be downloaded; the built-in models have the real shapes and cost.",
    "- Multi-machine or cross-network latency: every request stays on 127.0.0.1.",
    "- The original system itself: it is not available, so its algorithm is re-implemented and its published " +
    "figures are quoted."
  ].join("\n"),
  ""
]
