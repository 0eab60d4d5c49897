import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric, Redacted, TestClock } from "effect"
import { BudAuth, BudHttpClient } from "../src/index.js"
import { makeCapture, secretsIn } from "./support/capture.js"
import type { Received } from "./support/fakeHttp.js"
import { json, makeFake, tokenOk, wrongCredentials } from "./support/fakeHttp.js"

const base = "https://bud.test"
const unauthorised = () =>
  json(401, { operation_id: "unknown", code_id: "unknown", message: "Unauthorised request", errors: {} }, {
    "x-request-id": "req-401"
  })
const forbidden = () => json(403, { operation_id: "x", code_id: "forbidden", message: "Forbidden." })
const ok = (body: unknown = { operation_id: "ok", data: [] }) => json(200, body)

/** A fake Bud: the token endpoint issues tokens; `api` answers everything else. */
const setup = (
  api: (request: Received, apiIndex: number) => Response | "drop",
  options: BudHttpClient.Options = {},
  token: (request: Received) => Response = () => tokenOk()
) => {
  let apiCalls = 0
  const fake = makeFake((request) =>
    Effect.succeed(request.url.endsWith("/v1/oauth/token") ? token(request) : api(request, apiCalls++))
  )
  const auth = BudAuth.layer({ clientId: "client-1", clientSecret: Redacted.make("cs-secret"), baseUrl: base })
  const layer = BudHttpClient.layer(options).pipe(
    Layer.provideMerge(auth),
    Layer.provide(fake.layer)
  )
  const apiRequests = () => fake.received.filter((r) => !r.url.endsWith("/v1/oauth/token"))
  return { fake, layer, apiRequests }
}

/** Runs `effect` while the test clock moves a minute on, so that retry backoffs elapse. */
const withTime = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })

const bearerOf = (r: Received) => r.headers["authorization"]

describe("BudHttpClient", () => {
  it.effect("sends Bearer and X-Client-Id, resolving relative URLs against the base URL", () => {
    const { layer, apiRequests } = setup(() => ok())
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const response = yield* client.get("/v1/open-banking/providers")
      expect(response.status).toBe(200)
      const [request] = apiRequests()
      expect(request.url).toBe(`${base}/v1/open-banking/providers`)
      expect(bearerOf(request)).toMatch(/^Bearer at-secret-/)
      expect(request.headers["x-client-id"]).toBe("client-1")
    }).pipe(Effect.provide(layer))
  })

  it.effect("absolute URLs to other hosts get no credentials", () => {
    const { layer, apiRequests } = setup(() => ok())
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      yield* client.get("https://elsewhere.test/v1/open-banking/providers")
      yield* client.get(`${base}/v1/open-banking/providers`)
      const [other, bud] = apiRequests()
      expect(other.headers["authorization"]).toBeUndefined()
      expect(other.headers["x-client-id"]).toBeUndefined()
      expect(bearerOf(bud)).toMatch(/^Bearer /)
    }).pipe(Effect.provide(layer))
  })

  it.effect("401 then 200: succeeds with exactly one renewal, and the retry carries the new token", () => {
    const { fake, layer, apiRequests } = setup((_, n) => n === 0 ? unauthorised() : ok())
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const before = (yield* Metric.value(BudHttpClient.reauthentications)).count
      const response = yield* withTime(client.get("/v1/open-banking/providers"))
      expect(response.status).toBe(200)
      expect(fake.tokenRequests()).toHaveLength(2)
      const [first, second] = apiRequests()
      expect(bearerOf(second)).not.toBe(bearerOf(first))
      expect((yield* Metric.value(BudHttpClient.reauthentications)).count - before).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("1,000 concurrent requests all answered 401 on one token: all succeed with exactly one renewal", () => {
    let firstToken: string | undefined
    const { fake, layer } = setup((request) => bearerOf(request) === firstToken ? unauthorised() : ok())
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const auth = yield* BudAuth.BudAuth
      firstToken = `Bearer ${Redacted.value((yield* auth.token).value)}` // the cached token Bud will reject
      const responses = yield* withTime(
        Effect.all(Array.from({ length: 1000 }, () => client.get("/v1/open-banking/providers")), {
          concurrency: "unbounded"
        })
      )
      expect(responses.every((r) => r.status === 200)).toBe(true)
      expect(fake.tokenRequests()).toHaveLength(2) // the first token, and exactly one renewal
    }).pipe(Effect.provide(layer))
  })

  it.effect("persistent 401: TokenExpiredError after the schedule, with Bud's details and a bounded number of attempts", () => {
    const { layer, apiRequests } = setup(() => unauthorised())
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const error = yield* withTime(Effect.flip(client.get("/v1/open-banking/providers")))
      expect(error).toMatchObject({
        _tag: "TokenExpiredError",
        status: 401,
        attempts: 3,
        codeId: "unknown",
        budMessage: "Unauthorised request",
        requestId: "req-401"
      })
      expect(apiRequests()).toHaveLength(3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("persistent 403: TokenExpiredError with status 403", () => {
    const { layer, apiRequests } = setup(() => forbidden())
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const error = yield* withTime(Effect.flip(client.get("/v1/open-banking/providers")))
      expect(error).toMatchObject({ _tag: "TokenExpiredError", status: 403, codeId: "forbidden", attempts: 3 })
      expect(error.message).toContain("403")
      expect(apiRequests()).toHaveLength(3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a POST's body is identical on both attempts", () => {
    const { layer, apiRequests } = setup((_, n) => n === 0 ? unauthorised() : json(201, { data: {} }))
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const request = HttpClientRequest.post("/v1/customers").pipe(
        HttpClientRequest.bodyUnsafeJson({ name: "Ada", n: 1 })
      )
      const response = yield* withTime(client.execute(request))
      expect(response.status).toBe(201)
      const [first, second] = apiRequests()
      expect(first.body).toBe(JSON.stringify({ name: "Ada", n: 1 }))
      expect(second.body).toBe(first.body)
      expect(second.headers["content-type"]).toBe("application/json")
    }).pipe(Effect.provide(layer))
  })

  it.effect("customer headers are sent; the customer secret never reaches a span", () => {
    const { captured, layer: captureLayer } = makeCapture()
    const { layer, apiRequests } = setup((_, n) => n === 0 ? unauthorised() : ok())
    return Effect.gen(function*() {
      const client = (yield* BudHttpClient.BudHttpClient).pipe(
        BudHttpClient.forCustomer({ customerId: "cust-42", secret: Redacted.make("customer-very-secret") })
      )
      yield* withTime(client.get("/v1/subscriptions"))
      const [, request] = apiRequests()
      expect(request.headers["x-customer-id"]).toBe("cust-42")
      expect(request.headers["x-customer-secret"]).toBe("customer-very-secret")
      const attempt = captured.spans.filter((s) => s.name === "BudHttpClient.attempt")
      expect(attempt.map((s) => s.attributes.get("bud.reauthentications"))).toEqual([0, 1])
      expect(captured.spans.some((s) => s.attributes.get("http.request.header.x-customer-secret") === "<redacted>"))
        .toBe(true)
      const tokens = apiRequests().map((r) => bearerOf(r)!.slice("Bearer ".length))
      expect(secretsIn(captured.text(), ["customer-very-secret", "cs-secret", ...tokens])).toEqual([])
    }).pipe(Effect.provide(layer), Effect.provide(captureLayer))
  })

  it.effect("responses and errors refer to the request without credentials, even serialised outside a fiber", () => {
    const { layer, apiRequests } = setup((_, n) => n === 0 ? json(404, {}) : "drop")
    return Effect.gen(function*() {
      const client = (yield* BudHttpClient.BudHttpClient).pipe(
        BudHttpClient.forCustomer({ customerId: "cust-1", secret: Redacted.make("customer-very-secret") })
      )
      const notFound = yield* Effect.flip(
        client.get("/v1/nothing").pipe(Effect.flatMap(HttpClientResponse.filterStatusOk))
      )
      const dropped = yield* Effect.flip(withTime(client.get("/v1/nothing")))
      const token = bearerOf(apiRequests()[0])!.slice("Bearer ".length)
      const serialised = [JSON.stringify(notFound), String(notFound), JSON.stringify(dropped), String(dropped)].join(
        "\n"
      )
      expect(serialised).toContain(`${base}/v1/nothing`)
      expect(secretsIn(serialised, [token, "customer-very-secret"])).toEqual([])
      expect(notFound._tag === "ResponseError" && notFound.request.headers["x-customer-id"]).toBe("cust-1")
    }).pipe(Effect.provide(layer))
  })

  it.effect("the idempotent identifier is an alternative to the customer id", () => {
    const request = HttpClientRequest.get("/v1/subscriptions").pipe(
      BudHttpClient.withCustomer({ idempotentIdentifier: "my-customer-7" })
    )
    expect(request.headers["x-customer-idempotent-identifier"]).toBe("my-customer-7")
    expect(request.headers["x-customer-id"]).toBeUndefined()
    return Effect.void
  })

  it.effect("a transient 503 is retried on a GET, but not on a POST", () => {
    const { layer, apiRequests } = setup((request) =>
      apiRequestsSeen(request) === 1 ? json(503, { message: "busy" }) : ok()
    )
    const seen = new Map<string, number>()
    const apiRequestsSeen = (request: Received) => {
      const key = `${request.method} ${request.url}`
      seen.set(key, (seen.get(key) ?? 0) + 1)
      return seen.get(key)!
    }
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const get = yield* withTime(client.get("/v1/open-banking/providers"))
      expect(get.status).toBe(200)
      const post = yield* withTime(client.post("/v1/customers"))
      expect(post.status).toBe(503)
      expect(apiRequests().map((r) => r.method)).toEqual(["GET", "GET", "POST"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("POST is retried on transient failures when the user asks", () => {
    const { layer, apiRequests } = setup((_, n) => n === 0 ? "drop" : json(201, {}), { retryNonIdempotent: true })
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const response = yield* withTime(client.post("/v1/customers"))
      expect(response.status).toBe(201)
      expect(apiRequests()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a transport error on a POST fails with the HttpClientError, after one attempt", () => {
    const { layer, apiRequests } = setup(() => "drop")
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const error = yield* withTime(Effect.flip(client.post("/v1/customers")))
      expect(error._tag).toBe("RequestError")
      expect(apiRequests()).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a GET honours Retry-After on 429, then returns the last response when the schedule is exhausted", () => {
    const { layer, apiRequests } = setup(() => json(429, { message: "Too many requests" }, { "retry-after": "10" }))
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const fiber = yield* Effect.fork(client.get("/v1/open-banking/providers"))
      yield* TestClock.adjust("9 seconds")
      expect(apiRequests()).toHaveLength(1)
      yield* TestClock.adjust("1 minute")
      const response = yield* Fiber.join(fiber)
      expect(response.status).toBe(429)
      expect(apiRequests()).toHaveLength(4)
    }).pipe(Effect.provide(layer))
  })

  it.effect("an API call that gets no answer: NetworkError(Timeout) once the retries are spent, never a hang", () => {
    const fake = makeFake((request) =>
      request.url.endsWith("/v1/oauth/token") ? Effect.succeed(tokenOk()) : Effect.never
    )
    const layer = BudHttpClient.layer({ requestTimeout: "2 seconds" }).pipe(
      Layer.provideMerge(BudAuth.layer({ clientId: "c", clientSecret: Redacted.make("s"), baseUrl: base })),
      Layer.provide(fake.layer)
    )
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const fiber = yield* Effect.fork(Effect.flip(client.get("/v1/open-banking/providers")))
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "Timeout" })
      expect(fake.received.filter((r) => !r.url.endsWith("/v1/oauth/token"))).toHaveLength(4) // 1 + 3 retries
    }).pipe(Effect.provide(layer))
  })

  it.effect("BudAuth's errors pass through typed; other statuses come back as responses", () => {
    const { layer } = setup(() => json(404, { message: "not found" }), {}, () => wrongCredentials())
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      const error = yield* Effect.flip(client.get("/v1/open-banking/providers"))
      expect(error._tag).toBe("InvalidCredentialsError")
    }).pipe(Effect.provide(layer))
  })

  it.effect("404 and a 500 on a POST are ordinary responses", () => {
    const { layer } = setup((request) => request.method === "GET" ? json(404, {}) : json(500, {}))
    return Effect.gen(function*() {
      const client = yield* BudHttpClient.BudHttpClient
      expect((yield* client.get("/v1/nothing")).status).toBe(404)
      expect((yield* client.post("/v1/customers")).status).toBe(500)
    }).pipe(Effect.provide(layer))
  })

  it.effect("authenticate works over any HttpClient the user builds", () => {
    const fake = makeFake((request) => Effect.succeed(request.url.endsWith("/v1/oauth/token") ? tokenOk() : ok()))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const own = (yield* HttpClient.HttpClient).pipe(HttpClient.mapRequest(HttpClientRequest.setHeader("x-mine", "1")))
      const client = BudHttpClient.authenticate(own, auth)
      yield* client.get("/v1/open-banking/providers")
      const request = fake.received.at(-1)!
      expect(request.headers["x-mine"]).toBe("1")
      expect(request.headers["authorization"]).toMatch(/^Bearer /)
    }).pipe(
      Effect.provide(
        BudAuth.layer({ clientId: "c", clientSecret: Redacted.make("s"), baseUrl: base }).pipe(
          Layer.provideMerge(fake.layer)
        )
      )
    )
  })
})
