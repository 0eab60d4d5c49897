import { describe, expect, it } from "@effect/vitest"
import {
  ConfigProvider,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Redacted,
  Schedule,
  TestClock
} from "effect"
import { AccessToken, BudAuth } from "../src/index.js"
import type { Handler } from "./support/fakeHttp.js"
import { json, makeFake, tokenOk, wrongCredentials } from "./support/fakeHttp.js"

const clientSecret = "cs-secret-value"
const options: BudAuth.Options = {
  clientId: "client-1",
  clientSecret: Redacted.make(clientSecret),
  baseUrl: "https://bud.test"
}

const setup = (handler: Handler, extra: Partial<BudAuth.Options> = {}) => {
  const fake = makeFake(handler)
  const layer = BudAuth.layer({ ...options, ...extra }).pipe(Layer.provide(fake.layer))
  return { fake, layer }
}

const value = (token: AccessToken.AccessToken) => Redacted.value(token.value)

describe("BudAuth", () => {
  it.effect("10,000 concurrent first callers share exactly one token request", () => {
    const { fake, layer } = setup(() => Effect.succeed(tokenOk()))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const tokens = yield* Effect.all(Array.from({ length: 10_000 }, () => auth.token), { concurrency: "unbounded" })
      expect(fake.tokenRequests()).toHaveLength(1)
      expect(new Set(tokens.map(value)).size).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("client_credentials sends Basic auth, X-Client-Id and a form body to /v1/oauth/token", () => {
    const { fake, layer } = setup(() => Effect.succeed(tokenOk()))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const token = yield* auth.token
      const [request] = fake.received
      expect(request.method).toBe("POST")
      expect(request.url).toBe("https://bud.test/v1/oauth/token")
      expect(request.headers["authorization"]).toBe(`Basic ${btoa(`client-1:${clientSecret}`)}`)
      expect(request.headers["x-client-id"]).toBe("client-1")
      expect(request.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(request.body).toBe("grant_type=client_credentials")
      expect(token.tokenType).toBe("Bearer")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a warm cache answers from memory; a stale token is renewed with the refresh grant, without Authorization", () => {
    const { fake, layer } = setup(() => Effect.succeed(tokenOk(3600)))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const first = yield* auth.token
      for (let i = 0; i < 100; i++) yield* auth.token
      expect(fake.tokenRequests()).toHaveLength(1)
      yield* TestClock.adjust("3541 seconds") // past expiresAt - 60 s margin
      const second = yield* auth.token
      expect(value(second)).not.toBe(value(first))
      const [, refresh] = fake.tokenRequests()
      expect(refresh.headers["authorization"]).toBeUndefined()
      expect(refresh.headers["x-client-id"]).toBe("client-1")
      expect(refresh.form.get("grant_type")).toBe("refresh_token")
      expect(refresh.form.get("refresh_token")).toMatch(/^rt-secret-/)
    }).pipe(Effect.provide(layer))
  })

  it.effect("stores the new refresh token from every response", () => {
    const { fake, layer } = setup(() => Effect.succeed(tokenOk(3600)))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      yield* auth.token
      yield* auth.refresh
      yield* auth.refresh
      const sent = fake.tokenRequests().map((r) => r.form.get("refresh_token"))
      expect(sent[0]).toBeNull()
      expect(sent[1]).not.toBe(sent[2])
      expect(sent[1]).toMatch(/^rt-secret-/)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a rejected refresh token falls back to client_credentials without the caller noticing", () => {
    const { fake, layer } = setup((request) =>
      Effect.succeed(
        request.form.get("grant_type") === "refresh_token"
          ? json(401, { operation_id: "oauth_token_create", code_id: "unauthorised", message: "Unauthorised." })
          : tokenOk()
      )
    )
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      yield* auth.token
      const renewed = yield* auth.refresh
      expect(value(renewed)).toMatch(/^at-secret-/)
      expect(fake.tokenRequests().map((r) => r.form.get("grant_type"))).toEqual([
        "client_credentials",
        "refresh_token",
        "client_credentials"
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("wrong credentials: InvalidCredentialsError after exactly one request, with Bud's details", () => {
    const { fake, layer } = setup(() => Effect.succeed(wrongCredentials()))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const error = yield* Effect.flip(auth.token)
      expect(error._tag).toBe("InvalidCredentialsError")
      expect(fake.tokenRequests()).toHaveLength(1)
      expect(error).toMatchObject({
        status: 400,
        codeId: "unknown",
        budMessage: "Unauthorised request",
        requestId: "req-test-1"
      })
      expect(error.message).toContain("Check BUD_CLIENT_ID and BUD_CLIENT_SECRET")
      expect(error.message).not.toContain(clientSecret)
    }).pipe(Effect.provide(layer))
  })

  it.effect("503, 503, 200: succeeds after two retries", () => {
    const { fake, layer } = setup((_, n) => Effect.succeed(n < 2 ? json(503, { message: "unavailable" }) : tokenOk()))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const fiber = yield* Effect.fork(auth.token)
      yield* TestClock.adjust("10 seconds")
      const token = yield* Fiber.join(fiber)
      expect(value(token)).toMatch(/^at-secret-/)
      expect(fake.tokenRequests()).toHaveLength(3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("persistent 503: UnexpectedResponseError with the status after the retries (1 + 4 requests)", () => {
    const { fake, layer } = setup(() => Effect.succeed(json(503, { message: "unavailable" })))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const fiber = yield* Effect.fork(Effect.flip(auth.token))
      yield* TestClock.adjust("30 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "UnexpectedResponseError", status: 503 })
      expect(fake.tokenRequests()).toHaveLength(5)
    }).pipe(Effect.provide(layer))
  })

  it.effect("429 with Retry-After: no retry before the delay Bud asked for", () => {
    const { fake, layer } = setup((_, n) =>
      Effect.succeed(n === 0 ? json(429, { message: "Too many requests" }, { "retry-after": "20" }) : tokenOk())
    )
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const fiber = yield* Effect.fork(auth.token)
      yield* TestClock.adjust("19 seconds")
      expect(fake.tokenRequests()).toHaveLength(1)
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(fake.tokenRequests()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("no answer at all: NetworkError(Timeout) within the per-attempt and total bounds", () => {
    const { fake, layer } = setup(() => Effect.never, { retrySchedule: Schedule.recurs(1) })
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const fiber = yield* Effect.fork(Effect.flip(auth.token))
      yield* TestClock.adjust("20 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "Timeout" })
      expect(fake.tokenRequests()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a dropped connection on every attempt: NetworkError(Transport)", () => {
    const { fake, layer } = setup(() => Effect.succeed("drop" as const))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const fiber = yield* Effect.fork(Effect.flip(auth.token))
      yield* TestClock.adjust("30 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "NetworkError", reason: "Transport" })
      expect(error.message).toContain("https://bud.test/v1/oauth/token")
      expect(fake.tokenRequests()).toHaveLength(5)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a malformed 200: UnexpectedResponseError naming the field, never echoing the token", () => {
    const { layer } = setup(() =>
      Effect.succeed(
        json(200, {
          data: { access_token: "at-leaky", token_type: "bearer", expires_in: "soon", refresh_token: "rt-leaky" }
        })
      )
    )
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const error = yield* Effect.flip(auth.token)
      expect(error._tag).toBe("UnexpectedResponseError")
      expect(error.message).toContain(`field "data.expires_in"`)
      const everything = `${error.message} ${JSON.stringify(error)} ${String(error)}`
      expect(everything).not.toContain("at-leaky")
      expect(everything).not.toContain("rt-leaky")
    }).pipe(Effect.provide(layer))
  })

  it.effect("1,000 concurrent invalidate calls on one token lead to exactly one renewal", () => {
    const { fake, layer } = setup(() => Effect.succeed(tokenOk()))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const first = yield* auth.token
      const renewed = yield* Effect.all(
        Array.from({ length: 1000 }, () => Effect.zipRight(auth.invalidate(first), auth.token)),
        { concurrency: "unbounded" }
      )
      expect(fake.tokenRequests()).toHaveLength(2)
      expect(new Set(renewed.map(value))).toEqual(new Set([renewed.map(value)[0]]))
      expect(value(renewed[0])).not.toBe(value(first))
      // a late invalidate of the old token does not throw away the new one
      yield* auth.invalidate(first)
      yield* auth.token
      expect(fake.tokenRequests()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failure is shared by the callers waiting for it, and not cached after them", () => {
    const { fake, layer } = setup((_, n) => Effect.succeed(n === 0 ? wrongCredentials() : tokenOk()))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const results = yield* Effect.all(Array.from({ length: 100 }, () => Effect.either(auth.token)), {
        concurrency: "unbounded"
      })
      expect(results.every((r) => r._tag === "Left" && r.left._tag === "InvalidCredentialsError")).toBe(true)
      expect(fake.tokenRequests()).toHaveLength(1)
      yield* auth.token
      expect(fake.tokenRequests()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a token whose life is shorter than the margin is still reused, not fetched per call", () => {
    const { fake, layer } = setup(() => Effect.succeed(tokenOk(30)))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      for (let i = 0; i < 10; i++) {
        yield* auth.token
        yield* TestClock.adjust("1 second")
      }
      expect(fake.tokenRequests()).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("renews ahead: an ageing token is returned at once while one renewal runs in the background", () => {
    const gate = Deferred.unsafeMake<void>(undefined as never)
    const renewing = Deferred.unsafeMake<void>(undefined as never)
    const { fake, layer } = setup((_, n) =>
      n === 0
        ? Effect.succeed(tokenOk(3600))
        : Effect.zipRight(Deferred.succeed(renewing, undefined), Effect.as(Deferred.await(gate), tokenOk(3600)))
    )
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const first = yield* auth.token
      yield* TestClock.adjust("3450 seconds") // inside the renew-ahead window, before the margin
      const during = yield* Effect.all(Array.from({ length: 50 }, () => auth.token), { concurrency: "unbounded" })
      expect(during.every((t) => value(t) === value(first))).toBe(true)
      yield* Deferred.await(renewing)
      expect(fake.tokenRequests()).toHaveLength(2)
      yield* Deferred.succeed(gate, undefined)
      const joined = yield* auth.refresh // joins the renewal in flight rather than starting another
      const after = yield* auth.token
      expect(value(after)).toBe(value(joined))
      expect(value(after)).not.toBe(value(first))
      expect(fake.tokenRequests()).toHaveLength(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failed renew-ahead is tried again 5 seconds later, not on every call", () => {
    const { fake, layer } = setup((_, n) => Effect.succeed(n === 1 ? json(500, {}) : tokenOk(3600)), {
      retrySchedule: Schedule.stop
    })
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const first = yield* auth.token
      yield* TestClock.adjust("3450 seconds") // inside the renew-ahead window
      yield* auth.token // starts the renewal in the background; it fails
      yield* Effect.exit(auth.refresh) // joins it, to know that it has ended
      for (let i = 0; i < 20; i++) expect(value(yield* auth.token)).toBe(value(first))
      expect(fake.tokenRequests()).toHaveLength(2)
      yield* TestClock.adjust("6 seconds")
      yield* auth.token
      yield* auth.refresh
      expect(fake.tokenRequests().length).toBeGreaterThanOrEqual(3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a caller interrupted while waiting does not cancel the renewal for the others", () => {
    const gate = Deferred.unsafeMake<void>(undefined as never)
    const { fake, layer } = setup(() => Effect.as(Deferred.await(gate), tokenOk()))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const impatient = yield* Effect.fork(auth.token)
      const patient = yield* Effect.fork(auth.token)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(impatient)
      yield* Deferred.succeed(gate, undefined)
      const token = yield* Fiber.join(patient)
      expect(value(token)).toMatch(/^at-secret-/)
      expect(fake.tokenRequests()).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("closing the layer's scope interrupts a renewal in flight: nothing is left running", () => {
    let interrupted = false
    const renewing = Deferred.unsafeMake<void>(undefined as never)
    const { layer } = setup((_, n) =>
      n === 0
        ? Effect.succeed(tokenOk(3600))
        : Effect.zipRight(
          Deferred.succeed(renewing, undefined),
          Effect.onInterrupt(Effect.never, () => Effect.sync(() => (interrupted = true)))
        )
    )
    return Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const auth = yield* Effect.map(Layer.build(layer), Context.get(BudAuth.BudAuth))
        yield* auth.token
        yield* TestClock.adjust("3450 seconds")
        yield* auth.token // starts the background renewal, which hangs
        yield* Deferred.await(renewing)
      }))
      expect(interrupted).toBe(true)
    })
  })

  it.effect("the token's life is counted from the instant the request was sent", () => {
    const { layer } = setup(() => Effect.as(Effect.sleep("5 seconds"), tokenOk(3600)))
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      const fiber = yield* Effect.fork(auth.token)
      yield* TestClock.adjust("5 seconds")
      const token = yield* Fiber.join(fiber)
      expect(token.issuedAt.getTime()).toBe(0)
      expect(token.expiresAt.getTime()).toBe(3_600_000)
    }).pipe(Effect.provide(layer))
  })

  it.effect("accepts `Bearer` and extra fields; rejects a token_type other than bearer", () => {
    const { layer } = setup((_, n) =>
      Effect.succeed(
        n === 0
          ? json(200, {
            operation_id: "oauth_token_post",
            data: { access_token: "a", token_type: "Bearer", expires_in: 3600, refresh_token: "r", scope: "x" },
            metadata: {}
          })
          : tokenOk(3600, "mac")
      )
    )
    return Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      expect(value(yield* auth.token)).toBe("a")
      const error = yield* Effect.flip(auth.refresh)
      expect(error._tag).toBe("UnexpectedResponseError")
      expect(error.message).toContain(`field "data.token_type"`)
    }).pipe(Effect.provide(layer))
  })
})

describe("BudAuth configuration", () => {
  const fake = makeFake(() => Effect.succeed(tokenOk()))
  const withEnv = (env: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.effect("layerConfig reads BUD_CLIENT_ID, BUD_CLIENT_SECRET, BUD_ENVIRONMENT and BUD_BASE_URL", () =>
    Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      expect(auth.clientId).toBe("env-client")
      expect(auth.baseUrl).toBe("http://127.0.0.1:9999")
      yield* auth.token
      expect(fake.received.at(-1)?.url).toBe("http://127.0.0.1:9999/v1/oauth/token")
    }).pipe(
      Effect.provide(BudAuth.layerConfig().pipe(Layer.provide(fake.layer))),
      withEnv({ BUD_CLIENT_ID: "env-client", BUD_CLIENT_SECRET: "s", BUD_BASE_URL: "http://127.0.0.1:9999/" })
    ))

  it.effect("a base URL with a path (a proxy's prefix) keeps it for the token endpoint", () =>
    Effect.gen(function*() {
      const auth = yield* BudAuth.BudAuth
      yield* auth.token
      expect(fake.received.at(-1)?.url).toBe("https://proxy.test/bud/v1/oauth/token")
    }).pipe(
      Effect.provide(
        BudAuth.layer({ ...options, baseUrl: "https://proxy.test/bud/" }).pipe(Layer.provide(fake.layer))
      )
    ))

  it.effect("the environment picks the base URL; sandbox by default", () =>
    Effect.gen(function*() {
      const sandbox = yield* Effect.provide(BudAuth.BudAuth, BudAuth.layerConfig().pipe(Layer.provide(fake.layer)))
        .pipe(
          withEnv({ BUD_CLIENT_ID: "c", BUD_CLIENT_SECRET: "s" })
        )
      expect(sandbox.baseUrl).toBe("https://api-sandbox.thisisbud.com")
      const production = yield* Effect.provide(BudAuth.BudAuth, BudAuth.layerConfig().pipe(Layer.provide(fake.layer)))
        .pipe(withEnv({ BUD_CLIENT_ID: "c", BUD_CLIENT_SECRET: "s", BUD_ENVIRONMENT: "production" }))
      expect(production.baseUrl).toBe("https://api.thisisbud.com")
    }))

  const configErrorOf = (layer: Layer.Layer<BudAuth.BudAuth, unknown>, env: Record<string, string> = {}) =>
    Effect.provide(BudAuth.BudAuth, layer).pipe(
      withEnv(env),
      Effect.exit,
      Effect.map((exit) => {
        expect(Exit.isFailure(exit)).toBe(true)
        return Exit.isFailure(exit) ? String(exit.cause._tag === "Fail" ? exit.cause.error : exit.cause) : ""
      })
    )

  it.effect("missing or bad variables are ConfigErrors that name the variable", () =>
    Effect.gen(function*() {
      const layer = BudAuth.layerConfig().pipe(Layer.provide(fake.layer))
      expect(yield* configErrorOf(layer, { BUD_CLIENT_SECRET: "s" })).toContain("BUD_CLIENT_ID")
      expect(yield* configErrorOf(layer, { BUD_CLIENT_ID: "c" })).toContain("BUD_CLIENT_SECRET")
      expect(yield* configErrorOf(layer, { BUD_CLIENT_ID: "c", BUD_CLIENT_SECRET: "s", BUD_ENVIRONMENT: "staging" }))
        .toContain("BUD_ENVIRONMENT")
      expect(yield* configErrorOf(layer, { BUD_CLIENT_ID: "c", BUD_CLIENT_SECRET: "s", BUD_BASE_URL: "not a url" }))
        .toContain("BUD_BASE_URL")
    }))

  it.effect("bad options fail when the layer is built, naming the setting and never the secret", () =>
    Effect.gen(function*() {
      const bad = (extra: Partial<BudAuth.Options>) =>
        BudAuth.layer({ ...options, ...extra }).pipe(Layer.provide(fake.layer))
      expect(yield* configErrorOf(bad({ clientId: "" }))).toContain("clientId")
      const secretError = yield* configErrorOf(bad({ clientSecret: Redacted.make("s€cret-ünïcode") }))
      expect(secretError).toContain("clientSecret")
      expect(secretError).not.toContain("s€cret")
      expect(yield* configErrorOf(bad({ baseUrl: "ftp//nope" }))).toContain("baseUrl")
      expect(yield* configErrorOf(bad({ environment: "staging" as BudAuth.Environment }))).toContain("environment")
      expect(yield* configErrorOf(bad({ expiryMargin: -5 }))).toContain("expiryMargin")
      expect(yield* configErrorOf(bad({ requestTimeout: Duration.infinity }))).toContain("requestTimeout")
    }))
})
