/**
 * The fault matrix of docs/reliability.md: every case through BudAuth and BudHttpClient, against the emulator
 * over 127.0.0.1, with the outcome and its bound asserted. The whole matrix runs under a capturing Logger (at the
 * most verbose level) and Tracer, and the secret-leak audit at the end searches everything they captured, and
 * every error the matrix saw, for any secret.
 */
import { HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, type Duration, Effect, Exit, Layer, Redacted, Schedule } from "effect"
import { createServer } from "node:net"
import { BudAuth, BudHttpClient } from "../src/index.js"
import { BudEmulator } from "../src/testing/index.js"
import { makeCapture } from "./support/capture.js"

/** Settings scaled down so the matrix runs in seconds; docs/reliability.md states the bounds for the defaults. */
export const fast = {
  auth: {
    requestTimeout: "2 seconds",
    acquireTimeout: "3 seconds",
    retrySchedule: Schedule.exponential("10 millis").pipe(Schedule.intersect(Schedule.recurs(4)))
  },
  client: {
    requestTimeout: "2 seconds",
    reauthenticateSchedule: Schedule.spaced("5 millis").pipe(Schedule.intersect(Schedule.recurs(2))),
    transientSchedule: Schedule.exponential("10 millis").pipe(Schedule.intersect(Schedule.recurs(3)))
  }
} satisfies { auth: Partial<BudAuth.Options>; client: BudHttpClient.Options }

const customerSecret = "customer-secret-for-the-audit"
const { captured, layer: captureLayer } = makeCapture()
const errorsSeen: Array<unknown> = []

type Env = BudEmulator.BudEmulator | BudAuth.BudAuth | BudHttpClient.BudHttpClient

/** Runs `effect` with BudAuth and BudHttpClient (fast settings) over a real socket to a fresh emulator. */
const withBud = <A, E>(
  effect: Effect.Effect<A, E, Env>,
  overrides: { baseUrl?: string; requestTimeout?: Duration.DurationInput } = {}
) =>
  Effect.gen(function*() {
    const emulator = yield* BudEmulator.BudEmulator
    const timeout = overrides.requestTimeout === undefined ? {} : { requestTimeout: overrides.requestTimeout }
    const auth = BudAuth.layer({
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      baseUrl: overrides.baseUrl ?? emulator.url,
      ...fast.auth,
      ...timeout
    })
    return yield* effect.pipe(
      Effect.provide(
        BudHttpClient.layer({ ...fast.client, ...timeout }).pipe(
          Layer.provideMerge(auth),
          Layer.provide(NodeHttpClient.layerUndici)
        )
      ),
      Effect.tapError((error) => Effect.sync(() => errorsSeen.push(error)))
    )
  }).pipe(Effect.provide(BudEmulator.layerServer()), Effect.provide(captureLayer), Effect.timeout("20 seconds"))

const token = Effect.flatMap(BudAuth.BudAuth, (auth) => auth.token)
const failNext = (n: number, fault: BudEmulator.Fault, where: BudEmulator.FaultTarget = "token") =>
  Effect.flatMap(BudEmulator.BudEmulator, (emulator) => emulator.failNext(n, fault, where))
const stats = Effect.flatMap(BudEmulator.BudEmulator, (emulator) => emulator.stats)
const body = (data: Record<string, unknown>) =>
  JSON.stringify({ operation_id: "oauth_token_create", data: { token_type: "bearer", ...data } })

/** The error a failed effect failed with, asserting that it failed with a typed error (never a defect). */
const typedFailure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isSuccess(exit)) throw new Error("expected a failure")
    const failure = Cause.failureOption(exit.cause)
    expect(failure._tag).toBe("Some")
    const error = (failure as { value: E }).value as E & { _tag: string; requestId?: string }
    errorsSeen.push(error)
    return error
  })

describe("fault matrix: token endpoint", () => {
  for (const status of [500, 502, 503, 504]) {
    it.live(`${status} once: retried, success after 2 requests`, () =>
      withBud(Effect.gen(function*() {
        yield* failNext(1, { _tag: "Status", status })
        yield* token
        expect((yield* stats).tokenRequests).toBe(2)
      })))

    it.live(`${status} persistently: UnexpectedResponseError(${status}) after 5 requests`, () =>
      withBud(Effect.gen(function*() {
        yield* failNext(10, { _tag: "Status", status })
        const error = yield* typedFailure(token)
        expect(error).toMatchObject({ _tag: "UnexpectedResponseError", status })
        expect((yield* stats).tokenRequests).toBe(5)
      })))
  }

  it.live("429 with Retry-After: 1: the retry waits at least a second, then success", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Status", status: 429, headers: { "retry-after": "1" } })
      yield* token
      const received = yield* Effect.flatMap(BudEmulator.BudEmulator, (e) => e.received)
      expect(received).toHaveLength(2)
      expect(received[1].at - received[0].at).toBeGreaterThanOrEqual(1000)
    })))

  it.live("429 without Retry-After: retried on the schedule, success", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(2, { _tag: "Status", status: 429 })
      yield* token
      expect((yield* stats).tokenRequests).toBe(3)
    })))

  it.live("connection dropped mid-response, once: retried, success", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Truncated" })
      yield* token
      expect((yield* stats).tokenRequests).toBe(2)
    })))

  it.live("connection dropped mid-response, persistently: NetworkError(Transport) after 5 requests", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(10, { _tag: "Truncated" })
      expect(yield* typedFailure(token)).toMatchObject({ _tag: "NetworkError", reason: "Transport" })
      expect((yield* stats).tokenRequests).toBe(5)
    })))

  it.live("connection dropped before an answer: retried; persistently NetworkError(Transport) after 5", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Drop" })
      yield* token
      yield* failNext(10, { _tag: "Drop" })
      expect(yield* typedFailure(Effect.flatMap(BudAuth.BudAuth, (a) => a.refresh))).toMatchObject({
        _tag: "NetworkError",
        reason: "Transport"
      })
      expect((yield* stats).tokenRequests).toBe(2 + 5)
    })))

  it.live("no answer at all: each attempt times out; persistently NetworkError(Timeout) after 5 attempts", () =>
    withBud(
      Effect.gen(function*() {
        yield* failNext(1, { _tag: "Hang" })
        yield* token
        yield* failNext(10, { _tag: "Hang" })
        expect(yield* typedFailure(Effect.flatMap(BudAuth.BudAuth, (a) => a.refresh))).toMatchObject({
          _tag: "NetworkError",
          reason: "Timeout"
        })
        expect((yield* stats).tokenRequests).toBe(2 + 5)
      }),
      { requestTimeout: "300 millis" }
    ))

  it.live("truncated JSON in a complete 200: UnexpectedResponseError after 1 request", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Malformed", body: "{\"operation_id\": \"oauth_token_create\", \"data\": {\"acc" })
      const error = yield* typedFailure(token)
      expect(error).toMatchObject({ _tag: "UnexpectedResponseError", status: 200 })
      expect(error.message).toContain("not JSON")
      expect((yield* stats).tokenRequests).toBe(1)
    })))

  it.live("an HTML error page: as its status (502: retried, then UnexpectedResponseError); with 200: not JSON", () =>
    withBud(Effect.gen(function*() {
      const html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
      yield* failNext(5, { _tag: "Malformed", status: 502, body: html })
      expect(yield* typedFailure(token)).toMatchObject({ _tag: "UnexpectedResponseError", status: 502 })
      expect((yield* stats).tokenRequests).toBe(5)
      yield* Effect.flatMap(
        BudEmulator.BudEmulator,
        (e) => e.failNext(1, { _tag: "Malformed", status: 200, body: html })
      )
      expect(yield* typedFailure(token)).toMatchObject({ _tag: "UnexpectedResponseError", status: 200 })
      expect((yield* stats).tokenRequests).toBe(6)
    })))

  it.live("a 200 with a missing field: UnexpectedResponseError naming it, after 1 request", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Malformed", body: body({ access_token: "emu-at-x", expires_in: 3600 }) })
      const error = yield* typedFailure(token)
      expect(error.message).toContain(`field "data.refresh_token" is missing`)
      expect((yield* stats).tokenRequests).toBe(1)
    })))

  it.live("a 200 with a wrongly typed field: UnexpectedResponseError naming it, never echoing a value", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, {
        _tag: "Malformed",
        body: body({ access_token: "emu-at-leak", expires_in: "3600", refresh_token: "emu-rt-leak" })
      })
      const error = yield* typedFailure(token)
      expect(error.message).toContain(`field "data.expires_in"`)
      expect(JSON.stringify(error) + error.message).not.toContain("emu-at-leak")
    })))

  it.live("a 200 with extra fields: accepted", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, {
        _tag: "Malformed",
        body: JSON.stringify({
          operation_id: "oauth_token_post",
          data: { access_token: "a1", token_type: "Bearer", expires_in: 3600, refresh_token: "r1", scope: "all" },
          metadata: { new: true }
        })
      })
      const t = yield* token
      expect(Redacted.value(t.value)).toBe("a1")
    })))

  for (const expiresIn of [0, -60]) {
    it.live(`expires_in ${expiresIn}: UnexpectedResponseError (a token already dead is not cached), 1 request`, () =>
      withBud(Effect.gen(function*() {
        yield* failNext(1, {
          _tag: "Malformed",
          body: body({ access_token: "a", expires_in: expiresIn, refresh_token: "r" })
        })
        const error = yield* typedFailure(token)
        expect(error.message).toContain(`field "data.expires_in"`)
        expect((yield* stats).tokenRequests).toBe(1)
      })))
  }

  it.live("expires_in huge: accepted, its life capped at 24 hours", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Malformed", body: body({ access_token: "a", expires_in: 1e12, refresh_token: "r" }) })
      const t = yield* token
      expect(t.expiresAt.getTime() - t.issuedAt.getTime()).toBe(24 * 3600 * 1000)
    })))

  it.live("expires_in fractional: accepted to the millisecond", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Malformed", body: body({ access_token: "a", expires_in: 90.5, refresh_token: "r" }) })
      const t = yield* token
      expect(t.expiresAt.getTime() - t.issuedAt.getTime()).toBe(90_500)
    })))

  it.live("a token_type other than bearer: UnexpectedResponseError, 1 request", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, {
        _tag: "Malformed",
        body: body({ access_token: "a", expires_in: 3600, refresh_token: "r", token_type: "mac" })
      })
      expect((yield* typedFailure(token)).message).toContain(`field "data.token_type"`)
      expect((yield* stats).tokenRequests).toBe(1)
    })))

  for (const status of [400, 401, 403]) {
    it.live(`${status} to client credentials: InvalidCredentialsError after exactly 1 request`, () =>
      withBud(Effect.gen(function*() {
        yield* failNext(1, { _tag: "Status", status })
        expect(yield* typedFailure(token)).toMatchObject({ _tag: "InvalidCredentialsError", status })
        expect((yield* stats).tokenRequests).toBe(1)
      })))
  }

  it.live("wrong credentials (Bud's 400 Unauthorised request): InvalidCredentialsError after 1 request", () =>
    Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const error = yield* typedFailure(
        Effect.flatMap(BudAuth.BudAuth, (auth) => auth.token).pipe(
          Effect.provide(
            BudAuth.layer({ clientId: emulator.clientId, clientSecret: Redacted.make("wrong"), baseUrl: emulator.url })
              .pipe(Layer.provide(NodeHttpClient.layerUndici))
          )
        )
      )
      expect(error).toMatchObject({ _tag: "InvalidCredentialsError", status: 400, budMessage: "Unauthorised request" })
      expect(error.requestId).toMatch(/^emu-/)
      expect((yield* emulator.stats).tokenRequests).toBe(1)
    }).pipe(Effect.provide(BudEmulator.layerServer())))

  it.live("the refresh token rejected: falls back to client credentials, success", () =>
    withBud(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const auth = yield* BudAuth.BudAuth
      yield* auth.token
      yield* emulator.rejectRefreshTokens(true)
      yield* auth.refresh
      const grants = (yield* emulator.received).map((r) => r.grantType)
      expect(grants).toEqual(["client_credentials", "refresh_token", "client_credentials"])
    })))

  it.live("Bud unreachable: NetworkError(Transport) after the retries", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const server = createServer().listen(0, "127.0.0.1", () => {
            const address = server.address()
            server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 9))
          })
        })
      )
      const error = yield* typedFailure(withBud(token, { baseUrl: `http://127.0.0.1:${port}` }))
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "Transport" })
      expect(error.message).toContain("ECONNREFUSED")
    }))
})

describe("fault matrix: API calls", () => {
  const get = Effect.flatMap(BudHttpClient.BudHttpClient, (client) => client.get("/v1/open-banking/providers"))
  const post = Effect.flatMap(
    BudHttpClient.BudHttpClient,
    (client) => client.execute(HttpClientRequest.post("/v1/customers").pipe(HttpClientRequest.bodyUnsafeJson({ n: 1 })))
  )

  it.live("401 storm (every token revoked under 200 concurrent calls): all succeed, exactly 1 renewal", () =>
    withBud(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* get
      yield* emulator.revokeAll
      const responses = yield* Effect.all(Array.from({ length: 200 }, () => get), { concurrency: "unbounded" })
      expect(responses.every((r) => r.status === 200)).toBe(true)
      expect((yield* stats).tokenRequests).toBe(2)
    })))

  it.live("403 storm (every token revoked, Bud answering 403, 200 concurrent calls): all succeed, 1 renewal", () =>
    withBud(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.rejectTokensWith(403)
      yield* get
      yield* emulator.revokeAll
      const responses = yield* Effect.all(Array.from({ length: 200 }, () => get), { concurrency: "unbounded" })
      expect(responses.every((r) => r.status === 200)).toBe(true)
      expect((yield* stats).tokenRequests).toBe(2)
    })))

  it.live("tokens revoked 5 times mid-batch of 500: 0 failures, at most 6 token requests", () =>
    withBud(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      let done = 0
      const results = yield* Effect.forEach(
        Array.from({ length: 500 }, (_, i) => i),
        () => get.pipe(Effect.tap(() => ++done % 90 === 0 ? emulator.revokeAll : Effect.void), Effect.either),
        { concurrency: 50 }
      )
      expect(results.filter((r) => r._tag === "Left" || r.right.status !== 200)).toEqual([])
      const s = yield* stats
      expect(s.revocations).toBe(5)
      expect(s.tokenRequests).toBeLessThanOrEqual(s.revocations + 1)
    })))

  it.live("401 on a POST with a body: renewed, the same body resent, success", () =>
    withBud(Effect.gen(function*() {
      yield* get
      yield* Effect.flatMap(BudEmulator.BudEmulator, (e) => e.revokeAll)
      const response = yield* post
      expect(response.status).toBe(201)
      expect(((yield* response.json) as { data: { echo: unknown } }).data.echo).toEqual({ n: 1 })
    })))

  it.live("persistent 401: TokenExpiredError(401) after 3 attempts", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(10, { _tag: "Status", status: 401 }, "api")
      const error = yield* typedFailure(get)
      expect(error).toMatchObject({ _tag: "TokenExpiredError", status: 401, attempts: 3 })
      expect((yield* stats).apiRequests).toBe(3)
    })))

  it.live("persistent 403: TokenExpiredError(403) after 3 attempts", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(10, { _tag: "Status", status: 403 }, "api")
      expect(yield* typedFailure(get)).toMatchObject({ _tag: "TokenExpiredError", status: 403, attempts: 3 })
    })))

  it.live("503 on a GET: retried, success; on a POST: returned as the response, 1 attempt", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Status", status: 503 }, "api")
      expect((yield* get).status).toBe(200)
      yield* failNext(1, { _tag: "Status", status: 503 }, "api")
      expect((yield* post).status).toBe(503)
      expect((yield* stats).apiRequests).toBe(3)
    })))

  it.live("connection dropped on a GET: retried, success; on a POST: RequestError, 1 attempt", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(1, { _tag: "Drop" }, "api")
      expect((yield* get).status).toBe(200)
      yield* failNext(1, { _tag: "Drop" }, "api")
      expect(yield* typedFailure(post)).toMatchObject({ _tag: "RequestError", reason: "Transport" })
      expect((yield* stats).apiRequests).toBe(3)
    })))

  it.live("no answer to a GET: each attempt times out; persistently NetworkError(Timeout) after 4 attempts", () =>
    withBud(
      Effect.gen(function*() {
        yield* failNext(1, { _tag: "Hang" }, "api")
        expect((yield* get).status).toBe(200)
        yield* failNext(10, { _tag: "Hang" }, "api")
        expect(yield* typedFailure(get)).toMatchObject({ _tag: "NetworkError", reason: "Timeout" })
        expect((yield* stats).apiRequests).toBe(2 + 4)
      }),
      { requestTimeout: "300 millis" }
    ))

  it.live("the token endpoint down during an API call: its NetworkError reaches the caller typed", () =>
    withBud(Effect.gen(function*() {
      yield* failNext(10, { _tag: "Drop" }, "token")
      expect(yield* typedFailure(get)).toMatchObject({ _tag: "NetworkError" })
      expect((yield* stats).apiRequests).toBe(0)
    })))

  it.live("a customer-scoped call with a customer secret, after a revocation", () =>
    withBud(Effect.gen(function*() {
      const client = (yield* BudHttpClient.BudHttpClient).pipe(
        BudHttpClient.forCustomer({ customerId: "c-1", secret: Redacted.make(customerSecret) })
      )
      yield* client.get("/v1/subscriptions")
      yield* Effect.flatMap(BudEmulator.BudEmulator, (e) => e.revokeAll)
      expect((yield* client.get("/v1/subscriptions")).status).toBe(200)
    })))
})

describe("secret-leak audit", () => {
  afterAll(() => {
    // Tokens the emulator issues start with these prefixes; its client secret is "emulator-secret".
    const secrets = ["emu-at-", "emu-rt-", "emulator-secret", customerSecret]
    const errors = errorsSeen.map((error) =>
      error instanceof Error ? `${error.message}\n${String(error)}\n${JSON.stringify(error)}` : JSON.stringify(error)
    )
    const everything = [captured.text(), ...errors].join("\n")
    for (const secret of secrets) expect(everything).not.toContain(secret)
  })

  it("captured the whole matrix: logs at every level, spans with their attributes, and its errors", () => {
    expect(captured.spans.some((s) => s.name === "BudAuth.requestToken")).toBe(true)
    expect(captured.spans.some((s) => s.name === "BudHttpClient.attempt")).toBe(true)
    expect(captured.spans.some((s) => s.attributes.get("http.request.header.authorization") === "<redacted>")).toBe(
      true
    )
    expect(captured.logs.some((l) => l.includes("level=DEBUG"))).toBe(true)
    expect(errorsSeen.length).toBeGreaterThan(20)
  })
})
