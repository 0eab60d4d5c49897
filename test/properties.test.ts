import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, Layer, Redacted, Schedule, TestClock, TestContext } from "effect"
import fc from "fast-check"
import { BudAuth } from "../src/index.js"
import type { AccessToken } from "../src/index.js"
import { json, makeFake } from "./support/fakeHttp.js"

const clientSecret = "prop-client-secret"
const refreshSecret = "prop-refresh-secret"
const accessSecret = "prop-access-secret"
const budErrorTags = new Set([
  "InvalidCredentialsError",
  "NetworkError",
  "UnexpectedResponseError",
  "TokenExpiredError"
])

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.provide(effect, TestContext.TestContext))

/** Bodies a token endpoint might send: Bud's own shapes, near misses, garbage, and bodies that echo secrets. */
const body = fc.oneof(
  fc.record({
    operation_id: fc.string(),
    data: fc.record({
      access_token: fc.oneof(fc.constant(accessSecret), fc.string(), fc.integer()),
      token_type: fc.oneof(fc.constant("bearer"), fc.constant("Bearer"), fc.string()),
      expires_in: fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.double(), fc.string()),
      refresh_token: fc.oneof(fc.constant(refreshSecret), fc.string(), fc.constant(null))
    }, { requiredKeys: [] })
  }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({
    operation_id: fc.string(),
    code_id: fc.string(),
    message: fc.oneof(fc.string(), fc.constant(`bad secret ${clientSecret} ${refreshSecret}`))
  }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.json(),
  fc.string(),
  fc.constant("<html><body>502 Bad Gateway</body></html>"),
  fc.constant(`{"data": {"access_token": "${accessSecret}", "tok`)
)

describe("properties", () => {
  it("any status and any body from the token endpoint: success or a typed BudAuthError, never a secret in it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 100, max: 599 }), body, fc.boolean(), async (status, text, refreshFirst) => {
        const fake = makeFake((request) =>
          Effect.succeed(
            refreshFirst && request.form.get("grant_type") === "client_credentials"
              ? json(200, {
                data: {
                  access_token: "first-access-token",
                  token_type: "bearer",
                  expires_in: 3600,
                  refresh_token: refreshSecret
                }
              })
              : new Response(status === 101 || status === 204 || status === 205 || status === 304 ? null : text, {
                status: status < 200 ? 200 : status,
                headers: { "x-request-id": "prop" }
              })
          )
        )
        const layer = BudAuth.layer({
          clientId: "prop-client",
          clientSecret: Redacted.make(clientSecret),
          baseUrl: "https://bud.test",
          retrySchedule: Schedule.recurs(1)
        }).pipe(Layer.provide(fake.layer))
        const exit = await run(
          Effect.gen(function*() {
            const auth = yield* BudAuth.BudAuth
            if (refreshFirst) yield* auth.token
            return yield* (refreshFirst ? auth.refresh : auth.token)
          }).pipe(Effect.provide(layer), Effect.exit)
        )
        if (Exit.isFailure(exit)) {
          const failure = Cause.failureOption(exit.cause)
          expect(failure._tag).toBe("Some") // a typed failure, never a defect or an interruption
          if (failure._tag === "Some") {
            const error = failure.value
            expect(budErrorTags.has(error._tag)).toBe(true)
            const surfaces = `${error.message} ${String(error)} ${JSON.stringify(error)} ${Cause.pretty(exit.cause)}`
            // the secrets the library knew: its client secret, and the tokens Bud had issued to it
            const known = refreshFirst ? [clientSecret, refreshSecret, "first-access-token"] : [clientSecret]
            for (const secret of known) expect(surfaces).not.toContain(secret)
          }
        }
      }),
      { numRuns: 300 }
    )
  })

  type Op =
    | { readonly _tag: "Calls"; readonly n: number }
    | { readonly _tag: "Advance"; readonly seconds: number }
    | { readonly _tag: "Revoke" }
    | { readonly _tag: "Fail"; readonly status: number }

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ _tag: fc.constant("Calls" as const), n: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ _tag: fc.constant("Advance" as const), seconds: fc.integer({ min: 0, max: 4000 }) }),
    fc.record({ _tag: fc.constant("Revoke" as const) }),
    fc.record({ _tag: fc.constant("Fail" as const), status: fc.constantFrom(500, 503, 400, 0) })
  )

  it("any interleaving of callers, clock jumps, revocations and failures keeps the cache's invariants", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 3600 }),
        async (ops, life) => {
          let inFlight = 0
          let maxInFlight = 0
          let failNext: Array<number> = []
          let issued = 0
          const fake = makeFake(() =>
            Effect.gen(function*() {
              inFlight++
              maxInFlight = Math.max(maxInFlight, inFlight)
              yield* Effect.yieldNow()
              yield* Effect.yieldNow()
              inFlight--
              const status = failNext.shift()
              if (status === 0) return "drop" as const
              if (status !== undefined) return json(status, { message: "injected" })
              issued++
              return json(200, {
                data: {
                  access_token: `t${issued}`,
                  token_type: "bearer",
                  expires_in: life,
                  refresh_token: `r${issued}`
                }
              })
            })
          )
          const margin = 60_000
          const layer = BudAuth.layer({
            clientId: "prop-client",
            clientSecret: Redacted.make(clientSecret),
            baseUrl: "https://bud.test",
            retrySchedule: Schedule.recurs(2)
          }).pipe(Layer.provide(fake.layer))
          const handedOut: Array<{ at: number; token: AccessToken.AccessToken }> = []
          let revocations = 0
          let failures = 0
          let elapsed = 0
          await run(
            Effect.gen(function*() {
              const auth = yield* BudAuth.BudAuth
              const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
              const call = Effect.flatMap(auth.token, (token) =>
                Effect.map(Clock.currentTimeMillis, (at) => {
                  handedOut.push({ at, token })
                }))
              for (const o of ops) {
                if (o._tag === "Calls") {
                  for (let i = 0; i < o.n; i++) fibers.push(yield* Effect.fork(Effect.either(call)))
                } else if (o._tag === "Advance") {
                  elapsed += o.seconds
                  yield* TestClock.adjust(`${o.seconds} seconds`)
                } else if (o._tag === "Revoke") {
                  revocations++
                  const current = handedOut.at(-1)
                  if (current !== undefined) yield* auth.invalidate(current.token)
                } else {
                  failures++
                  failNext = [...failNext, o.status]
                }
              }
              // every caller gets an answer (success or a typed error), without any more time passing
              const results = yield* Effect.forEach(fibers, (fiber) => Fiber.join(fiber))
              expect(results).toHaveLength(fibers.length)
            }).pipe(Effect.provide(layer))
          )
          expect(maxInFlight).toBeLessThanOrEqual(1)
          for (const { at, token } of handedOut) {
            const issuedAt = token.issuedAt.getTime()
            const tokenLife = token.expiresAt.getTime() - issuedAt
            expect(at).toBeLessThan(issuedAt + Math.max(tokenLife - margin, tokenLife / 2))
          }
          // one request to start, one per revocation, the injected failures (each retried at most twice over),
          // and one per usable life that the clock crossed
          const usable = Math.max(life * 1000 - margin, life * 500)
          const renewEvery = usable - Math.min(120_000, usable * 0.2)
          const bound = 1 + revocations + failures * 3 + Math.ceil((elapsed * 1000) / renewEvery) + 1
          expect(fake.tokenRequests().length).toBeLessThanOrEqual(bound)
        }
      ),
      { numRuns: 150 }
    )
  })
})
