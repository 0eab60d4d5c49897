/**
 * The whole path over real HTTP on 127.0.0.1: @effect/platform-node's client, BudAuth, BudHttpClient, and the
 * emulator served by @effect/platform-node's HTTP server.
 */
import { HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { BudAuth, BudHttpClient } from "../src/index.js"
import { BudEmulator } from "../src/testing/index.js"

/** The library over a real socket, against the emulator the test started. */
const overLoopback = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(
      BudHttpClient.layer().pipe(
        Layer.provideMerge(BudEmulator.layerBudAuth()),
        Layer.provideMerge(BudEmulator.layerServer()),
        Layer.provide(NodeHttpClient.layerUndici)
      )
    )
  )

describe("over HTTP on 127.0.0.1", () => {
  it.live("token, call, revoked token, 401, renewal, retry, success", () =>
    overLoopback(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const client = yield* BudHttpClient.BudHttpClient
      const first = yield* client.get("/v1/open-banking/providers")
      expect(first.status).toBe(200)
      expect(first.headers["x-request-id"]).toBeDefined()

      yield* emulator.revokeAll
      const afterRevocation = yield* client.get("/v1/open-banking/providers")
      expect(afterRevocation.status).toBe(200)

      const stats = yield* emulator.stats
      expect(stats).toMatchObject({ clientCredentialsRequests: 1, refreshTokenRequests: 1, apiUnauthorized: 1 })
      const grants = (yield* emulator.received).filter((r) => r.path === "/v1/oauth/token").map((r) => r.grantType)
      expect(grants).toEqual(["client_credentials", "refresh_token"])
    })))

  it.live("a POST with a body after revocation: 401, renewal, the same body resent, 201", () =>
    overLoopback(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const client = yield* BudHttpClient.BudHttpClient
      yield* client.get("/v1/open-banking/providers")
      yield* emulator.revokeAll
      const response = yield* client.execute(
        HttpClientRequest.post("/v1/customers").pipe(HttpClientRequest.bodyUnsafeJson({ name: "Ada" }))
      )
      expect(response.status).toBe(201)
      const body = (yield* response.json) as { data: { echo: unknown } }
      expect(body.data.echo).toEqual({ name: "Ada" })
      expect((yield* emulator.stats).apiUnauthorized).toBe(1)
    })))

  it.live("a customer-scoped call sends X-Customer-Id; the emulator's log redacts the token", () =>
    overLoopback(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const client = (yield* BudHttpClient.BudHttpClient).pipe(
        BudHttpClient.forCustomer({ customerId: "5b1a6f3e-0000-4000-8000-000000000001" })
      )
      const response = yield* client.get("/v1/subscriptions").pipe(Effect.flatMap(HttpClientResponse.filterStatusOk))
      expect(response.status).toBe(200)
      const last = (yield* emulator.received).at(-1)!
      expect(last.headers["x-customer-id"]).toBe("5b1a6f3e-0000-4000-8000-000000000001")
      expect(last.headers["authorization"]).toBe("<redacted>")
    })))

  it.live("token requests honour the emulator's 503 and recover", () =>
    overLoopback(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.failNext(2, { _tag: "Status", status: 503 }, "token")
      const auth = yield* BudAuth.BudAuth
      const token = yield* auth.token
      expect(token.tokenType).toBe("Bearer")
      expect((yield* emulator.stats).tokenRequests).toBe(3)
    })))
})
