/**
 * The session plan: which of an ONNX session's inputs adabatch feeds and which output it reads
 * (pooled embeddings or token states), decided once from the first worker's session and checked
 * again for every restarted worker.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { ValueInfo, WorkerPlan } from "./WorkerProtocol.js"

/**
 * The settings a plan carries besides the session's names.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlanSettings {
  readonly pooling: "mean" | "cls"
  readonly normalize: boolean
  readonly probeIds: ReadonlyArray<number>
}

/**
 * What a session says of its inputs and outputs.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionSignature {
  readonly inputs: ReadonlyArray<ValueInfo>
  readonly outputs: ReadonlyArray<ValueInfo>
}

const INPUT_IDS = "input_ids"
const ATTENTION_MASK = "attention_mask"
const TOKEN_TYPE_IDS = "token_type_ids"
const POOLED_OUTPUTS = ["sentence_embedding"]
const TOKEN_OUTPUTS = ["last_hidden_state", "token_embeddings"]

const shapeText = (shape: ReadonlyArray<number | string>) => `[${shape.join(", ")}]`

/**
 * Decides what to feed and read from a session's inputs and outputs, or says why the model is
 * not usable.
 *
 * @since 0.1.0
 * @category models
 */
export const resolvePlan = (
  session: SessionSignature,
  settings: PlanSettings
): Result.Result<WorkerPlan, string> => {
  const provided = [INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS]
  for (const input of session.inputs) {
    if (!provided.includes(input.name)) {
      return Result.fail(
        `the model requires an input "${input.name}" that adabatch cannot provide ` +
          `(it feeds ${INPUT_IDS}, ${ATTENTION_MASK} and, if present, ${TOKEN_TYPE_IDS})`
      )
    }
    if (!input.isTensor || input.type !== "int64") {
      return Result.fail(`input "${input.name}" has type ${input.type ?? "non-tensor"}; adabatch feeds int64 tensors`)
    }
    if (input.shape.length !== 0 && input.shape.length !== 2) {
      return Result.fail(`input "${input.name}" has shape ${shapeText(input.shape)}; expected [batch, sequence]`)
    }
  }
  const names = session.inputs.map((input) => input.name)
  if (!names.includes(INPUT_IDS)) return Result.fail(`the model has no "${INPUT_IDS}" input`)
  if (!names.includes(ATTENTION_MASK)) {
    return Result.fail(
      `the model has no "${ATTENTION_MASK}" input; adabatch pads batches and needs the model to mask the padding`
    )
  }
  const pooled = session.outputs.find((output) => POOLED_OUTPUTS.includes(output.name))
  const tokens = session.outputs.find((output) => TOKEN_OUTPUTS.includes(output.name))
  const output = pooled ?? tokens
  if (output === undefined) {
    return Result.fail(
      `the model has none of the outputs ${[...POOLED_OUTPUTS, ...TOKEN_OUTPUTS].join(", ")} ` +
        `(it has: ${session.outputs.map((o) => o.name).join(", ") || "none"})`
    )
  }
  if (!output.isTensor || output.type !== "float32") {
    return Result.fail(`output "${output.name}" has type ${output.type ?? "non-tensor"}; expected float32`)
  }
  const rank = output === pooled ? 2 : 3
  if (output.shape.length !== 0 && output.shape.length !== rank) {
    return Result.fail(
      `output "${output.name}" has shape ${shapeText(output.shape)}; expected ` +
        (rank === 2 ? "[batch, dimension]" : "[batch, sequence, dimension]")
    )
  }
  return Result.succeed({
    inputIds: INPUT_IDS,
    attentionMask: ATTENTION_MASK,
    tokenTypeIds: names.includes(TOKEN_TYPE_IDS) ? TOKEN_TYPE_IDS : undefined,
    output: output.name,
    outputKind: output === pooled ? "pooled" : "tokens",
    tokenOutput: tokens !== undefined && tokens.isTensor && tokens.type === "float32" &&
        (tokens.shape.length === 0 || tokens.shape.length === 3)
      ? tokens.name
      : undefined,
    pooling: settings.pooling,
    normalize: settings.normalize,
    probeIds: settings.probeIds
  })
}

/**
 * The plan of a restarted worker: it must see the same inputs and outputs as the first one.
 *
 * @since 0.1.0
 * @category models
 */
export const recheckPlan = (
  session: SessionSignature,
  settings: PlanSettings,
  plan: WorkerPlan
): Result.Result<WorkerPlan, string> => {
  const again = resolvePlan(session, settings)
  if (Result.isFailure(again)) return again
  return JSON.stringify(again.success) === JSON.stringify(plan)
    ? Result.succeed(plan)
    : Result.fail("model.onnx changed since start-up (its inputs or outputs differ)")
}
