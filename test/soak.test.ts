/**
 * Load and soak: many authenticated requests at high concurrency over loopback while the emulator revokes every
 * live token at random moments. Zero failures; token requests at most revocations + 1; the heap after the run
 * within a few MB of the heap before.
 *
 * On the 2-core machines CI uses, loopback HTTP with client and emulator in one process runs at roughly 250
 * requests a second, so `npm test` runs 5,000 requests; `SOAK_REQUESTS=20000 npx vitest run test/soak.test.ts` runs
 * the full 20,000 (see docs/reliability.md for its figures).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { BudHttpClient } from "../src/index.js"
import { BudEmulator } from "../src/testing/index.js"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
const heapAfterGc = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const requests = Number(process.env.SOAK_REQUESTS ?? 5_000)
const concurrency = 500

/** A small seeded generator, so that a failing run can be replayed. */
const seeded = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

describe("soak", () => {
  it.live(`${requests} requests at concurrency ${concurrency} with random revocations`, () =>
    Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const layer = BudHttpClient.layer().pipe(
        Layer.provideMerge(BudEmulator.layerBudAuth()),
        Layer.provide(NodeHttpClient.layerUndici)
      )
      const random = seeded(20_261_204)
      const result = yield* Effect.gen(function*() {
        const client = yield* BudHttpClient.BudHttpClient
        // warm up at full concurrency: the token, JIT, and as many keep-alive connections as the run will use
        yield* Effect.forEach(Array.from({ length: concurrency }), () => client.get("/v1/open-banking/providers"), {
          concurrency,
          discard: true
        })
        yield* emulator.reset
        const heapBefore = heapAfterGc()
        const failures: Array<string> = []
        let done = 0
        let nextRevocation = 1_000 + Math.floor(random() * 1_000)
        yield* Effect.forEach(
          Array.from({ length: requests }, (_, i) => i),
          () =>
            client.get("/v1/open-banking/providers").pipe(
              Effect.filterOrFail((response) => response.status === 200, (response) => `status ${response.status}`),
              Effect.flatMap((response) => response.text),
              Effect.catchAll((error) =>
                Effect.sync(() => failures.push(typeof error === "string" ? error : error.message))
              ),
              Effect.zipRight(Effect.suspend(() => {
                done++
                if (done < nextRevocation) return Effect.void
                // every live token dies at a random moment, 1,000 to 2,000 completed requests after the last time:
                // more often than that, one request's three attempts could each meet a fresh revocation
                nextRevocation = done + 1_000 + Math.floor(random() * 1_000)
                return emulator.revokeAll
              }))
            ),
          { concurrency, discard: true }
        )
        const stats = yield* emulator.stats
        yield* emulator.reset // the emulator's own log of 20,000 requests is not the library's memory
        const heapAfter = heapAfterGc()
        return { failures, done, stats, heapBefore, heapAfter }
      }).pipe(Effect.provide(layer))

      const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
      console.log(
        `soak: ${result.done} requests, ${result.failures.length} failures, ${result.stats.revocations} revocations, ` +
          `${result.stats.tokenRequests} token requests, heap ${mb(result.heapBefore)} MB before, ` +
          `${mb(result.heapAfter)} MB after`
      )
      expect(result.done).toBe(requests)
      expect(result.failures).toEqual([])
      expect(result.stats.revocations).toBeGreaterThan(0)
      expect(result.stats.tokenRequests).toBeLessThanOrEqual(result.stats.revocations + 1)
      expect(result.heapAfter - result.heapBefore).toBeLessThan(8 * 2 ** 20)
    }).pipe(Effect.provide(BudEmulator.layerServer())), { timeout: 300_000 })
})
