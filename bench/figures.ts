/**
 * The figures of `npm run bench`, each measured as it is described in docs/performance.md. Every function returns
 * the samples of its runs; run.ts takes the medians.
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Clock, Duration, Effect, Layer, Redacted, Ref, Schedule, TestClock, TestContext } from "effect"
import { flow, identity } from "effect/Function"
import { BudAuth, BudHttpClient } from "../src/index.js"
import { BudEmulator } from "../src/testing/index.js"
import { type ContenderName, contenderNames, makeContender } from "./contenders.js"
import { burst, type BurstResult, inMemoryBud, progress, range, settle, timedLoop, waitObserver } from "./harness.js"

const providersPath = "/v1/open-banking/providers"
const statusAfterReading = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.as(response.text, response.status)

/** A `BudAuth` over a fresh in-memory emulator, its token already fetched. */
const warmAuth = Effect.gen(function*() {
  const { client, emulator } = yield* inMemoryBud()
  const auth = yield* BudAuth.make({
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    baseUrl: emulator.url
  }).pipe(Effect.provideService(HttpClient.HttpClient, client), Effect.orDie)
  yield* Effect.orDie(auth.token)
  return auth
})

// ---------------------------------------------------------------------------------------------------------------
// warm `token` cost

export interface WarmTokenSample {
  readonly tokenPerSecond: number
  readonly floorPerSecond: number
  /** How many times a floor call one `token` call costs. */
  readonly costRatio: number
}

/** The loop length that takes about `targetMillis`, measured on `body` (which also warms the JIT up). */
const calibrate = <E, R>(body: Effect.Effect<unknown, E, R>, targetMillis: number) =>
  Effect.gen(function*() {
    yield* timedLoop(body, 300_000, 2_000)
    const probe = yield* timedLoop(body, 200_000, 2_000)
    const perMilli = probe.count / Math.max(probe.millis, 0.001)
    return Math.min(10_000_000, Math.max(100_000, Math.round(perMilli * targetMillis)))
  })

export const warmToken = (runs: number): Effect.Effect<ReadonlyArray<WarmTokenSample>> =>
  Effect.scoped(
    Effect.gen(function*() {
      const auth = yield* warmAuth
      // The floor: what any cache that checks expiry must do at least, one state read and one clock read.
      const state = yield* Ref.make({ staleAt: Number.MAX_SAFE_INTEGER })
      const floor = Effect.flatMap(Ref.get(state), () => Clock.currentTimeMillis)
      // `auth.token` itself, with no wrapper: anything around it would count against it
      const token = auth.token
      yield* calibrate(floor, 50)
      const count = yield* calibrate(token, 250)
      const chunks = 10
      const samples: Array<WarmTokenSample> = []
      for (const run of range(runs)) {
        // Each run interleaves short loops of both, alternating which goes first: a noisy neighbour slows both alike.
        const totals = { token: { count: 0, millis: 0 }, floor: { count: 0, millis: 0 } }
        for (const chunk of range(chunks)) {
          const order = chunk % 2 === 0 ? (["floor", "token"] as const) : (["token", "floor"] as const)
          for (const which of order) {
            const loop = yield* timedLoop(which === "token" ? token : floor, Math.ceil(count / chunks), 2_000)
            totals[which].count += loop.count
            totals[which].millis += loop.millis
          }
        }
        const { floor: floorLoop, token: tokenLoop } = totals
        const tokenPerSecond = tokenLoop.count / tokenLoop.millis * 1000
        const floorPerSecond = floorLoop.count / floorLoop.millis * 1000
        samples.push({ tokenPerSecond, floorPerSecond, costRatio: floorPerSecond / tokenPerSecond })
        yield* progress(
          `  warm token, run ${run + 1}/${runs}: ${fmt(tokenPerSecond)} calls/s, floor ${fmt(floorPerSecond)}/s`
        )
      }
      return samples
    }).pipe(Effect.orDie)
  )

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")

// ---------------------------------------------------------------------------------------------------------------
// memory

export interface MemorySample {
  readonly calls: number
  readonly heapBeforeBytes: number
  readonly heapAfterBytes: number
  readonly growthBytes: number
}

const heapAfterGc = () => {
  if (globalThis.gc === undefined) throw new Error("run node with --expose-gc (npm run bench does)")
  // Twice: the first pass may leave garbage that only became unreachable during it.
  globalThis.gc()
  globalThis.gc()
  return process.memoryUsage().heapUsed
}

export const memory = (runs: number, calls: number): Effect.Effect<ReadonlyArray<MemorySample>> =>
  Effect.scoped(
    Effect.gen(function*() {
      const auth = yield* warmAuth
      const token = auth.token
      yield* timedLoop(token, 100_000, 2_000)
      const samples: Array<MemorySample> = []
      for (const run of range(runs)) {
        const heapBeforeBytes = yield* Effect.sync(heapAfterGc)
        const loop = yield* timedLoop(token, calls, 30_000)
        const heapAfterBytes = yield* Effect.sync(heapAfterGc)
        samples.push({
          calls: loop.count,
          heapBeforeBytes,
          heapAfterBytes,
          growthBytes: heapAfterBytes - heapBeforeBytes
        })
        yield* progress(
          `  memory, run ${run + 1}/${runs}: ${fmt(loop.count)} calls, heap ${
            ((heapAfterBytes - heapBeforeBytes) / 1024).toFixed(0)
          } KiB`
        )
      }
      return samples
    }).pipe(Effect.orDie)
  )

// ---------------------------------------------------------------------------------------------------------------
// authenticated throughput

export interface ThroughputSample {
  readonly budPerSecond: number
  readonly plainPerSecond: number
  /** BudHttpClient's requests per second over the plain client's. */
  readonly ratio: number
  /** The process's CPU time per request (client and emulator together), in microseconds. */
  readonly budCpuMicros: number
  readonly plainCpuMicros: number
  /**
   * `BudHttpClient` with its per-attempt bound switched off (`requestTimeout: Duration.infinity`) over the plain
   * client: how much of the gap that bound alone accounts for.
   */
  readonly unboundedRatio: number
  readonly failures: number
}

interface TimedBurst extends BurstResult {
  readonly cpuMicros: number
}

const cpuTimed = <E, R>(self: Effect.Effect<BurstResult, E, R>): Effect.Effect<TimedBurst, E, R> =>
  Effect.suspend(() => {
    const before = process.cpuUsage()
    return Effect.map(self, (result) => {
      const used = process.cpuUsage(before)
      return { ...result, cpuMicros: (used.user + used.system) / result.calls }
    })
  })

export const throughput = (
  runs: number,
  requests: number,
  concurrency: number
): Effect.Effect<ReadonlyArray<ThroughputSample>> =>
  Effect.gen(function*() {
    const emulator = yield* BudEmulator.BudEmulator
    const http = yield* HttpClient.HttpClient
    const auth = yield* BudAuth.make({
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      baseUrl: emulator.url
    })
    const bud = BudHttpClient.authenticate(http, auth)
    const token = yield* auth.token
    // What users write without the library: the same headers, fixed once.
    const plain = HttpClient.mapRequest(
      http,
      flow(
        HttpClientRequest.prependUrl(emulator.url),
        HttpClientRequest.bearerToken(Redacted.value(token.value)),
        HttpClientRequest.setHeader("x-client-id", emulator.clientId)
      )
    )
    const budCall = Effect.flatMap(bud.get(providersPath), statusAfterReading)
    const plainCall = Effect.flatMap(plain.get(providersPath), statusAfterReading)
    const unbounded = BudHttpClient.authenticate(http, auth, { requestTimeout: Duration.infinity })
    const unboundedCall = Effect.flatMap(unbounded.get(providersPath), statusAfterReading)
    const arms = [plainCall, budCall, unboundedCall] as const
    const run = (call: Effect.Effect<number, unknown>, n = requests) => cpuTimed(burst(call, n, concurrency, 60_000))
    // Warm-up: connections opened, JIT done.
    for (const arm of arms) yield* run(arm, Math.ceil(requests / 4))
    const samples: Array<ThroughputSample> = []
    for (const i of range(runs)) {
      // The three arms back to back, in a rotating order: each goes first, second and last as often.
      const results: Array<TimedBurst> = []
      for (const k of range(arms.length)) {
        const arm = (i + k) % arms.length
        results[arm] = yield* run(arms[arm])
      }
      const [p, b, t] = results
      const plainPerSecond = p.calls / p.millis * 1000
      const budPerSecond = b.calls / b.millis * 1000
      samples.push({
        budPerSecond,
        plainPerSecond,
        ratio: budPerSecond / plainPerSecond,
        budCpuMicros: b.cpuMicros,
        plainCpuMicros: p.cpuMicros,
        unboundedRatio: t.calls / t.millis * 1000 / plainPerSecond,
        failures: p.failures + b.failures + t.failures
      })
      yield* progress(
        `  throughput, run ${i + 1}/${runs}: BudHttpClient ${fmt(budPerSecond)} req/s, plain ${
          fmt(plainPerSecond)
        } req/s`
      )
    }
    return samples
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.merge(BudEmulator.layerServer(), NodeHttpClient.layerUndici)),
    Effect.orDie
  )

// ---------------------------------------------------------------------------------------------------------------
// the side-by-side scenarios

export interface Outcome {
  readonly tokenRequests: number
  readonly failures: number
  /** Calls (or callers) per second of real time. */
  readonly perSecond: number
}

export interface DayOutcome extends Outcome {
  readonly calls: number
  /** Calls after the first minute whose token acquisition waited for a token request. */
  readonly waitsAfterStart: number
}

export type ByContender<A> = Readonly<Record<ContenderName, A>>

/** `callers` concurrent first callers of one contender's token acquisition, on a fresh emulator. */
export const coldStart = (name: ContenderName, callers: number): Effect.Effect<Outcome> =>
  Effect.scoped(Effect.gen(function*() {
    const bud = yield* inMemoryBud()
    const contender = yield* makeContender(name, { ...bud, acquire: identity })
    const result = yield* burst(Effect.as(contender.token, 200), callers, "unbounded", 120_000)
    return {
      tokenRequests: (yield* bud.emulator.stats).tokenRequests,
      failures: result.failures,
      perSecond: result.calls / result.millis * 1000
    }
  }))

/**
 * The library's default re-authentication schedule without its backoff (the same two retries): the storm runs on
 * the real clock, so that its throughput means something, without waiting out 100 ms backoffs.
 */
export const zeroDelayReauthenticate = Schedule.recurs(2)

/** A warm token revoked, then `calls` concurrent calls of one contender that all meet a 401 on it. */
export const revocationStorm = (name: ContenderName, calls: number): Effect.Effect<Outcome> =>
  Effect.scoped(Effect.gen(function*() {
    const bud = yield* inMemoryBud()
    const contender = yield* makeContender(name, {
      ...bud,
      acquire: identity,
      reauthenticateSchedule: zeroDelayReauthenticate
    })
    const warm = yield* Effect.orDie(contender.call)
    if (warm !== 200) return yield* Effect.dieMessage(`warm-up call answered ${warm}`)
    yield* bud.emulator.reset
    yield* bud.emulator.revokeAll
    const result = yield* burst(contender.call, calls, "unbounded", 120_000)
    return {
      tokenRequests: (yield* bud.emulator.stats).tokenRequests,
      failures: result.failures,
      perSecond: result.calls / result.millis * 1000
    }
  }))

/**
 * 24 hours under `TestClock` with one-hour tokens: every minute, `callersPerMinute` concurrent calls of each
 * contender, each against its own emulator. The contenders take turns within each minute, and only the time of
 * their own calls counts towards their throughput (the `TestClock` bookkeeping between minutes does not).
 */
export const dayOfWork = (
  minutes: number,
  callersPerMinute: number,
  tokenLifetimeSeconds: number,
  maxMillis: number
): Effect.Effect<ByContender<DayOutcome>> =>
  Effect.scoped(Effect.gen(function*() {
    const setups = yield* Effect.forEach(contenderNames, (name) =>
      Effect.gen(function*() {
        const bud = yield* inMemoryBud(tokenLifetimeSeconds)
        const observer = waitObserver(bud.traffic)
        const contender = yield* makeContender(name, { ...bud, acquire: observer.acquire })
        return { name, bud, observer, contender, busyMillis: 0, calls: 0, failures: 0, waitsAtStart: 0 }
      }))
    const deadline = performance.now() + maxMillis
    for (const minute of range(minutes)) {
      for (const setup of setups) {
        const result = yield* burst(setup.contender.call, callersPerMinute, "unbounded", 10_000)
        setup.busyMillis += result.millis
        setup.calls += result.calls
        setup.failures += result.failures
        if (minute === 0) setup.waitsAtStart = setup.observer.waits()
      }
      yield* settle(setups.map((s) => s.bud.traffic), 1_000)
      if (performance.now() > deadline) {
        return yield* Effect.dieMessage(`the day of work did not finish in ${maxMillis} ms (minute ${minute})`)
      }
      if (minute % 240 === 239) yield* progress(`  a day of work: ${(minute + 1) / 60} h`)
      yield* TestClock.adjust("1 minute")
    }
    const outcomes = yield* Effect.forEach(setups, (setup) =>
      Effect.map(setup.bud.emulator.stats, (stats) =>
        [setup.name, {
          tokenRequests: stats.tokenRequests,
          failures: setup.failures,
          perSecond: setup.calls / setup.busyMillis * 1000,
          calls: setup.calls,
          waitsAfterStart: setup.observer.waits() - setup.waitsAtStart
        }] as const))
    return Object.fromEntries(outcomes) as Record<ContenderName, DayOutcome>
  })).pipe(Effect.provide(TestContext.TestContext))
