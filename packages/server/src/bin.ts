#!/usr/bin/env node
/**
 * The `adabatch-server` command: reads the configuration from the environment and the flags
 * (`--help` lists them; the command line is `effect/cli`'s, see `config/Cli.ts`), serves until
 * SIGTERM/SIGINT, then drains and exits 0.
 *
 * Exit codes: 0 after a clean shutdown, 1 when start-up fails (model load error, port in use),
 * 2 for an invalid configuration value.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Layer, Result } from "effect"
import * as ServerConfig from "./config/index.js"

const program = "adabatch-server"

const describeFailure = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const tagged = error as { readonly _tag: string; readonly message?: string; readonly cause?: unknown }
    if (tagged._tag === "ServeError") {
      const cause = tagged.cause instanceof Error ? tagged.cause.message : String(tagged.cause)
      return `cannot listen: ${cause}`
    }
    if (tagged.message !== undefined) return tagged.message
  }
  return error instanceof Error ? error.message : String(error)
}

const command = ServerConfig.parse(process.env, process.argv.slice(2))
if (Result.isFailure(command)) {
  process.stderr.write(`${program}: ${command.failure.message}\n`)
  process.exit(2)
}
switch (command.success._tag) {
  case "Help":
    process.stdout.write(`${ServerConfig.help(program)}\n`)
    break
  case "Version":
    process.stdout.write(`${program} 0.1.0\n`)
    break
  case "Serve": {
    const config = command.success.config
    // Loaded only to serve, so --help and configuration errors answer at once.
    const [{ NodeRuntime }, Server] = await Promise.all([import("@effect/platform-node"), import("./Server.js")])
    const main = Layer.launch(Server.layer(config)).pipe(
      Effect.tapCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.void
          : Effect.sync(() => {
            const failure = cause.reasons.find((r) => r._tag === "Fail")
            process.stderr.write(
              `${program}: ${
                failure !== undefined && failure._tag === "Fail"
                  ? describeFailure(failure.error)
                  : Cause.pretty(cause)
              }\n`
            )
          })
      )
    )
    NodeRuntime.runMain(main, {
      disableErrorReporting: true,
      teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
    })
  }
}
