/**
 * How the worker layout was decided, as `/info` shows it (`layout`, snake_case like the rest of
 * `/info`) and as the ready log line says it.
 *
 * @since 0.1.0
 */
import type { EmbeddingModel, WorkerLayout } from "@adabatch/core"
import { LayoutChoice } from "@adabatch/core"

const MiB = 1024 * 1024
const round = (x: number, digits: number) => Number.isFinite(x) ? Number(x.toFixed(digits)) : null
const mib = (bytes: number | undefined) => bytes === undefined ? null : Math.round(bytes / MiB)

/**
 * The `layout` object of `/info` (`null` for a model without workers, such as `echo`).
 *
 * @since 0.1.0
 * @category rendering
 */
export const toJson = (report: WorkerLayout.LayoutReport | undefined): Record<string, unknown> | null =>
  report === undefined ? null : {
    source: report.source,
    usable_cores: report.usableCores,
    available_memory_mib: mib(report.availableMemoryBytes),
    memory_per_worker_mib: mib(report.memoryPerWorkerBytes),
    reason: report.reason,
    calibration_ms: report.calibrationMs === undefined ? null : Math.round(report.calibrationMs),
    measured_at: report.measuredAt ?? null,
    candidates: report.candidates.map((c) => ({
      workers: c.workers,
      threads: c.threads,
      short_items_per_second: round(c.shortItemsPerSecond, 1),
      long_items_per_second: round(c.longItemsPerSecond, 1),
      idle_ms: round(c.idleMs, 3),
      rss_growth_mib: mib(c.rssGrowthBytes),
      score: round(c.score, 3),
      excluded: c.excluded ?? null
    })),
    skipped: report.skipped.map((s) => ({ workers: s.workers, threads: s.threads }))
  }

/**
 * The layout part of the ready log line: `workers 2, threads 1 (calibrated ...: reason; measured:
 * 1 x 2: ..., 2 x 1: ...)`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const summary = (info: EmbeddingModel.ModelInfo): string => {
  const head = `workers ${info.workers}, threads ${info.intraOpNumThreads}`
  const report = info.layout
  if (report === undefined) return head
  const memory = report.memoryPerWorkerBytes === undefined
    ? ""
    : `, ${Math.round(report.memoryPerWorkerBytes / MiB)} MiB per worker`
  const measured = report.candidates.length === 0
    ? ""
    : `; measured: ${report.candidates.map(LayoutChoice.describe).join("; ")}`
  return `${head} (${report.source} on ${report.usableCores} usable cores${memory}: ${report.reason}${measured})`
}
