/**
 * Which prompt a request gets: the one it names (`prompt_name`, a key of the model's
 * `config_sentence_transformers.json` `prompts`), else the server's default (`--default-prompt-name`
 * or `--default-prompt`), else none. As in TEI, a named prompt replaces the default.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { ApiError } from "../ApiError.js"
import type { ServerConfig } from "../config/index.js"

const names = (prompts: Readonly<Record<string, string>>): string =>
  Object.keys(prompts).map((k) => JSON.stringify(k)).join(", ")

/**
 * Why `--default-prompt-name` cannot be used with a model's prompts, or `undefined` when it can
 * (or is not set). Checked once at start-up.
 *
 * @since 0.1.0
 * @category checks
 */
export const checkDefault = (
  config: ServerConfig,
  prompts: Readonly<Record<string, string>>
): string | undefined => {
  const name = config.defaultPromptName
  if (name === undefined || Object.hasOwn(prompts, name)) return undefined
  return Object.keys(prompts).length === 0
    ? `--default-prompt-name is set to ${JSON.stringify(name)} but the model has no prompts ` +
      `(config_sentence_transformers.json "prompts")`
    : `--default-prompt-name is set to ${JSON.stringify(name)}, which is not one of the model's prompts ` +
      `(${names(prompts)})`
}

/**
 * The prompt text for a request (`undefined`: none), or a 422 `Validation` error naming the
 * prompts the model has.
 *
 * @since 0.1.0
 * @category resolution
 */
export const resolve = (
  name: string | null | undefined,
  prompts: Readonly<Record<string, string>>,
  config: ServerConfig
): Result.Result<string | undefined, ApiError> => {
  if (name === null || name === undefined) {
    const fallback = config.defaultPromptName
    return Result.succeed(fallback === undefined ? config.defaultPrompt : prompts[fallback])
  }
  if (Object.hasOwn(prompts, name)) return Result.succeed(prompts[name])
  return Result.fail(
    new ApiError({
      kind: "invalid_request",
      message: Object.keys(prompts).length === 0
        ? `invalid request: "prompt_name" is ${JSON.stringify(name)} but the model has no prompts ` +
          `(config_sentence_transformers.json "prompts")`
        : `invalid request: "prompt_name" ${JSON.stringify(name)} is not one of the model's prompts: ${names(prompts)}`,
      param: "prompt_name"
    })
  )
}
