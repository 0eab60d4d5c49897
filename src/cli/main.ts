/**
 * The `bud-auth` command line: `token`, `emulator` and `demo`, built from the library's own layers.
 */
import { Command, Options } from "@effect/cli"
import { NodeHttpClient } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import * as Demo from "../../examples/demo.js"
import * as BudAuth from "../BudAuth.js"
import { BudEmulator } from "../testing/index.js"
import { version } from "../version.js"
import { CliFailure, exitCodes, exitCodesHelp, toCliFailure } from "./failure.js"

const connection = {
  clientId: Options.text("client-id").pipe(
    Options.optional,
    Options.withDescription("Bud Client ID (default: $BUD_CLIENT_ID)")
  ),
  clientSecret: Options.redacted("client-secret").pipe(
    Options.optional,
    Options.withDescription("Bud Client Secret (default: $BUD_CLIENT_SECRET; prefer the variable: flags show in ps)")
  ),
  environment: Options.choice("environment", ["sandbox", "production"]).pipe(
    Options.optional,
    Options.withDescription("sandbox or production (default: $BUD_ENVIRONMENT, else sandbox)")
  ),
  baseUrl: Options.text("base-url").pipe(
    Options.optional,
    Options.withDescription("override the environment's base URL (default: $BUD_BASE_URL)")
  )
}

type Connection = {
  readonly clientId: Option.Option<string>
  readonly clientSecret: Option.Option<Redacted.Redacted<string>>
  readonly environment: Option.Option<BudAuth.Environment>
  readonly baseUrl: Option.Option<string>
}

/** `BudAuth` from the `BUD_*` variables, each overridden by its flag when given. */
export const budAuthLayer = (flags: Connection) =>
  BudAuth.layerConfig({
    clientId: Option.getOrUndefined(Option.map(flags.clientId, Config.succeed)),
    clientSecret: Option.getOrUndefined(Option.map(flags.clientSecret, Config.succeed)),
    environment: Option.getOrUndefined(Option.map(flags.environment, Config.succeed)),
    baseUrl: Option.isSome(flags.baseUrl) ? Config.succeed(flags.baseUrl) : undefined
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))

const token = Command.make(
  "token",
  { ...connection, json: Options.boolean("json").pipe(Options.withDescription("print type and expiry as JSON too")) },
  (flags) =>
    Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const accessToken = yield* auth.token
      yield* Console.log(
        flags.json
          ? JSON.stringify({
            access_token: Redacted.value(accessToken.value),
            token_type: accessToken.tokenType,
            expires_at: accessToken.expiresAt.toISOString(),
            expires_in: Math.round((accessToken.expiresAt.getTime() - Date.now()) / 1000)
          })
          : Redacted.value(accessToken.value)
      )
    }).pipe(Effect.provide(budAuthLayer(flags)), Effect.mapError(toCliFailure))
).pipe(
  Command.withDescription(
    `Print a valid Bud access token and a newline to stdout, nothing else: curl -H "Authorization: Bearer $(bud-auth token)" ... ${exitCodesHelp}`
  )
)

const emulator = Command.make(
  "emulator",
  {
    port: Options.integer("port").pipe(
      Options.withDefault(8080),
      Options.withDescription("port on 127.0.0.1 (0: any free port)")
    ),
    clientId: Options.text("client-id").pipe(Options.withDefault("emulator-client")),
    clientSecret: Options.text("client-secret").pipe(Options.withDefault("emulator-secret")),
    tokenLifetime: Options.integer("token-lifetime").pipe(
      Options.withDefault(3600),
      Options.withDescription("expires_in of issued tokens, in seconds")
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const emu = yield* BudEmulator.BudEmulator
      yield* Console.log(
        [
          `Bud emulator listening on ${emu.url} (Ctrl-C to stop)`,
          `accepts client id "${emu.clientId}" and client secret "${Redacted.value(emu.clientSecret)}"`,
          ``,
          `curl --basic --user ${emu.clientId}:${
            Redacted.value(emu.clientSecret)
          } -X POST ${emu.url}/v1/oauth/token \\`,
          `  -H 'Content-Type: application/x-www-form-urlencoded' -d grant_type=client_credentials`,
          ``,
          `export BUD_CLIENT_ID=${emu.clientId} BUD_CLIENT_SECRET=${
            Redacted.value(emu.clientSecret)
          } BUD_BASE_URL=${emu.url}`
        ].join("\n")
      )
      return yield* Effect.never
    }).pipe(
      Effect.provide(
        BudEmulator.layerServer({
          port: flags.port,
          clientId: flags.clientId,
          clientSecret: flags.clientSecret,
          tokenLifetime: flags.tokenLifetime
        })
      ),
      Effect.catchTag("ServeError", (error) =>
        Effect.fail(
          new CliFailure({
            message: `cannot listen on 127.0.0.1:${flags.port}: ${String(error.cause)}`,
            exitCode: exitCodes.other
          })
        ))
    )
).pipe(Command.withDescription("Serve the Bud emulator on 127.0.0.1 until interrupted (for local scripts and curl)."))

const demo = Command.make(
  "demo",
  {
    calls: Options.integer("calls").pipe(Options.withDefault(400), Options.withDescription("how many Bud calls")),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDefault(16),
      Options.withDescription("calls in flight")
    ),
    revocations: Options.integer("revocations").pipe(
      Options.withDefault(3),
      Options.withDescription("times the emulator revokes every live token during the batch")
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const summary = yield* Demo.demo(flags)
      yield* Console.log(Demo.formatSummary(summary))
      if (summary.failed > 0) {
        return yield* new CliFailure({
          message: `${summary.failed} of ${summary.calls} calls failed`,
          exitCode: exitCodes.callsFailed
        })
      }
    }).pipe(
      Effect.catchIf(
        (error): error is Exclude<typeof error, CliFailure> => !(error instanceof CliFailure),
        (error) =>
          Effect.fail(
            error._tag === "ServeError"
              ? new CliFailure({
                message: `cannot start the emulator: ${String(error.cause)}`,
                exitCode: exitCodes.other
              })
              : toCliFailure(error)
          )
      )
    )
).pipe(
  Command.withDescription(
    "Run the demo batch job: against the embedded Bud emulator, or against real Bud (read-only) when BUD_CLIENT_ID and BUD_CLIENT_SECRET are set. Exits 6 if any call failed."
  )
)

const root = Command.make("bud-auth").pipe(
  Command.withDescription(`Bud OAuth2 from the shell. ${exitCodesHelp}`),
  Command.withSubcommands([token, emulator, demo])
)

/** Runs the CLI on `argv` (as `process.argv`). */
export const run = Command.run(root, { name: "bud-auth", version })
