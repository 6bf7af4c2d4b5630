/**
 * The report's "How this was measured" section: the method shared by every scenario, in fixed text.
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
  "## How this was measured",
  "",
  [
    "- **Same run, interleaved.** Every comparison measures its systems in the same run, in turn (A, B, C, A, B, C, ...); " +
    "ratios are taken per repeat and reported as median (min - max).",
    "- **HTTP tests** (transport, original experiments) run each server in its **own child process**; the load " +
    "generator is a minimal HTTP/1.1 keep-alive client on raw sockets (pre-encoded requests), because Node's own " +
    "client costs more CPU per request than a bare server does. The generator's CPU share of one core is reported " +
    "next to each figure; when `wrk` is installed, it cross-checks each transport figure.",
    "- **Systems comparison and load curves run in process**: one model instance (same worker threads and ONNX " +
    "sessions), and each system is a different batcher in front of it. The load generator then shares the event " +
    "loop with the systems, equally for all of them.",
    "- **Closed-loop throughput** (a fixed number of callers, each sending again as soon as it is answered) is " +
    "computed by Little's law, callers / mean latency, over the requests started in the window: a batcher answers " +
    "in bursts, one per batch, so counting answers inside a short window would be quantised by whole batches. " +
    "The original experiments (a fixed request total) use total time instead, as the original did.",
    "- **Open loop, no coordinated omission**: requests follow a seeded Poisson schedule computed before the window; " +
    "each latency runs from the request's *planned* send time. The generator's lag behind its plan is recorded " +
    "(results.json). The first 25 % of each window is warm-up and not counted.",
    "- **Percentiles** interpolate linearly between closest ranks (NumPy's default); standard deviations are sample " +
    "ones (n - 1).",
    "- **Baselines** are re-implementations in this package: the original algorithm (min batch 4, hard timeout 500 ms, " +
    "queue 320, its cap of 32 enforced), TEI's strategy as a separate small implementation (no timer, at most 8 " +
    "requests, padded-token budget 16384, one batch pre-built, 512 permits), dataloader 2.2.3 (cache off, " +
    "maxBatchSize 32), and no batching (batch of 1). `fixed-N` is adabatch with fixed policies (cap N, 5 ms wait).",
    "- **The peer** is not a re-implementation: transformers.js, what a Node user would run instead, behind a " +
    "plain `node:http` handler in its own process, compared with the real adabatch server over HTTP (section 8).",
    "- **Model**: the built-in models have random weights with the real architecture, so their compute cost is real; " +
    "absolute latencies are this machine's."
  ].join("\n"),
  ""
]
