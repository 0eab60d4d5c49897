import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric, Redacted, TestClock } from "effect"
import { AccessToken, BudAuth } from "../src/index.js"
import { makeCapture, secretsIn } from "./support/capture.js"
import { json, makeFake } from "./support/fakeHttp.js"

const clientSecret = "cs-very-secret"
const grant = (n: number) =>
  json(200, {
    operation_id: "oauth_token_create",
    data: { access_token: `at-hidden-${n}`, token_type: "bearer", expires_in: 3600, refresh_token: `rt-hidden-${n}` }
  })

describe("BudAuth observability", () => {
  it.effect("logs, spans, errors, toString and JSON never hold a secret", () => {
    const { captured, layer: captureLayer } = makeCapture()
    const fake = makeFake((request, n) =>
      Effect.succeed(
        n === 1
          ? json(503, { message: `upstream echoed ${request.form.get("refresh_token")} and ${clientSecret}` })
          : n === 3
          ? json(401, { code_id: "unauthorised", message: `bad refresh token ${request.form.get("refresh_token")}` })
          : n === 4
          ? json(400, { code_id: "unknown", message: "Unauthorised request" })
          : grant(n)
      )
    )
    const layer = BudAuth.layer({
      clientId: "client-1",
      clientSecret: Redacted.make(clientSecret),
      baseUrl: "https://bud.test"
    })
      .pipe(Layer.provide(fake.layer))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const token = yield* auth.token
      const refreshing = yield* Effect.fork(auth.refresh)
      yield* TestClock.adjust("10 seconds")
      const refreshed = yield* Fiber.join(refreshing)
      const failure = yield* Effect.flip(auth.refresh) // refresh rejected, then wrong credentials
      yield* Effect.logError("a caller logs what it got", token, refreshed, failure)

      const secrets = [clientSecret, ...fake.received.flatMap((_, n) => [`at-hidden-${n}`, `rt-hidden-${n}`])]
      const surfaces = [
        captured.text(),
        String(token),
        JSON.stringify(token),
        String(failure),
        failure.message,
        JSON.stringify(failure)
      ].join("\n")
      expect(secretsIn(surfaces, secrets)).toEqual([])
      expect(failure._tag).toBe("InvalidCredentialsError")
      // the spans say what happened, by grant and outcome
      const spans = captured.spans.filter((s) => s.name === "BudAuth.requestToken")
      expect(spans.map((s) => [s.attributes.get("bud.grant_type"), s.attributes.get("bud.outcome")])).toEqual([
        ["client_credentials", "success"],
        ["refresh_token", "success"],
        ["refresh_token", "RefreshTokenRejected"],
        ["client_credentials", "InvalidCredentialsError"]
      ])
      expect(captured.logs.some((line) => line.includes("requesting a Bud access token"))).toBe(true)
      // the echoed secrets in Bud's messages were scrubbed, not dropped silently
      expect(AccessToken.isSameToken(token, refreshed)).toBe(false)
    }).pipe(Effect.provide(layer), Effect.provide(captureLayer))
  })

  it.effect("counts token requests by grant and result", () => {
    const fake = makeFake((_, n) => Effect.succeed(n === 0 ? json(500, {}) : grant(n)))
    const layer = BudAuth.layer({
      clientId: "metrics-client",
      clientSecret: Redacted.make("s"),
      baseUrl: "https://bud.test"
    })
      .pipe(Layer.provide(fake.layer))
    const counter = (grantType: string, result: string) =>
      Metric.value(
        BudAuth.tokenRequests.pipe(Metric.tagged("grant", grantType), Metric.tagged("result", result))
      )
    return Effect.gen(function*() {
      const before = (yield* counter("client_credentials", "success")).count
      const before500 = (yield* counter("client_credentials", "status_500")).count
      const auth = yield* BudAuth.BudAuth
      const fiber = yield* Effect.fork(auth.token)
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
      expect((yield* counter("client_credentials", "success")).count - before).toBe(1)
      expect((yield* counter("client_credentials", "status_500")).count - before500).toBe(1)
    }).pipe(Effect.provide(layer))
  })
})
