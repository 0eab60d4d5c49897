/**
 * The example of docs/testing.md, kept here so that it stays true: a user's own service, tested against the
 * in-memory emulator with @effect/vitest and TestClock.
 */
import { HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema, TestClock } from "effect"
import { BudHttpClient } from "effect-bud-auth"
import { BudEmulator } from "effect-bud-auth/testing"

// --- the user's code -------------------------------------------------------------------------------------
const Providers = Schema.Struct({ data: Schema.Array(Schema.Struct({ provider: Schema.String })) })

class ProviderDirectory extends Context.Tag("app/ProviderDirectory")<ProviderDirectory, {
  readonly list: Effect.Effect<ReadonlyArray<string>, unknown>
}>() {
  static readonly layer = Layer.effect(
    ProviderDirectory,
    Effect.map(BudHttpClient.BudHttpClient, (bud) => ({
      list: bud.get("/v1/open-banking/providers").pipe(
        Effect.flatMap(HttpClientResponse.schemaBodyJson(Providers)),
        Effect.map(({ data }) => data.map((p) => p.provider))
      )
    }))
  )
}

// --- the user's test ------------------------------------------------------------------------------------
const TestBud = BudHttpClient.layer().pipe(
  Layer.provideMerge(BudEmulator.layerBudAuth()), // BudAuth with the emulator's URL and credentials
  Layer.provideMerge(BudEmulator.layerInMemory({ tokenLifetime: 600 }))
)
const TestLayer = ProviderDirectory.layer.pipe(Layer.provideMerge(TestBud))

describe("ProviderDirectory", () => {
  it.effect("lists providers, renewing the token as it expires", () =>
    Effect.gen(function*() {
      const directory = yield* ProviderDirectory
      const emulator = yield* BudEmulator.BudEmulator

      expect(yield* directory.list).toContain("barclays")
      yield* TestClock.adjust("11 minutes") // the 10-minute token has expired
      expect(yield* directory.list).toContain("barclays")

      const stats = yield* emulator.stats
      expect(stats.clientCredentialsRequests).toBe(1)
      expect(stats.refreshTokenRequests).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("survives Bud revoking its token early", () =>
    Effect.gen(function*() {
      const directory = yield* ProviderDirectory
      const emulator = yield* BudEmulator.BudEmulator
      yield* directory.list
      yield* emulator.revokeAll
      const fiber = yield* Effect.fork(directory.list) // the retry after the 401 waits a short backoff
      yield* TestClock.adjust("1 second")
      expect(yield* fiber).toContain("barclays")
      expect((yield* emulator.stats).apiUnauthorized).toBe(1)
    }).pipe(Effect.provide(TestLayer)))
})
