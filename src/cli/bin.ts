/**
 * The `bud-auth` executable: runs the CLI, reports a failure as one line on stderr, and exits with the code of
 * its class (see `bud-auth --help`).
 */
import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Logger, Option } from "effect"
import { exitCodes } from "./failure.js"
import { run } from "./main.js"

const program = run(process.argv).pipe(
  Effect.tapErrorTag("CliFailure", (failure) => Console.error(`bud-auth: ${failure.message}`)),
  Effect.provide(NodeContext.layer),
  // logs go to stderr: stdout is the command's output (a token, a summary)
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)))
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) return onExit(exitCodes.success)
    // Ctrl-C is how the emulator is meant to stop; for token and demo it means the work did not finish
    if (Cause.isInterruptedOnly(exit.cause)) {
      return onExit(process.argv[2] === "emulator" ? exitCodes.success : exitCodes.interrupted)
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (ValidationError.isValidationError(error)) return onExit(exitCodes.configuration)
      if (typeof error === "object" && error !== null && "exitCode" in error) return onExit(Number(error.exitCode))
    }
    console.error(`bud-auth: unexpected failure: ${Cause.pretty(exit.cause)}`)
    onExit(exitCodes.other)
  }
})
