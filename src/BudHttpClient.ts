/**
 * An `HttpClient` that calls Bud with authentication done for it: `Authorization: Bearer <token>` and
 * `X-Client-Id` on every attempt, and on a 401 or 403 a new token and a retry, as Bud asks.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Clock, Context, Data, Duration, Effect, Either, Layer, Metric, Option, Redacted, Schedule } from "effect"
import { dual } from "effect/Function"
import * as Inspectable from "effect/Inspectable"
import * as AccessToken from "./AccessToken.js"
import * as BudAuth from "./BudAuth.js"
import type { BudAuthError, BudResponseDetails } from "./BudError.js"
import { NetworkError, TokenExpiredError } from "./BudError.js"
import { honourRetryAfter, isTransientStatus, readDetails, retryAfterOf } from "./internal/wire.js"

/**
 * The client's type: an `HttpClient` that may also fail with a `BudAuthError` (`TokenExpiredError` when Bud keeps
 * rejecting fresh tokens; `InvalidCredentialsError`, `NetworkError` or `UnexpectedResponseError` from `BudAuth`).
 *
 * @since 0.1.0
 * @category models
 */
export type Client = HttpClient.HttpClient.With<HttpClientError.HttpClientError | BudAuthError>

/**
 * The authenticated client, as a service.
 *
 * @since 0.1.0
 * @category tags
 */
export class BudHttpClient extends Context.Tag("effect-bud-auth/BudHttpClient")<BudHttpClient, Client>() {}

/**
 * How the client retries.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Retries after a 401 or 403, each with a new token. Default: at most 2 more attempts, jittered backoff
   * from 100 ms. When it is exhausted the call fails with `TokenExpiredError`.
   */
  readonly reauthenticateSchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /**
   * Retries of transient failures (transport errors, 408, 429, 502, 503, 504), waiting at least Bud's
   * `Retry-After`. Default: at most 3 retries, jittered exponential backoff from 200 ms. When it is exhausted
   * the last response is returned as it is, or the transport error fails the call.
   */
  readonly transientSchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** Retry transient failures of POST and PATCH too. Default `false`: only GET, HEAD, OPTIONS, PUT and DELETE. */
  readonly retryNonIdempotent?: boolean | undefined
  /**
   * The bound of one attempt, from sending the request to receiving the response's status and headers (reading
   * the body is yours to bound). A timed-out attempt is a transient failure; once the retries are spent the call
   * fails with `NetworkError` (`reason: "Timeout"`). Default 30 seconds.
   */
  readonly requestTimeout?: Duration.DurationInput | undefined
}

/**
 * The default re-authentication schedule: at most 2 more attempts, jittered backoff from 100 ms.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultReauthenticateSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("100 millis")
  .pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(2)))

/**
 * The default transient-retry schedule: at most 3 retries, jittered exponential backoff from 200 ms.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTransientSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("200 millis")
  .pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))

/**
 * The header of a customer's secret. `layer` and `authenticate` add it to the header names that
 * @effect/platform redacts in spans and logs (`Headers.currentRedactedNames`).
 *
 * @since 0.1.0
 * @category constants
 */
export const customerSecretHeader = "x-customer-secret"

/**
 * A call on behalf of a Bud customer: by Bud's customer id, or by your own idempotent identifier, with the
 * customer's secret when Bud does not host it.
 *
 * @since 0.1.0
 * @category models
 */
export type Customer =
  | { readonly customerId: string; readonly secret?: Redacted.Redacted<string> | undefined }
  | { readonly idempotentIdentifier: string; readonly secret?: Redacted.Redacted<string> | undefined }

/**
 * Sets the customer headers on a request: `X-Customer-Id` (or `X-Customer-Idempotent-Identifier`) and, when
 * given, `X-Customer-Secret`.
 *
 * @example
 * ```ts
 * import { HttpClientRequest } from "@effect/platform"
 * import { BudHttpClient } from "effect-bud-auth"
 *
 * const request = HttpClientRequest.get("/v1/subscriptions").pipe(
 *   BudHttpClient.withCustomer({ customerId: "6a7c1e52-…" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withCustomer: {
  (customer: Customer): (request: HttpClientRequest.HttpClientRequest) => HttpClientRequest.HttpClientRequest
  (request: HttpClientRequest.HttpClientRequest, customer: Customer): HttpClientRequest.HttpClientRequest
} = dual(2, (request: HttpClientRequest.HttpClientRequest, customer: Customer) => {
  const identified = "customerId" in customer
    ? HttpClientRequest.setHeader(request, "x-customer-id", customer.customerId)
    : HttpClientRequest.setHeader(request, "x-customer-idempotent-identifier", customer.idempotentIdentifier)
  return customer.secret === undefined
    ? identified
    : HttpClientRequest.setHeader(identified, customerSecretHeader, Redacted.value(customer.secret))
})

/**
 * A client whose every request is made on behalf of `customer`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const forCustomer: {
  (customer: Customer): <E, R>(client: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E, R>
  <E, R>(client: HttpClient.HttpClient.With<E, R>, customer: Customer): HttpClient.HttpClient.With<E, R>
} = dual(
  2,
  <E, R>(client: HttpClient.HttpClient.With<E, R>, customer: Customer) =>
    HttpClient.mapRequest(client, withCustomer(customer))
)

/**
 * A counter of API attempts retried with a new token after a 401 or 403 (a call retried twice counts twice).
 *
 * @since 0.1.0
 * @category metrics
 */
export const reauthentications = Metric.counter("bud_http_reauthentications", {
  description: "API attempts retried with a new access token after Bud answered 401 or 403",
  incremental: true
})

/** Bud answered 401 or 403 to the token it was sent. */
class TokenRejected extends Data.TaggedError("TokenRejected")<{ readonly details: BudResponseDetails }> {}
/** A transient failure: a response with a transient status, or a transport error. */
class Transient extends Data.TaggedError("Transient")<{
  /** What the call returns or fails with once the retries are spent. */
  readonly outcome: Either.Either<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError | NetworkError>
  readonly retryAfter: Duration.Duration | undefined
}> {}

/**
 * What a response from `BudHttpClient` adds to the platform's: it serialises with the credential-free request. The
 * response itself is the prototype of the object handed out, so everything else behaves as the platform's.
 */
const reportingMethods = {
  toJSON(this: HttpClientResponse.HttpClientResponse) {
    return { ...(Object.getPrototypeOf(this).toJSON() as object), request: this.request.toJSON() }
  },
  [Inspectable.NodeInspectSymbol](this: HttpClientResponse.HttpClientResponse) {
    return this.toJSON()
  }
}

type AttemptError = Transient | TokenRejected | BudAuthError | HttpClientError.HttpClientError

const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
const maxRetryAfter = Duration.minutes(1)
const addCustomerSecret = (names: ReadonlyArray<string | RegExp>) =>
  names.includes(customerSecretHeader) ? names : [...names, customerSecretHeader]

/**
 * The middleware as a plain function: makes any `HttpClient` call Bud with `auth`'s tokens. Relative URLs resolve
 * against `auth.baseUrl`; absolute URLs to anywhere else are sent untouched, without credentials.
 *
 * Each attempt takes its token from `auth`, so a retry never resends a stale header. On a 401 or 403, exactly the
 * token that request carried is invalidated (compare-and-invalidate: a storm of 401s costs one renewal), then the
 * call is retried under `reauthenticateSchedule`. A request body is sent again, unchanged, on every attempt; a
 * streamed body can be sent only once, so such a request is never retried.
 *
 * @since 0.1.0
 * @category constructors
 */
export const authenticate = (client: HttpClient.HttpClient, auth: BudAuth.Service, options: Options = {}): Client => {
  const reauthenticateSchedule = options.reauthenticateSchedule ?? defaultReauthenticateSchedule
  const transientPolicy = honourRetryAfter<AttemptError>(
    options.transientSchedule ?? defaultTransientSchedule,
    (error) => error._tag === "Transient" ? error.retryAfter : undefined
  )
  const base = auth.baseUrl
  const requestTimeout = Duration.decode(options.requestTimeout ?? "30 seconds")
  // Effect.timeout forks a fiber and a timer for every attempt: a cost worth paying for a bound, but one that a
  // user who relies on the transport's own timeouts can switch off with an infinite requestTimeout.
  const bounded = (url: string) => <A, E, R>(attempt: Effect.Effect<A, E, R>): Effect.Effect<A, E | Transient, R> =>
    Duration.isFinite(requestTimeout)
      ? Effect.timeoutFail(attempt, {
        duration: requestTimeout,
        onTimeout: () =>
          new Transient({
            outcome: Either.left(
              new NetworkError({
                reason: "Timeout",
                url,
                detail: `no response within ${Duration.format(requestTimeout)}`
              })
            ),
            retryAfter: undefined
          })
      })
      : attempt

  const resolve = (url: string): string | undefined => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url === base || url.startsWith(`${base}/`) ? url : undefined
    return `${base}${url.startsWith("/") ? "" : "/"}${url}`
  }

  const execute = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<
    HttpClientResponse.HttpClientResponse,
    HttpClientError.HttpClientError | BudAuthError
  > => {
    const url = resolve(request.url)
    if (url === undefined) return client.execute(request)
    const target = HttpClientRequest.setUrl(request, url).pipe(
      HttpClientRequest.setHeader("x-client-id", auth.clientId)
    )
    const resendable = request.body._tag !== "Stream"
    const retryTransient = resendable && (options.retryNonIdempotent === true || idempotentMethods.has(request.method))
    const customerSecret = request.headers[customerSecretHeader]
    // What responses and errors refer to: the request as the caller made it, without any credential, so that
    // logging or serialising them outside a fiber (where the platform's header redaction does not apply) cannot
    // reveal the token or the customer secret.
    let reportedRequest: HttpClientRequest.HttpClientRequest | undefined
    const reported = () =>
      reportedRequest ??= HttpClientRequest.make(request.method)(url, {
        urlParams: request.urlParams,
        hash: Option.getOrUndefined(request.hash),
        headers: Headers.remove(request.headers, ["authorization", customerSecretHeader]),
        body: request.body
      })
    const reportResponse = (response: HttpClientResponse.HttpClientResponse): HttpClientResponse.HttpClientResponse =>
      ({
        __proto__: response,
        get request() {
          return reported()
        },
        ...reportingMethods
      }) as never
    const reportError = (error: HttpClientError.HttpClientError): HttpClientError.HttpClientError =>
      error._tag === "RequestError"
        ? new HttpClientError.RequestError({ ...error, request: reported() })
        : new HttpClientError.ResponseError({ ...error, request: reported(), response: reportResponse(error.response) })

    // the counters belong to one run of the call: the returned effect may be run again
    return Effect.suspend(() => {
      let attempts = 0
      let rejections = 0
      let reauthenticating = false
      // a transient response that is being retried: its body is drained before the next attempt, so that its
      // keep-alive connection goes back to the pool instead of waiting for the garbage collector
      let superseded: HttpClientResponse.HttpClientResponse | undefined

      const attempt = Effect.gen(function*() {
        attempts++
        if (superseded !== undefined) {
          const drained = superseded
          superseded = undefined
          yield* Effect.ignore(bounded(url)(drained.arrayBuffer))
        }
        if (reauthenticating) {
          reauthenticating = false
          yield* Metric.increment(reauthentications)
        }
        const token = yield* auth.token
        yield* Effect.annotateCurrentSpan({ "bud.attempt": attempts, "bud.reauthentications": rejections })
        const response = yield* client.execute(
          HttpClientRequest.setHeader(target, "authorization", AccessToken.authorizationHeader(token))
        ).pipe(
          Effect.catchIf(
            (error) => error._tag === "RequestError" && error.reason === "Transport",
            (error) => Effect.fail(new Transient({ outcome: Either.left(error), retryAfter: undefined }))
          ),
          bounded(url)
        )
        if (response.status === 401 || response.status === 403) {
          yield* auth.invalidate(token)
          rejections++
          reauthenticating = true
          const secrets = customerSecret === undefined ? [token.value] : [token.value, Redacted.make(customerSecret)]
          return yield* new TokenRejected({ details: yield* readDetails(response, secrets, requestTimeout) })
        }
        if (isTransientStatus(response.status)) {
          const now = yield* Clock.currentTimeMillis
          superseded = response
          return yield* new Transient({
            outcome: Either.right(response),
            retryAfter: retryAfterOf(response, now, maxRetryAfter)
          })
        }
        return response
      }).pipe(Effect.withSpan("BudHttpClient.attempt", { kind: "client", captureStackTrace: false }))

      /**
       * The retries, built only once the first attempt has failed (a successful call pays for no schedule). The
       * first failure is replayed into them, so the schedules see exactly what they would have seen around it.
       */
      const retried = (first: AttemptError) => {
        let replay = true
        const again = Effect.suspend(() => {
          if (!replay) return attempt
          replay = false
          return Effect.fail(first)
        })
        return again.pipe(
          retryTransient ? Effect.retry({ schedule: transientPolicy, while: (e) => e._tag === "Transient" }) : (e) => e,
          resendable
            ? Effect.retry({ schedule: reauthenticateSchedule, while: (e) => e._tag === "TokenRejected" })
            : (e) => e
        )
      }

      return attempt.pipe(
        Effect.catchIf((e) => e._tag === "Transient" || e._tag === "TokenRejected", retried),
        Effect.catchTags({
          Transient: (e) => e.outcome,
          TokenRejected: (e) =>
            Effect.fail(
              new TokenExpiredError({ ...e.details, status: e.details.status === 403 ? 403 : 401, attempts })
            )
        }),
        Effect.mapBoth({
          onFailure: (error) => HttpClientError.isHttpClientError(error) ? reportError(error) : error,
          onSuccess: reportResponse
        }),
        customerSecret === undefined ? (e) => e : Effect.locallyWith(Headers.currentRedactedNames, addCustomerSecret)
      )
    })
  }

  return HttpClient.makeWith<never, never, HttpClientError.HttpClientError | BudAuthError, never>(
    (request) => Effect.flatMap(request, execute),
    Effect.succeed
  )
}

/**
 * Builds the client from `BudAuth` and the platform `HttpClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Client, never, BudAuth.BudAuth | HttpClient.HttpClient> =>
  Effect.map(
    Effect.all([HttpClient.HttpClient, BudAuth.BudAuth]),
    ([client, auth]) => authenticate(client, auth, options)
  )

/**
 * The client as a layer. Also adds `X-Customer-Secret` to the header names redacted in spans and logs for the
 * program it is provided to.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<BudHttpClient, never, BudAuth.BudAuth | HttpClient.HttpClient> =>
  Layer.merge(
    Layer.effect(BudHttpClient, make(options)),
    Layer.scopedDiscard(Effect.locallyScopedWith(Headers.currentRedactedNames, addCustomerSecret))
  )
