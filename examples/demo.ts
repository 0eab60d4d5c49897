/**
 * The demo batch job behind `npm start` (`bud-auth demo`): a scripted job as a user would write one.
 *
 * With no configuration it starts the Bud emulator on 127.0.0.1 and works through a batch of Bud calls with
 * bounded concurrency through `BudHttpClient`, while the emulator revokes every live token a few times. With
 * BUD_CLIENT_ID and BUD_CLIENT_SECRET set it runs the same job, read-only, against real Bud (BUD_ENVIRONMENT,
 * default sandbox). It ends with a summary and exits as soon as the work is done.
 *
 * In your own code, import from "effect-bud-auth" and "effect-bud-auth/testing" instead of the relative paths.
 */
import { HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Clock, Console, Duration, Effect, Layer, Metric, MetricState } from "effect"
import { BudAuth, BudHttpClient } from "../src/index.js"
import { BudEmulator } from "../src/testing/index.js"

/** How the job runs. */
export interface DemoOptions {
  /** How many Bud calls to make. */
  readonly calls: number
  /** How many calls are in flight at once. */
  readonly concurrency: number
  /** How many times the emulator revokes every live token during the batch (ignored against real Bud). */
  readonly revocations: number
}

/** What the job did. */
export interface DemoSummary {
  readonly target: string
  readonly calls: number
  readonly failed: number
  readonly tokenRequests: Readonly<Record<string, number>>
  readonly reauthenticatedRetries: number
  readonly elapsed: Duration.Duration
}

/** Token requests so far, by grant type, from the library's own metric. */
const tokenRequestsByGrant = Effect.map(Metric.snapshot, (pairs) => {
  const byGrant: Record<string, number> = {}
  for (const pair of pairs) {
    if (pair.metricKey.name !== "bud_auth_token_requests") continue
    const grant = pair.metricKey.tags.find((tag) => tag.key === "grant")?.value ?? "unknown"
    const count = MetricState.isCounterState(pair.metricState) ? Number(pair.metricState.count) : 0
    byGrant[grant] = (byGrant[grant] ?? 0) + count
  }
  return byGrant
})

/** The batch itself: only `BudHttpClient` and, when given, a hook that runs after every completed call. */
const batch = (options: DemoOptions, afterCall: (done: number) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const bud = yield* BudHttpClient.BudHttpClient
    let done = 0
    let failed = 0
    const call = (n: number) => {
      // every fourth call is customer-scoped; the rest list the Open Banking providers
      const request = n % 4 === 3
        ? HttpClientRequest.get("/v1/subscriptions").pipe(
          BudHttpClient.withCustomer({ customerId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}` })
        )
        : HttpClientRequest.get("/v1/open-banking/providers")
      return bud.execute(request).pipe(
        Effect.flatMap((response) =>
          response.status === 200
            ? Effect.void
            : Effect.fail(`status ${response.status}`)
        ),
        Effect.timeout("30 seconds"),
        Effect.catchAll((error) => {
          failed++
          const reason = typeof error === "string" ? error : error.message
          return Console.error(`call ${n} failed: ${reason}`)
        }),
        Effect.zipRight(Effect.suspend(() => {
          done++
          return Effect.zipRight(
            done % 50 === 0 || done === options.calls
              ? Console.log(`  ${done}/${options.calls} calls done`)
              : Effect.void,
            afterCall(done)
          )
        }))
      )
    }
    yield* Effect.forEach(Array.from({ length: options.calls }, (_, n) => n), call, {
      concurrency: options.concurrency,
      discard: true
    })
    return failed
  })

const runWith = (target: string, options: DemoOptions, afterCall: (done: number) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const before = yield* tokenRequestsByGrant
    const reauthBefore = (yield* Metric.value(BudHttpClient.reauthentications)).count
    yield* Console.log(`Running ${options.calls} Bud calls (concurrency ${options.concurrency}) against ${target}`)
    const failed = yield* batch(options, afterCall)
    const after = yield* tokenRequestsByGrant
    const tokenRequests: Record<string, number> = {}
    for (const [grant, count] of Object.entries(after)) {
      const delta = count - (before[grant] ?? 0)
      if (delta > 0) tokenRequests[grant] = delta
    }
    const summary: DemoSummary = {
      target,
      calls: options.calls,
      failed,
      tokenRequests,
      reauthenticatedRetries: (yield* Metric.value(BudHttpClient.reauthentications)).count - reauthBefore,
      elapsed: Duration.millis((yield* Clock.currentTimeMillis) - start)
    }
    return summary
  })

/** The job against the emulator, started on a free port of 127.0.0.1 and stopped when the job ends. */
const againstEmulator = (options: DemoOptions) =>
  Effect.gen(function*() {
    const emulator = yield* BudEmulator.BudEmulator
    const every = Math.max(1, Math.floor(options.calls / (options.revocations + 1)))
    let revoked = 0
    const revokeNow = (done: number) =>
      done % every === 0 && revoked < options.revocations
        ? Effect.zipRight(
          Effect.sync(() => revoked++),
          Effect.zipRight(emulator.revokeAll, Console.log(`  (emulator: revoked every live token after ${done} calls)`))
        )
        : Effect.void
    return yield* runWith(`the Bud emulator at ${emulator.url}`, options, revokeNow).pipe(
      Effect.provide(
        BudHttpClient.layer().pipe(
          Layer.provideMerge(BudEmulator.layerBudAuth()), // BudAuth with the emulator's URL and credentials
          Layer.provide(NodeHttpClient.layerUndici)
        )
      )
    )
  }).pipe(Effect.provide(BudEmulator.layerServer()))

/** The job against real Bud, read-only, configured by the BUD_* variables. */
const againstBud = (options: DemoOptions, environment: string) =>
  runWith(`Bud (${environment})`, options, () => Effect.void).pipe(
    Effect.provide(
      BudHttpClient.layer().pipe(
        Layer.provideMerge(BudAuth.layerConfig()),
        Layer.provide(NodeHttpClient.layerUndici)
      )
    )
  )

/** Picks the target: real Bud when BUD_CLIENT_ID and BUD_CLIENT_SECRET are set, else the emulator. */
export const demo = (options: DemoOptions) =>
  Effect.suspend(() => {
    const configured = process.env.BUD_CLIENT_ID !== undefined && process.env.BUD_CLIENT_SECRET !== undefined
    return configured ? againstBud(options, process.env.BUD_ENVIRONMENT ?? "sandbox") : againstEmulator(options)
  })

/** The summary, as printed at the end of the job. */
export const formatSummary = (summary: DemoSummary): string => {
  const grants = Object.entries(summary.tokenRequests).map(([grant, n]) => `${grant} ${n}`).join(", ") || "none"
  return [
    "Summary",
    `  target:                   ${summary.target}`,
    `  calls made:               ${summary.calls}`,
    `  calls failed:             ${summary.failed}`,
    `  token requests by grant:  ${grants}`,
    `  re-authenticated retries: ${summary.reauthenticatedRetries}`,
    `  elapsed:                  ${Duration.format(summary.elapsed)}`
  ].join("\n")
}
