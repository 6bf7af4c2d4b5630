/**
 * The `adabatch-server` command line on `effect/cli`: one `Flag` per setting, each falling back to
 * its environment variable through `Config` (flags win; a variable is not even read when its flag
 * is given; an empty variable counts as unset), `--help` and `--version` from `effect/cli`'s
 * built-ins, and the help text generated from the flags.
 *
 * What `effect/cli` does not express is wrapped here, minimally: the values are read by the
 * setting's own reader so that an error names the variable or flag, the value and what is
 * accepted (as a `ConfigError`); the command is run synchronously with the services `effect/cli`
 * asks for stubbed (no flag reads a file or a terminal), so that `parse` answers a `Result`; and
 * the exit code 2 of an invalid value is the caller's (`bin.ts`).
 *
 * @since 0.1.0
 */
import {
  Cause,
  Config,
  ConfigProvider,
  Effect,
  Exit,
  FileSystem,
  Layer,
  Option,
  Path,
  Result,
  Stdio,
  Terminal
} from "effect"
import { CliConfig, CliError, CliOutput, Command as CliCommand, Flag, GlobalFlag, type HelpDoc } from "effect/cli"
import { ChildProcessSpawner } from "effect/process"
import { ConfigError, finish, type ServerConfig } from "./ServerConfig.js"
import { type Setting, settings } from "./Settings.js"

/**
 * What the command line asks for.
 *
 * @since 0.1.0
 * @category models
 */
export type Command =
  | { readonly _tag: "Serve"; readonly config: ServerConfig }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }

/** The name of the command, as `--help` shows it. */
const defaultProgram = "adabatch-server"

/** The version `--version` prints. */
const version = "0.1.0"

const description = [
  "Serves text embeddings over HTTP: POST /embed, /, /invocations, /embed_all, /tokenize, /decode",
  "(TEI-compatible), POST /v1/embeddings and GET /v1/models (OpenAI-compatible), GET /health, /ready, /info,",
  "/metrics. Every flag can also be set by the environment variable in brackets; flags win.",
  "An invalid value stops start-up with exit code 2."
].join("\n  ")

const invalid = (setting: Setting, source: string, text: string, expected: string): ConfigError =>
  new ConfigError({ source, value: setting.key === "apiKey" ? "<redacted>" : text, expected })

/**
 * Reads every occurrence of a setting's flag, the last one winning (a command line may repeat a
 * flag to override an earlier one); no occurrence is `MissingOption`, for the variable to answer.
 */
const readFlag = (setting: Setting) => (texts: ReadonlyArray<string>): Effect.Effect<unknown, CliError.CliError> => {
  if (texts.length === 0) return Effect.fail(new CliError.MissingOption({ option: setting.flag.slice(2) }))
  let value: unknown
  for (const text of texts) {
    const result = setting.parse(text)
    if (Result.isFailure(result)) {
      return Effect.fail(
        new CliError.UserError({ cause: invalid(setting, `flag ${setting.flag}`, text, result.failure) })
      )
    }
    value = result.success
  }
  return Effect.succeed(value)
}

/**
 * Reads a setting's variable. An invalid value becomes the setting's value as a `ConfigError`,
 * reported once every flag has been read, so that an invalid flag is named first (as it would be
 * even if the variable were valid).
 */
const readVariable = (setting: Setting): Config.Config<unknown> =>
  Config.String(setting.env).pipe(Config.map((text) => {
    const result = setting.parse(text)
    return Result.isSuccess(result)
      ? result.success
      : invalid(setting, `environment variable ${setting.env}`, text, result.failure)
  }))

/** The flag of one setting, its variable as fallback: `Some(value)` when either is set. */
const toFlag = (setting: Setting): Flag.Flag<Option.Option<unknown>> => {
  const text: Flag.Flag<string> = setting.boolean
    ? Flag.Boolean(setting.flag.slice(2)).pipe(Flag.map(String))
    : Flag.String(setting.flag.slice(2)).pipe(Flag.withMetavar(setting.placeholder))
  return text.pipe(
    Flag.withDescription(
      `[${setting.env}] ${setting.description} Default: ${setting.shownDefault}.` +
        (setting.boolean ? ` Also ${setting.flag}=<bool> and --no-${setting.flag.slice(2)}.` : "")
    ),
    Flag.atLeast(0),
    Flag.mapEffect(readFlag(setting)),
    Flag.withFallbackConfig(readVariable(setting)),
    Flag.optional
  )
}

const flags: Record<string, Flag.Flag<Option.Option<unknown>>> = Object.fromEntries(
  settings.map((setting) => [setting.key, toFlag(setting)])
)

/** What one run of the command saw: the command asked for and the help document shown. */
interface Outcome {
  command: Command | undefined
  helpDoc: HelpDoc.HelpDoc | undefined
}

const makeCommand = (program: string, outcome: Outcome) =>
  CliCommand.make(program, flags, (values) =>
    Effect.suspend(() => {
      const set: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(values)) {
        if (Option.isNone(value)) continue
        if (value.value instanceof ConfigError) return Effect.fail(value.value)
        set[key] = value.value
      }
      const config = finish(set)
      if (Result.isFailure(config)) return Effect.fail(config.failure)
      outcome.command = { _tag: "Serve", config: config.success }
      return Effect.void
    })).pipe(CliCommand.withDescription(description))

/** `effect/cli` presents help and version through this; here they are recorded, not printed. */
const recorder = (outcome: Outcome): CliOutput.Presenter => ({
  present: (event) =>
    Effect.sync(() => {
      if (event._tag === "Help") {
        outcome.command = { _tag: "Help" }
        outcome.helpDoc = event.helpDoc
      } else if (event._tag === "Version") {
        outcome.command = { _tag: "Version" }
      }
    })
})

const unused = Effect.die("not used by the adabatch-server command line")

/** The services `effect/cli` requires of a command; no flag of this one reads a file or a terminal. */
const cliEnvironment = Layer.mergeAll(
  FileSystem.layerNoop({}),
  Path.layer,
  Stdio.layerTest({}),
  Layer.succeed(
    Terminal.Terminal,
    Terminal.make({
      columns: Effect.succeed(110),
      rows: Effect.succeed(24),
      size: unused,
      readInput: unused,
      readLine: unused,
      display: () => Effect.void
    })
  ),
  Layer.succeed(ChildProcessSpawner.ChildProcessSpawner, ChildProcessSpawner.make(() => unused)),
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] })
)

/** A flag `effect/cli` could not read: a missing value, or a boolean it does not accept. */
const invalidFlagValue = (error: CliError.InvalidValue): ConfigError => {
  const setting = settings.find((s) => s.flag === `--${error.option}`)
  return error.value === "" && setting !== undefined
    ? new ConfigError({
      source: `flag ${setting.flag}`,
      value: undefined,
      expected: `a value: ${setting.flag} ${setting.placeholder}`
    })
    : new ConfigError({
      source: `flag --${error.option}`,
      value: setting?.key === "apiKey" ? "<redacted>" : error.value,
      expected: setting?.boolean === true ? "true or false (also 1/0, yes/no, on/off)" : error.expected
    })
}

/** The first problem `effect/cli` reports, as a `ConfigError` naming the variable or flag. */
const toConfigError = (error: CliError.CliError): ConfigError => {
  switch (error._tag) {
    case "ShowHelp":
      return error.errors.length > 0
        ? toConfigError(error.errors[0]!)
        : new ConfigError({ source: "command line", value: undefined, expected: "run with --help to list the flags" })
    case "UserError":
      return error.cause instanceof ConfigError
        ? error.cause
        : new ConfigError({ source: "command line", value: undefined, expected: error.message })
    case "UnrecognizedOption":
      return new ConfigError({
        source: `unknown flag ${error.option}`,
        value: undefined,
        expected: "run with --help to list the flags"
      })
    case "UnexpectedArgument":
      return new ConfigError({
        source: `argument ${JSON.stringify(error.arguments[0] ?? "")}`,
        value: undefined,
        expected: "flags start with --"
      })
    case "InvalidValue":
      return invalidFlagValue(error)
    default:
      return new ConfigError({ source: "command line", value: undefined, expected: error.message })
  }
}

const nonEmpty = (env: Readonly<Record<string, string | undefined>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== "") out[name] = value
  return out
}

const run = (
  env: Readonly<Record<string, string | undefined>>,
  argv: ReadonlyArray<string>,
  program: string
): { readonly exit: Exit.Exit<void, ConfigError | CliError.CliError>; readonly outcome: Outcome } => {
  const outcome: Outcome = { command: undefined, helpDoc: undefined }
  const exit = CliCommand.runWith(makeCommand(program, outcome), { version, renderErrors: false })(argv).pipe(
    Effect.provide(Layer.mergeAll(
      cliEnvironment,
      CliOutput.layerPresenter(recorder(outcome)),
      ConfigProvider.layer(ConfigProvider.fromEnv({ env: nonEmpty(env) }))
    )),
    Effect.runSyncExit
  )
  return { exit, outcome }
}

/**
 * Reads the configuration from environment variables and command-line arguments (without the
 * `node` and script entries). Flags win over the environment (a variable is not even read when its
 * flag is given); an empty variable counts as unset. Flags take `--name value` or `--name=value`;
 * boolean flags also take a bare `--name` (true) or `--no-name` (false).
 *
 * @example
 * ```ts
 * import { ServerConfig } from "@adabatch/server"
 * import { Result } from "effect"
 *
 * const command = ServerConfig.parse({ ADABATCH_MODEL: "echo" }, ["--port", "0"])
 * if (Result.isSuccess(command) && command.success._tag === "Serve") {
 *   console.log(command.success.config.port) // 0
 * }
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  env: Readonly<Record<string, string | undefined>>,
  argv: ReadonlyArray<string>
): Result.Result<Command, ConfigError> => {
  const { exit, outcome } = run(env, argv, defaultProgram)
  if (Exit.isFailure(exit)) {
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isNone(error)) throw Cause.squash(exit.cause)
    return Result.fail(error.value instanceof ConfigError ? error.value : toConfigError(error.value))
  }
  if (outcome.command === undefined) throw new Error("the command line gave no command")
  return Result.succeed(outcome.command)
}

/**
 * The `--help` text, generated by `effect/cli` from the flags: each flag with its value, its
 * environment variable in brackets, what it does and its default.
 *
 * @since 0.1.0
 * @category parsing
 */
export const help = (program = defaultProgram): string => {
  const { outcome } = run({}, ["--help"], program)
  if (outcome.helpDoc === undefined) throw new Error("effect/cli showed no help")
  return CliOutput.defaultFormatter({ colors: false }).formatHelpDoc(outcome.helpDoc)
}
