import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted, Schedule, TestClock } from "effect"
import { BudAuth } from "../src/index.js"
import { BudEmulator } from "../src/testing/index.js"

const clientId = "emulator-client"
const clientSecret = "emulator-secret"

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`

interface Answer {
  readonly status: number
  readonly body: unknown
  readonly text: string
  readonly headers: Readonly<Record<string, string>>
}

/** Sends a request to the emulator's URL and reads the whole answer as text (and JSON when it parses). */
const send = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<
  Answer,
  HttpClientError.HttpClientError,
  HttpClient.HttpClient | BudEmulator.BudEmulator
> =>
  Effect.gen(function*() {
    const { url } = yield* BudEmulator.BudEmulator
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(HttpClientRequest.prependUrl(request, url))
    const text = yield* response.text
    let body: unknown = undefined
    try {
      body = JSON.parse(text)
    } catch {
      // Left undefined: the fault tests look at the raw text.
    }
    return { status: response.status, body, text, headers: response.headers }
  })

const tokenRequest = (form: Record<string, string>, headers: Record<string, string> = {}) =>
  HttpClientRequest.post("/v1/oauth/token").pipe(
    HttpClientRequest.bodyUrlParams(form),
    HttpClientRequest.setHeaders(headers)
  )

const clientCredentials = tokenRequest(
  { grant_type: "client_credentials" },
  { authorization: basic(clientId, clientSecret), "x-client-id": clientId }
)

const refresh = (refreshToken: string, headers: Record<string, string> = { "x-client-id": clientId }) =>
  tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken }, headers)

interface TokenData {
  readonly access_token: string
  readonly token_type: string
  readonly expires_in: number
  readonly refresh_token: string
}

const tokenOf = (answer: Answer): TokenData => (answer.body as { data: TokenData }).data

const api = (
  method: "GET" | "POST",
  path: string,
  accessToken: string | undefined,
  headers: Record<string, string> = {}
) =>
  HttpClientRequest.make(method)(path).pipe(
    HttpClientRequest.setHeaders({
      "x-client-id": clientId,
      ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
      ...headers
    })
  )

const providers = (accessToken: string | undefined) => api("GET", "/v1/open-banking/providers", accessToken)

const genericUnauthorised = {
  operation_id: "unknown",
  code_id: "unknown",
  message: "Unauthorised request",
  errors: {}
}

const inMemory = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient | BudEmulator.BudEmulator>) =>
  Effect.provide(effect, BudEmulator.layerInMemory())

describe("BudEmulator in memory", () => {
  it.effect("client_credentials with the right Basic credentials returns a Bearer token", () =>
    inMemory(Effect.gen(function*() {
      const answer = yield* send(clientCredentials)
      expect(answer.status).toBe(200)
      expect(answer.headers["content-type"]).toContain("application/json")
      expect(answer.body).toMatchObject({
        operation_id: "oauth_token_create",
        data: { token_type: "Bearer", expires_in: 3600 }
      })
      const token = tokenOf(answer)
      expect(token.access_token).not.toBe(token.refresh_token)
      expect((yield* send(providers(token.access_token))).body).toMatchObject({
        operation_id: "open_banking_providers_get",
        data: expect.arrayContaining([expect.objectContaining({ provider: "barclays" })])
      })
    })))

  it.effect("wrong credentials, missing Basic auth and a non-form body are 400s as Bud words them", () =>
    inMemory(Effect.gen(function*() {
      const wrong = yield* send(
        tokenRequest({ grant_type: "client_credentials" }, { authorization: basic(clientId, "nope") })
      )
      expect(wrong.status).toBe(400)
      expect(wrong.body).toEqual({ operation_id: "unknown", code_id: "unknown", message: "Unauthorised request" })

      const noBasic = yield* send(tokenRequest({ grant_type: "client_credentials" }))
      expect(noBasic.status).toBe(400)
      expect(noBasic.body).toEqual({
        operation_id: "oauth_token_create",
        code_id: "failed_validation",
        message: "could not extract basic auth headers"
      })

      const asJson = yield* send(
        HttpClientRequest.post("/v1/oauth/token").pipe(
          HttpClientRequest.bodyUnsafeJson({ grant_type: "client_credentials" }),
          HttpClientRequest.setHeader("authorization", basic(clientId, clientSecret))
        )
      )
      expect(asJson.status).toBe(400)
      expect(asJson.body).toMatchObject({ code_id: "failed_validation", errors: { grant_type: expect.any(String) } })
    })))

  it.effect("a refresh token works once, with no Authorization header; a second use is 401", () =>
    inMemory(Effect.gen(function*() {
      const first = tokenOf(yield* send(clientCredentials))
      const refreshed = yield* send(refresh(first.refresh_token))
      expect(refreshed.status).toBe(200)
      const second = tokenOf(refreshed)
      expect(second.refresh_token).not.toBe(first.refresh_token)
      expect(second.access_token).not.toBe(first.access_token)

      const reused = yield* send(refresh(first.refresh_token))
      expect(reused.status).toBe(401)
      expect(reused.body).toEqual({
        operation_id: "oauth_token_create",
        code_id: "unauthorised",
        message: "Unauthorised."
      })
      expect((yield* send(refresh(second.refresh_token))).status).toBe(200)

      const emulator = yield* BudEmulator.BudEmulator
      const received = yield* emulator.received
      expect(received.filter((r) => r.grantType === "refresh_token").map((r) => r.headers.authorization))
        .toEqual([undefined, undefined, undefined])
      expect(yield* emulator.stats).toMatchObject({
        tokenRequests: 4,
        clientCredentialsRequests: 1,
        refreshTokenRequests: 3
      })
    })))

  it.effect("refresh needs the matching X-Client-Id; rejectRefreshTokens answers 401 without consuming", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const { refresh_token } = tokenOf(yield* send(clientCredentials))
      expect((yield* send(refresh(refresh_token, {}))).status).toBe(401)
      expect((yield* send(refresh(refresh_token, { "x-client-id": "someone-else" }))).status).toBe(401)
      yield* emulator.rejectRefreshTokens(true)
      expect((yield* send(refresh(refresh_token))).status).toBe(401)
      yield* emulator.rejectRefreshTokens(false)
      expect((yield* send(refresh(refresh_token))).status).toBe(200)
    })))

  it.effect("access tokens expire after their lifetime, judged by TestClock", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.setTokenLifetime(60)
      const token = tokenOf(yield* send(clientCredentials))
      expect(token.expires_in).toBe(60)
      yield* TestClock.adjust("59 seconds")
      expect((yield* send(providers(token.access_token))).status).toBe(200)
      yield* TestClock.adjust("1 second")
      const expired = yield* send(providers(token.access_token))
      expect(expired.status).toBe(401)
      expect(expired.body).toEqual(genericUnauthorised)
      expect((yield* emulator.received).map((r) => r.at)).toEqual([0, 59_000, 60_000])
      expect((yield* emulator.stats).apiUnauthorized).toBe(1)
    })))

  it.effect("revokeAll kills live access tokens but not refresh tokens", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const token = tokenOf(yield* send(clientCredentials))
      yield* emulator.revokeAll
      expect((yield* send(providers(token.access_token))).body).toEqual(genericUnauthorised)
      expect((yield* send(providers(undefined))).status).toBe(401)
      expect((yield* send(providers("not-a-token"))).status).toBe(401)
      const renewed = tokenOf(yield* send(refresh(token.refresh_token)))
      expect((yield* send(providers(renewed.access_token))).status).toBe(200)
      expect(yield* emulator.stats).toMatchObject({ revocations: 1, apiUnauthorized: 3 })
    })))

  it.effect("subscriptions need X-Customer-Id or X-Customer-Idempotent-Identifier", () =>
    inMemory(Effect.gen(function*() {
      const { access_token } = tokenOf(yield* send(clientCredentials))
      const missing = yield* send(api("GET", "/v1/subscriptions", access_token))
      expect(missing.status).toBe(400)
      expect(missing.body).toMatchObject({ operation_id: "subscriptions_get", code_id: "failed_validation" })
      expect((missing.body as { message: string }).message).toContain("X-Customer-Id")

      const byId = yield* send(api("GET", "/v1/subscriptions", access_token, { "x-customer-id": "cust-1" }))
      expect(byId.status).toBe(200)
      expect(byId.body).toMatchObject({
        operation_id: "subscriptions_get",
        data: expect.arrayContaining([expect.objectContaining({ customer_id: "cust-1" })])
      })
      const byIdempotent = yield* send(
        api("GET", "/v1/subscriptions", access_token, { "x-customer-idempotent-identifier": "ext-9" })
      )
      expect(byIdempotent.body).toMatchObject({
        data: expect.arrayContaining([expect.objectContaining({ customer_id: "ext-9" })])
      })
    })))

  it.effect("POST /v1/customers answers 201 and echoes the JSON body; unknown routes are 404", () =>
    inMemory(Effect.gen(function*() {
      const { access_token } = tokenOf(yield* send(clientCredentials))
      const payload = { customer_context: { type: "personal", region: "GB", locale: "en-GB" } }
      const created = yield* send(
        api("POST", "/v1/customers", access_token).pipe(HttpClientRequest.bodyUnsafeJson(payload))
      )
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({ operation_id: "customers_create", data: { echo: payload } })
      expect((created.body as { data: { customer_id: string } }).data.customer_id).toMatch(/^[0-9a-f-]{36}$/)

      const notFound = yield* send(api("GET", "/v1/nowhere", access_token))
      expect(notFound.status).toBe(404)
      expect(notFound.body).toMatchObject({ code_id: "not_found" })
    })))

  it.effect("Status faults answer Bud's envelope by default, or the given body and headers, then stop", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.failNext(2, { _tag: "Status", status: 503 }, "token")
      yield* emulator.failNext(1, {
        _tag: "Status",
        status: 429,
        body: "{\"message\":\"Too many requests\"}",
        headers: { "retry-after": "7" }
      }, "api")
      const first = yield* send(clientCredentials)
      expect(first.status).toBe(503)
      expect(first.body).toMatchObject({ operation_id: "oauth_token_create", code_id: "internal_server_error" })
      expect((first.body as { message: string }).message).toContain(first.headers["x-request-id"])
      expect((yield* send(clientCredentials)).status).toBe(503)
      const token = tokenOf(yield* send(clientCredentials))

      const limited = yield* send(providers(token.access_token))
      expect(limited.status).toBe(429)
      expect(limited.headers["retry-after"]).toBe("7")
      expect(limited.body).toEqual({ message: "Too many requests" })
      expect((yield* send(providers(token.access_token))).status).toBe(200)
    })))

  it.effect("a Drop fault fails the request with a Transport RequestError", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.failNext(1, { _tag: "Drop" })
      const error = yield* Effect.flip(send(clientCredentials))
      expect(error._tag).toBe("RequestError")
      expect(error.reason).toBe("Transport")
      expect(error.message).toContain("connection dropped by the emulator")
      expect((yield* send(clientCredentials)).status).toBe(200)
    })))

  it.effect("a Hang fault never answers until the caller gives up", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.failNext(1, { _tag: "Hang" }, "token")
      const fiber = yield* Effect.fork(Effect.timeout(send(clientCredentials), "10 seconds"))
      yield* TestClock.adjust("9 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit) && exit.cause.toString()).toContain("TimeoutException")
      expect((yield* send(clientCredentials)).status).toBe(200)
    })))

  it.effect("Malformed and Truncated faults answer bodies that are not Bud's JSON", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.failNext(1, { _tag: "Malformed", body: "<html>gateway</html>" })
      yield* emulator.failNext(1, { _tag: "Malformed", body: "{}", status: 502 })
      yield* emulator.failNext(1, { _tag: "Truncated" })
      const html = yield* send(clientCredentials)
      expect([html.status, html.text]).toEqual([200, "<html>gateway</html>"])
      expect(html.headers["content-type"]).toContain("application/json")
      const empty = yield* send(clientCredentials)
      expect([empty.status, empty.text]).toEqual([502, "{}"])
      const truncated = yield* send(clientCredentials)
      expect(truncated.status).toBe(200)
      expect(truncated.text.startsWith("{\"operation_id\":\"oauth_token_create\"")).toBe(true)
      expect(() => JSON.parse(truncated.text)).toThrow()
      expect(truncated.headers["x-bud-emulator-transport"]).toBeUndefined()
    })))

  it.effect("every answer carries a unique X-Request-Id", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.failNext(1, { _tag: "Status", status: 500 })
      yield* emulator.failNext(1, { _tag: "Malformed", body: "oops" })
      const answers = [
        yield* send(clientCredentials),
        yield* send(clientCredentials),
        yield* send(clientCredentials),
        yield* send(tokenRequest({ grant_type: "password" })),
        yield* send(providers(undefined)),
        yield* send(api("GET", "/nowhere", undefined))
      ]
      const ids = answers.map((a) => a.headers["x-request-id"])
      expect(ids.every((id) => /^emu-\d+$/.test(id ?? ""))).toBe(true)
      expect(new Set(ids).size).toBe(answers.length)
      expect((yield* emulator.received).map((r) => r.requestId)).toEqual(ids)
    })))

  it.effect("the received log holds no secret, token or customer secret", () =>
    inMemory(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const first = tokenOf(yield* send(clientCredentials))
      const second = tokenOf(yield* send(refresh(first.refresh_token)))
      yield* send(api("GET", "/v1/subscriptions", second.access_token, {
        "x-customer-id": "cust-1",
        "x-customer-secret": "customer-secret-value",
        "x-debug": `echo ${second.access_token}`
      }))
      const received = yield* emulator.received
      const logged = JSON.stringify(received)
      for (const secret of [clientSecret, basic(clientId, clientSecret), "customer-secret-value"]) {
        expect(logged).not.toContain(secret)
      }
      for (const token of [first, second]) {
        expect(logged).not.toContain(token.access_token)
        expect(logged).not.toContain(token.refresh_token)
      }
      expect(received[0].headers.authorization).toBe("<redacted>")
      expect(received[2].headers).toMatchObject({
        "x-customer-id": "cust-1",
        "x-customer-secret": "<redacted>",
        "x-debug": "<redacted>",
        "x-client-id": clientId
      })
      expect(received.map((r) => [r.method, r.path, r.grantType])).toEqual([
        ["POST", "/v1/oauth/token", "client_credentials"],
        ["POST", "/v1/oauth/token", "refresh_token"],
        ["GET", "/v1/subscriptions", undefined]
      ])
      yield* emulator.reset
      expect(yield* emulator.received).toEqual([])
      expect((yield* emulator.stats).tokenRequests).toBe(0)
    })))

  it.effect("BudAuth gets and renews tokens from the emulator", () =>
    Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const auth = yield* BudAuth.BudAuth
      const first = yield* auth.token
      yield* emulator.revokeAll
      const second = yield* auth.refresh
      expect(Redacted.value(second.value)).not.toBe(Redacted.value(first.value))
      expect(yield* emulator.stats).toMatchObject({ clientCredentialsRequests: 1, refreshTokenRequests: 1 })
    }).pipe(
      Effect.provide(
        Layer.provideMerge(
          BudAuth.layer({ clientId, clientSecret: Redacted.make(clientSecret), baseUrl: BudEmulator.baseUrl }),
          BudEmulator.layerInMemory()
        )
      )
    ))
})

describe("BudEmulator over a socket on 127.0.0.1", () => {
  const overSocket = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient | BudEmulator.BudEmulator>) =>
    Effect.provide(effect, Layer.merge(BudEmulator.layerServer(), NodeHttpClient.layerUndici))

  it.scopedLive("serves tokens and providers, and breaks the connection for Drop and Truncated", () =>
    overSocket(Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

      const answer = yield* send(clientCredentials)
      expect(answer.status).toBe(200)
      expect(answer.headers["x-request-id"]).toMatch(/^emu-\d+$/)
      const listed = yield* send(providers(tokenOf(answer).access_token))
      expect(listed.status).toBe(200)
      expect(listed.body).toMatchObject({ operation_id: "open_banking_providers_get" })

      yield* emulator.failNext(1, { _tag: "Drop" })
      const dropped = yield* Effect.flip(send(clientCredentials))
      expect(dropped._tag).toBe("RequestError")
      expect(dropped.reason).toBe("Transport")

      yield* emulator.failNext(1, { _tag: "Truncated" })
      const truncated = yield* Effect.flip(send(clientCredentials))
      expect(truncated._tag).toBe("ResponseError")

      expect((yield* send(clientCredentials)).status).toBe(200)
      expect((yield* emulator.stats).tokenRequests).toBe(4)
    })))

  it.scopedLive("closing the server does not wait for a hung request", () =>
    Effect.gen(function*() {
      // The client outlives the server here, so only the emulator can end the hung connection.
      const pending = yield* Effect.provide(
        Effect.gen(function*() {
          const emulator = yield* BudEmulator.BudEmulator
          yield* emulator.failNext(1, { _tag: "Hang" })
          const fiber = yield* Effect.forkDaemon(send(clientCredentials))
          yield* Effect.repeat(emulator.received, {
            until: (r) => r.length === 1,
            schedule: Schedule.spaced("5 millis")
          })
          return fiber
        }),
        BudEmulator.layerServer()
      )
      const exit = yield* Fiber.await(pending)
      expect(Exit.isFailure(exit) && exit.cause.toString()).toContain("RequestError")
    }).pipe(Effect.disconnect, Effect.timeout("5 seconds"), Effect.provide(NodeHttpClient.layerUndici)))
})
