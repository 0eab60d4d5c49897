/**
 * The bench's plumbing: bounded loops and bursts timed with the real clock, an in-memory emulator whose token
 * requests are counted, and the observer that tells whether a caller had to wait for Bud.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { Context, Effect, Layer } from "effect"
import type * as Scope from "effect/Scope"
import { BudEmulator } from "../src/testing/index.js"

/** `0, 1, …, n - 1`. */
export const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Progress goes to stderr, so that `--json` leaves nothing but JSON on stdout. */
export const progress = (line: string): Effect.Effect<void> => Effect.sync(() => process.stderr.write(`${line}\n`))

/**
 * A real-time delay. Some figures run under `TestClock`, where `Effect.sleep` and `Effect.timeout` only move when
 * the test clock is adjusted; the bench's own bounds must not depend on that.
 */
export const realDelay = (millis: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

/** Fails the bench (not the figure) when `self` takes longer than `millis` of real time: every loop is bounded. */
export const within = (millis: number, what: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.raceFirst(self, Effect.zipRight(realDelay(millis), Effect.dieMessage(`${what}: no result after ${millis} ms`)))

export interface LoopResult {
  readonly count: number
  readonly millis: number
}

/**
 * Runs `body` `count` times back to back in one fiber, stopping early after `maxMillis` of real time (checked every
 * 4,096 iterations, so the check costs nothing measurable). Every figure that compares loops uses this one shape.
 */
export const timedLoop = <E, R>(
  body: Effect.Effect<unknown, E, R>,
  count: number,
  maxMillis: number
): Effect.Effect<LoopResult, E, R> =>
  Effect.suspend(() => {
    let i = 0
    const start = performance.now()
    const deadline = start + maxMillis
    return Effect.map(
      Effect.whileLoop({
        while: () => i < count && ((i & 4095) !== 0 || performance.now() < deadline),
        body: () => body,
        step: () => {
          i++
        }
      }),
      (): LoopResult => ({ count: i, millis: performance.now() - start })
    )
  })

export interface BurstResult {
  readonly calls: number
  readonly failures: number
  readonly millis: number
}

/**
 * `calls` calls of `call` with at most `concurrency` in flight, timed with the real clock. A call fails when it
 * fails or answers anything but 200; failures are counted, never thrown.
 */
export const burst = <E, R>(
  call: Effect.Effect<number, E, R>,
  calls: number,
  concurrency: number | "unbounded",
  maxMillis: number
): Effect.Effect<BurstResult, never, R> =>
  Effect.suspend(() => {
    let failures = 0
    const start = performance.now()
    const counted = call.pipe(
      Effect.map((status) => status === 200),
      Effect.catchAllCause(() => Effect.succeed(false)),
      Effect.map((ok) => {
        if (!ok) failures++
      })
    )
    return Effect.forEach(range(calls), () => counted, { concurrency, discard: true }).pipe(
      within(maxMillis, `${calls} calls`),
      Effect.map((): BurstResult => ({ calls, failures, millis: performance.now() - start }))
    )
  })

/** Token requests seen by a counting client: how many are in flight, how many have finished. */
export interface TokenTraffic {
  inFlight: number
  completed: number
}

const isTokenRequest = (url: string) => url.endsWith("/v1/oauth/token")

/** `client`, counting the token requests it carries (from sending to the answer's headers, or failure). */
export const countingTokenRequests = (client: HttpClient.HttpClient, traffic: TokenTraffic): HttpClient.HttpClient =>
  HttpClient.transform(client, (effect, request) =>
    isTokenRequest(request.url)
      ? Effect.zipRight(
        Effect.sync(() => {
          traffic.inFlight++
        }),
        Effect.ensuring(
          effect,
          Effect.sync(() => {
            traffic.inFlight--
            traffic.completed++
          })
        )
      )
      : effect)

export interface InMemoryBud {
  readonly emulator: BudEmulator.Service
  /** The in-memory emulator as an `HttpClient`, counting token requests into `traffic`. */
  readonly client: HttpClient.HttpClient
  readonly traffic: TokenTraffic
}

/** A fresh in-memory emulator for the scope: no sockets, in the caller's fiber (so `TestClock` drives it). */
export const inMemoryBud = (tokenLifetime = 3600): Effect.Effect<InMemoryBud, never, Scope.Scope> =>
  Effect.map(Layer.build(BudEmulator.layerInMemory({ tokenLifetime })), (context) => {
    const traffic: TokenTraffic = { inFlight: 0, completed: 0 }
    return {
      emulator: Context.get(context, BudEmulator.BudEmulator),
      client: countingTokenRequests(Context.get(context, HttpClient.HttpClient), traffic),
      traffic
    }
  })

/**
 * Tells whether callers waited for Bud. Every token acquisition of a contender goes through `acquire`; one during
 * which a token request finished waited for it. A cached token is handed out without a suspension, so no
 * request can finish in the middle of it: a caller served from the cache never counts as waiting.
 */
export interface WaitObserver {
  readonly acquire: <A, E>(self: Effect.Effect<A, E>) => Effect.Effect<A, E>
  readonly acquisitions: () => number
  readonly waits: () => number
}

export const waitObserver = (traffic: TokenTraffic): WaitObserver => {
  let acquisitions = 0
  let waits = 0
  return {
    acquire: (self) =>
      Effect.suspend(() => {
        const before = traffic.completed
        return Effect.ensuring(
          self,
          Effect.sync(() => {
            acquisitions++
            if (traffic.completed !== before) waits++
          })
        )
      }),
    acquisitions: () => acquisitions,
    waits: () => waits
  }
}

/**
 * Lets I/O that is already under way finish (real event-loop turns, not `TestClock` time): at least two turns, then
 * until no token request has been in flight for two turns in a row, or `maxMillis` have passed. Used before moving
 * the `TestClock`, which would otherwise fire the timeouts of a request that in real life takes milliseconds (a
 * background renewal may not have started yet when the callers return, hence the minimum).
 */
export const settle = (traffic: ReadonlyArray<TokenTraffic>, maxMillis: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    const deadline = performance.now() + maxMillis
    let quietTurns = 0
    const nextTurn = Effect.async<void>((resume) => {
      const immediate = setImmediate(() => resume(Effect.void))
      return Effect.sync(() => clearImmediate(immediate))
    })
    return Effect.whileLoop({
      while: () => quietTurns < 2 && performance.now() < deadline,
      body: () => nextTurn,
      step: () => {
        quietTurns = traffic.some((t) => t.inFlight > 0) ? 0 : quietTurns + 1
      }
    })
  })
