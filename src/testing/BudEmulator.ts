/**
 * A Bud emulator for tests: Bud's token endpoint and a few read-only endpoints, speaking Bud's wire format,
 * built once as an `HttpApp` and reachable two ways: in memory as an `HttpClient` (`layerInMemory`, no sockets,
 * driven by `TestClock`) or over a real socket on 127.0.0.1 (`layerServer`). The `BudEmulator` service controls
 * it: token lifetimes, revocation, refresh-token rejection and injected faults, and records what it received.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Headers from "@effect/platform/Headers"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Chunk, Clock, type ConfigError, Context, Effect, Layer, Redacted, Stream } from "effect"
import { createServer } from "node:http"
import * as BudAuth from "../BudAuth.js"

/**
 * The base URL to configure (e.g. as `BudAuth`'s `baseUrl`) with `layerInMemory`. The in-memory client answers
 * every request itself, whatever its host; this is only the URL that `BudEmulator.url` reports.
 *
 * @since 0.1.0
 * @category constants
 */
export const baseUrl = "http://bud-emulator.local"

/**
 * A fault to inject into the emulator's next answers.
 *
 * - `Status`: answers `status` with `body` (default: Bud's error envelope for that status) and extra `headers`.
 * - `Drop`: the connection breaks before any answer (in memory: a `RequestError` with reason `"Transport"`).
 * - `Hang`: never answers.
 * - `Malformed`: answers `status` (default 200) with the raw `body`.
 * - `Truncated`: a 200 whose JSON body is cut off (over a socket: fewer bytes than `content-length`, then the
 *   connection breaks).
 *
 * @since 0.1.0
 * @category models
 */
export type Fault =
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly body?: string | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  }
  | { readonly _tag: "Drop" }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Malformed"; readonly body: string; readonly status?: number | undefined }
  | { readonly _tag: "Truncated" }

/**
 * Which requests a fault applies to: the token endpoint, every other path, or both.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultTarget = "token" | "api" | "any"

/**
 * A request as the emulator received it, with every secret header value replaced by `"<redacted>"`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReceivedRequest {
  /** The `X-Request-Id` the emulator answered with (absent from the wire for a dropped or hung request). */
  readonly requestId: string
  readonly method: string
  readonly path: string
  /** The form's `grant_type`, for form-encoded requests to the token endpoint. */
  readonly grantType: string | undefined
  /** Lower-case names; `authorization`, `x-customer-secret` and anything holding a token or secret are redacted. */
  readonly headers: Readonly<Record<string, string>>
  /** When it arrived, in `Clock` milliseconds. */
  readonly at: number
}

/**
 * Counters since the emulator started or was last `reset`. Requests answered with an injected fault count as
 * received.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly tokenRequests: number
  readonly clientCredentialsRequests: number
  readonly refreshTokenRequests: number
  readonly apiRequests: number
  /** Calls of `revokeAll`. */
  readonly revocations: number
  /** API requests the emulator answered 401 (or 403, see `rejectTokensWith`): no live token, or a wrong X-Client-Id. */
  readonly apiUnauthorized: number
}

/**
 * What `BudEmulator` provides.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Where clients reach the emulator: `baseUrl` in memory, `http://127.0.0.1:<port>` over a socket. */
  readonly url: string
  /** The only client id the emulator accepts. */
  readonly clientId: string
  /** The only client secret the emulator accepts. */
  readonly clientSecret: Redacted.Redacted<string>
  /** The `expires_in`, in seconds, of the tokens issued from now on. */
  readonly setTokenLifetime: (seconds: number) => Effect.Effect<void>
  /** Every access token issued so far dies now, as Bud's can before `expires_in`; refresh tokens stay valid. */
  readonly revokeAll: Effect.Effect<void>
  /** While `true`, the refresh_token grant answers 401 (the refresh token is not consumed). */
  readonly rejectRefreshTokens: (reject: boolean) => Effect.Effect<void>
  /** The status of API calls without a live token: 401 (the default), or 403, which Bud also answers. */
  readonly rejectTokensWith: (status: 401 | 403) => Effect.Effect<void>
  /** The next `n` requests to `where` (default `"any"`) are answered with `fault`; queued faults apply in order. */
  readonly failNext: (n: number, fault: Fault, where?: FaultTarget) => Effect.Effect<void>
  /** Every request received since the start or the last `reset`, in order. */
  readonly received: Effect.Effect<ReadonlyArray<ReceivedRequest>>
  /** The counters since the start or the last `reset`. */
  readonly stats: Effect.Effect<Stats>
  /** Forgets the received requests and zeroes the counters; tokens, settings and queued faults stay. */
  readonly reset: Effect.Effect<void>
}

/**
 * The emulator's control service.
 *
 * @since 0.1.0
 * @category tags
 */
export class BudEmulator extends Context.Tag("effect-bud-auth/testing/BudEmulator")<BudEmulator, Service>() {}

/**
 * The settings of an emulator. All optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `"emulator-client"`. */
  readonly clientId?: string | undefined
  /** Default `"emulator-secret"`. */
  readonly clientSecret?: string | undefined
  /** The `expires_in` of issued tokens, in seconds. Default 3600. */
  readonly tokenLifetime?: number | undefined
  /** What `BudEmulator.url` reports. Default `baseUrl`; `layerServer` sets it. */
  readonly url?: string | undefined
}

/**
 * An emulator: its control service and the `HttpApp` that answers requests.
 *
 * @since 0.1.0
 * @category models
 */
export interface Emulator {
  /** The control service. */
  readonly service: Service
  /**
   * Serve it through `layerInMemory` or `layerServer`: a `Drop` or `Truncated` fault comes out of the app as a
   * response marked with the `x-bud-emulator-transport` header, which those adapters turn into a broken connection.
   */
  readonly app: HttpApp.Default
}

const tokenPath = "/v1/oauth/token"
const transportFaultHeader = "x-bud-emulator-transport"
const secretHeaders = new Set(["authorization", "proxy-authorization", "cookie", "x-customer-secret"])
const issuedTokenPattern = /emu-(at|rt)-/

const operationIds: Readonly<Record<string, string>> = {
  [`POST ${tokenPath}`]: "oauth_token_create",
  "GET /v1/open-banking/providers": "open_banking_providers_get",
  "GET /v1/subscriptions": "subscriptions_get",
  "POST /v1/customers": "customers_create"
}

const errorCodes: Readonly<Record<number, readonly [codeId: string, message: string]>> = {
  400: ["failed_validation", "Failed validation."],
  401: ["unauthorised", "Unauthorised."],
  403: ["forbidden", "Forbidden."],
  404: ["not_found", "Not found."],
  429: ["too_many_requests", "Too many requests"]
}

const json = (status: number, body: unknown) => HttpServerResponse.unsafeJson(body, { status })
const rawJson = (status: number, body: string, headers: Readonly<Record<string, string>> = {}) =>
  HttpServerResponse.text(body, { status, contentType: "application/json", headers })

const errorEnvelope = (status: number, operationId: string, requestId: string) => {
  const [codeId, message] = errorCodes[status] ??
    (status >= 500
      ? ["internal_server_error", `Internal server error, request id ${requestId}`]
      : ["unknown", "Error."])
  return { operation_id: operationId, code_id: codeId, message }
}

const failedValidation = (operationId: string, message: string, errors: Record<string, string>) =>
  json(400, { operation_id: operationId, code_id: "failed_validation", message, errors })

/** Bud's generic answer to an API call without a live token: 401, or 403 where Bud says so instead. */
const unauthorisedRequest = (status: 401 | 403) =>
  status === 401
    ? json(401, { operation_id: "unknown", code_id: "unknown", message: "Unauthorised request", errors: {} })
    : json(403, { operation_id: "unknown", code_id: "forbidden", message: "Forbidden." })

const providers = [
  { provider: "barclays", display_name: "Barclays", maintenance_status: "active", regions: ["GBR"] },
  { provider: "fd", display_name: "first direct", maintenance_status: "active", regions: ["GBR"] },
  { provider: "hsbc", display_name: "HSBC", maintenance_status: "inactive", regions: ["GBR"] }
].map((p) => ({
  ...p,
  maintenance_window: null,
  icon: "https://assets.thisisbud.com/example-icon",
  mobile_only: false
}))

const subscriptionsOf = (customerId: string) =>
  [
    { subscription_type: "media_streaming", period: "monthly", merchant: { id: "netflix", name: "Netflix" } },
    { subscription_type: "unknown", period: "unknown", merchant: null }
  ].map((s) => ({ ...s, customer_id: customerId }))

/** The part of a request the handlers look at; the body is read once, before any bookkeeping. */
interface Incoming {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

const formOf = (incoming: Incoming): URLSearchParams | undefined =>
  incoming.headers["content-type"]?.toLowerCase().startsWith("application/x-www-form-urlencoded")
    ? new URLSearchParams(incoming.body)
    : undefined

const basicCredentialsOf = (authorization: string | undefined): readonly [string, string] | undefined => {
  const match = /^basic\s+(\S+)$/i.exec(authorization ?? "")
  if (match === null) return undefined
  const decoded = Buffer.from(match[1], "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon === -1 ? undefined : [decoded.slice(0, colon), decoded.slice(colon + 1)]
}

/**
 * Builds an emulator: its state, control service and app. `layerInMemory` and `layerServer` serve the same app.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Emulator> =>
  Effect.sync(() => {
    const clientId = options.clientId ?? "emulator-client"
    const clientSecret = options.clientSecret ?? "emulator-secret"
    // Plain mutable state, touched only inside one synchronous step per request or control call: no fiber ever
    // sees it half-updated.
    const state = {
      tokenLifetime: options.tokenLifetime ?? 3600,
      rejectRefresh: false,
      rejectStatus: 401 as 401 | 403,
      requestCount: 0,
      accessTokens: new Map<string, number>(),
      refreshTokens: new Set<string>(),
      faults: [] as Array<{ fault: Fault; where: FaultTarget; remaining: number }>,
      received: [] as Array<ReceivedRequest>,
      revocations: 0,
      apiUnauthorized: 0
    }

    const redact = (headers: Incoming["headers"]): Record<string, string> => {
      const redacted: Record<string, string> = {}
      for (const [name, value] of Object.entries(headers)) {
        if (value === undefined) continue
        const secret = secretHeaders.has(name) || /secret|token/.test(name) || issuedTokenPattern.test(value) ||
          value.includes(clientSecret)
        redacted[name] = secret ? "<redacted>" : value
      }
      return redacted
    }

    const takeFault = (target: "token" | "api"): Fault | undefined => {
      const index = state.faults.findIndex((f) => f.where === "any" || f.where === target)
      if (index === -1) return undefined
      const entry = state.faults[index]
      if (--entry.remaining === 0) state.faults.splice(index, 1)
      return entry.fault
    }

    const issueTokens = (now: number) => {
      const accessToken = `emu-at-${crypto.randomUUID()}`
      const refreshToken = `emu-rt-${crypto.randomUUID()}`
      state.accessTokens.set(accessToken, now + state.tokenLifetime * 1000)
      state.refreshTokens.add(refreshToken)
      return json(200, {
        operation_id: "oauth_token_create",
        data: {
          access_token: accessToken,
          token_type: "Bearer",
          expires_in: state.tokenLifetime,
          refresh_token: refreshToken
        }
      })
    }

    const token = (incoming: Incoming, now: number) => {
      const op = "oauth_token_create"
      const form = formOf(incoming)
      const grantType = form?.get("grant_type")
      if (grantType === "client_credentials") {
        const credentials = basicCredentialsOf(incoming.headers.authorization)
        if (credentials === undefined) {
          return json(400, { ...errorEnvelope(400, op, ""), message: "could not extract basic auth headers" })
        }
        return credentials[0] === clientId && credentials[1] === clientSecret
          ? issueTokens(now)
          : json(400, { operation_id: "unknown", code_id: "unknown", message: "Unauthorised request" })
      }
      if (grantType === "refresh_token") {
        const refreshToken = form?.get("refresh_token")
        if (!refreshToken) {
          return failedValidation(op, "Failed validation.", { refresh_token: "This value should not be blank" })
        }
        // Deleted last: a rejected request leaves the refresh token usable, an accepted one uses it up.
        if (
          incoming.headers["x-client-id"] !== clientId || state.rejectRefresh ||
          !state.refreshTokens.delete(refreshToken)
        ) {
          return json(401, errorEnvelope(401, op, ""))
        }
        return issueTokens(now)
      }
      return failedValidation(op, "Failed validation.", {
        grant_type: "grant_type must be client_credentials or refresh_token, sent as application/x-www-form-urlencoded"
      })
    }

    const api = (incoming: Incoming, now: number, operationId: string) => {
      const bearer = /^bearer\s+(\S+)$/i.exec(incoming.headers.authorization ?? "")?.[1]
      const expiresAt = bearer === undefined ? undefined : state.accessTokens.get(bearer)
      if (expiresAt === undefined || now >= expiresAt || incoming.headers["x-client-id"] !== clientId) {
        state.apiUnauthorized++
        return unauthorisedRequest(state.rejectStatus)
      }
      switch (operationId) {
        case "open_banking_providers_get":
          return json(200, { operation_id: operationId, data: providers })
        case "subscriptions_get": {
          const customer = incoming.headers["x-customer-id"] ?? incoming.headers["x-customer-idempotent-identifier"]
          return customer === undefined
            ? failedValidation(operationId, "X-Customer-Id or X-Customer-Idempotent-Identifier header is required", {
              "X-Customer-Id": "This value should not be blank"
            })
            : json(200, { operation_id: operationId, data: subscriptionsOf(customer) })
        }
        default: {
          let echo: unknown = null
          try {
            echo = incoming.body === "" ? null : JSON.parse(incoming.body)
          } catch {
            return failedValidation(operationId, "Failed validation.", { body: "The body must be JSON" })
          }
          return json(201, { operation_id: operationId, data: { customer_id: crypto.randomUUID(), echo } })
        }
      }
    }

    const faultResponse = (fault: Exclude<Fault, { _tag: "Hang" }>, operationId: string, requestId: string) => {
      switch (fault._tag) {
        case "Status":
          return rawJson(
            fault.status,
            fault.body ?? JSON.stringify(errorEnvelope(fault.status, operationId, requestId)),
            fault.headers
          )
        case "Malformed":
          return rawJson(fault.status ?? 200, fault.body)
        case "Drop":
          return rawJson(502, JSON.stringify({ message: "connection dropped by the emulator" }), {
            [transportFaultHeader]: "drop"
          })
        case "Truncated": {
          const whole = JSON.stringify({ operation_id: operationId, data: { note: "cut off by the emulator" } })
          return rawJson(200, whole.slice(0, Math.floor(whole.length / 2)), { [transportFaultHeader]: "truncate" })
        }
      }
    }

    /** One request's bookkeeping and answer, as one synchronous step; `"hang"` means never answer. */
    const handle = (incoming: Incoming, now: number): HttpServerResponse.HttpServerResponse | "hang" => {
      const requestId = `emu-${++state.requestCount}`
      const target = incoming.path === tokenPath ? "token" : "api"
      const operationId = operationIds[`${incoming.method} ${incoming.path}`]
      state.received.push({
        requestId,
        method: incoming.method,
        path: incoming.path,
        grantType: target === "token" ? formOf(incoming)?.get("grant_type") ?? undefined : undefined,
        headers: redact(incoming.headers),
        at: now
      })
      const fault = takeFault(target)
      if (fault?._tag === "Hang") {
        return "hang"
      }
      const response = fault !== undefined
        ? faultResponse(fault, operationId ?? "unknown", requestId)
        : operationId === undefined
        ? json(404, errorEnvelope(404, "unknown", requestId))
        : target === "token"
        ? token(incoming, now)
        : api(incoming, now, operationId)
      return HttpServerResponse.setHeader(response, "x-request-id", requestId)
    }

    const app: HttpApp.Default = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* Effect.orElseSucceed(request.text, () => "")
      const now = yield* Clock.currentTimeMillis
      const path = new URL(request.url, baseUrl).pathname
      const response = handle({ method: request.method, path, headers: request.headers, body }, now)
      return response === "hang" ? yield* Effect.never : response
    })

    const service: Service = {
      url: options.url ?? baseUrl,
      clientId,
      clientSecret: Redacted.make(clientSecret),
      setTokenLifetime: (seconds) =>
        Effect.sync(() => {
          state.tokenLifetime = seconds
        }),
      revokeAll: Effect.sync(() => {
        state.accessTokens.clear()
        state.revocations++
      }),
      rejectRefreshTokens: (reject) =>
        Effect.sync(() => {
          state.rejectRefresh = reject
        }),
      rejectTokensWith: (status) =>
        Effect.sync(() => {
          state.rejectStatus = status
        }),
      failNext: (n, fault, where = "any") =>
        Effect.sync(() => {
          if (n > 0) state.faults.push({ fault, where, remaining: n })
        }),
      received: Effect.sync(() => state.received.slice()),
      stats: Effect.sync(() => {
        const tokenRequests = state.received.filter((r) => r.path === tokenPath)
        return {
          tokenRequests: tokenRequests.length,
          clientCredentialsRequests: tokenRequests.filter((r) => r.grantType === "client_credentials").length,
          refreshTokenRequests: tokenRequests.filter((r) => r.grantType === "refresh_token").length,
          apiRequests: state.received.length - tokenRequests.length,
          revocations: state.revocations,
          apiUnauthorized: state.apiUnauthorized
        }
      }),
      reset: Effect.sync(() => {
        state.received = []
        state.revocations = 0
        state.apiUnauthorized = 0
      })
    }
    return { service, app }
  })

const webBodyOf = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<BodyInit | null, HttpClientError.RequestError> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(null)
    case "Uint8Array":
      return Effect.succeed(new Uint8Array(body.body))
    case "Raw":
      // As FetchHttpClient does: a raw body is whatever `fetch` accepts.
      return Effect.succeed(body.body as BodyInit)
    case "FormData":
      return Effect.succeed(body.formData)
    case "Stream":
      return Stream.runCollect(body.stream).pipe(
        Effect.map((chunks) => Buffer.concat(Chunk.toReadonlyArray(chunks))),
        Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause }))
      )
  }
}

/** Runs the app in the caller's fiber (so `TestClock` applies), converting requests and answers through web types. */
const inMemoryClient = (app: HttpApp.Default): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) =>
    Effect.gen(function*() {
      const body = yield* webBodyOf(request)
      const webRequest = new Request(url, { method: request.method, headers: request.headers, body, signal })
      const response = yield* Effect.provideService(
        app,
        HttpServerRequest.HttpServerRequest,
        HttpServerRequest.fromWeb(webRequest)
      )
      if (response.headers[transportFaultHeader] === "drop") {
        return yield* new HttpClientError.RequestError({
          request,
          reason: "Transport",
          description: "connection dropped by the emulator"
        })
      }
      const webResponse = HttpServerResponse.toWeb(response)
      webResponse.headers.delete(transportFaultHeader)
      return HttpClientResponse.fromWeb(request, webResponse)
    })
  )

/**
 * The emulator in memory, with no sockets: an `HttpClient` that answers every request from the emulator, whatever
 * its host (configure `baseUrl`), and the `BudEmulator` control service. Run in the caller's fiber: `TestClock`
 * drives token expiry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerInMemory = (options: Options = {}): Layer.Layer<HttpClient.HttpClient | BudEmulator> =>
  Layer.unwrapEffect(Effect.map(make(options), ({ app, service }) =>
    Layer.merge(
      Layer.succeed(BudEmulator, service),
      Layer.succeed(HttpClient.HttpClient, inMemoryClient(app))
    )))

/** Turns the app's transport-fault markers into what a client sees on a real socket. */
const breakConnections = (app: HttpApp.Default): HttpApp.Default =>
  Effect.flatMap(app, (response) => {
    const fault = response.headers[transportFaultHeader]
    if (fault === undefined) return Effect.succeed(response)
    return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const socket = NodeHttpServerRequest.toIncomingMessage(request).socket
      if (fault === "truncate" && response.body._tag === "Uint8Array") {
        const { [transportFaultHeader]: _, ...headers } = response.headers
        const bytes = response.body.body
        const nodeResponse = NodeHttpServerRequest.toServerResponse(request)
        nodeResponse.writeHead(response.status, { ...headers, "content-length": String(bytes.length * 2) })
        nodeResponse.write(bytes, () => socket.destroy())
      } else {
        socket.destroy()
      }
      // The socket's "close" interrupts this fiber; answering now would write to a dead socket.
      return Effect.never
    })
  })

/**
 * The settings of `layerServer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerOptions extends Omit<Options, "url"> {
  /** The port on 127.0.0.1; default 0, a free port (read it from `BudEmulator.url`). */
  readonly port?: number | undefined
}

/**
 * The emulator served over HTTP on 127.0.0.1 for the layer's lifetime, with the `BudEmulator` control service;
 * `BudEmulator.url` is `http://127.0.0.1:<port>`. Closing the layer also closes hung connections.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (options: ServerOptions = {}): Layer.Layer<BudEmulator, HttpServerError.ServeError> =>
  Layer.suspend(() => {
    const server = createServer()
    return Layer.scoped(
      BudEmulator,
      Effect.gen(function*() {
        const { address } = yield* HttpServer.HttpServer
        const port = address._tag === "TcpAddress" ? address.port : 0
        const { app, service } = yield* make({ ...options, url: `http://127.0.0.1:${port}` })
        // the server's spans record request headers: keep the customer secret out of them, as the client does
        yield* Effect.locallyScopedWith(Headers.currentRedactedNames, (names) => [...names, "x-customer-secret"])
        yield* HttpServer.serveEffect(breakConnections(app))
        // Runs before the server closes: a hung request would otherwise keep `server.close` waiting forever.
        yield* Effect.addFinalizer(() => Effect.sync(() => server.closeAllConnections()))
        return service
      })
    ).pipe(Layer.provide(NodeHttpServer.layer(() => server, { port: options.port ?? 0, host: "127.0.0.1" })))
  })

/**
 * `BudAuth` pointed at the emulator: its URL and the credentials it accepts, with any other settings given. Put
 * it over `layerInMemory` (which also provides the `HttpClient`) or over `layerServer` plus a real `HttpClient`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { BudHttpClient } from "effect-bud-auth"
 * import { BudEmulator } from "effect-bud-auth/testing"
 *
 * const TestBud = BudHttpClient.layer().pipe(
 *   Layer.provideMerge(BudEmulator.layerBudAuth()),
 *   Layer.provideMerge(BudEmulator.layerInMemory())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBudAuth = (
  options: Omit<BudAuth.Options, "clientId" | "clientSecret" | "baseUrl" | "environment"> = {}
): Layer.Layer<BudAuth.BudAuth, ConfigError.ConfigError, BudEmulator | HttpClient.HttpClient> =>
  Layer.unwrapEffect(
    Effect.map(BudEmulator, (emulator) =>
      BudAuth.layer({
        ...options,
        clientId: emulator.clientId,
        clientSecret: emulator.clientSecret,
        baseUrl: emulator.url
      }))
  )
