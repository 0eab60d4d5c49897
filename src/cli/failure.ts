/**
 * How the CLI reports a failure: one line on stderr naming the cause and what to check, and an exit code per
 * class of failure, so that shell jobs can tell them apart.
 */
import { ConfigError, Data } from "effect"
import type { BudAuthError } from "../BudError.js"

/** The CLI's exit codes, as listed in `bud-auth --help`. */
export const exitCodes = {
  success: 0,
  other: 1,
  configuration: 2,
  credentials: 3,
  network: 4,
  unexpectedResponse: 5,
  callsFailed: 6,
  interrupted: 130
} as const

/** A failure the CLI has already described: `message` goes to stderr, `exitCode` to the shell. */
export class CliFailure
  extends Data.TaggedError("CliFailure")<{ readonly message: string; readonly exitCode: number }>
{}

/** The help text that lists the exit codes. */
export const exitCodesHelp = [
  "Exit codes: 0 success; 1 other failure; 2 missing or invalid configuration;",
  "3 Bud rejected the credentials; 4 Bud unreachable or timed out; 5 unexpected answer from Bud;",
  "6 (demo) some calls failed; 130 interrupted (Ctrl-C) before the work was done."
].join(" ")

/** Every problem a `ConfigError` holds, one phrase each, naming the setting. */
const configProblems = (error: ConfigError.ConfigError): Array<string> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...configProblems(error.left), ...configProblems(error.right)]
    case "MissingData":
      return [`${error.path.join(".")} is not set`]
    default:
      return [`${error.path.join(".")}: ${error.message}`]
  }
}

/** Describes a configuration or Bud failure in one line, without any secret (the errors never hold one). */
export const toCliFailure = (error: BudAuthError | ConfigError.ConfigError): CliFailure => {
  if (ConfigError.isConfigError(error)) {
    return new CliFailure({
      message: `configuration: ${
        [...new Set(configProblems(error))].join("; ")
      }. Set BUD_CLIENT_ID and BUD_CLIENT_SECRET (or --client-id / --client-secret).`,
      exitCode: exitCodes.configuration
    })
  }
  switch (error._tag) {
    case "InvalidCredentialsError":
      return new CliFailure({ message: `wrong credentials: ${error.message}`, exitCode: exitCodes.credentials })
    case "NetworkError":
      return new CliFailure({ message: `Bud unreachable: ${error.message}`, exitCode: exitCodes.network })
    case "UnexpectedResponseError":
    case "TokenExpiredError":
      return new CliFailure({ message: `unexpected answer: ${error.message}`, exitCode: exitCodes.unexpectedResponse })
  }
}
