/**
 * The token service: `BudAuth.BudAuth` hands out Bud access tokens, cached and renewed for you.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { Config, ConfigError, Context, Duration, Effect, Either, Layer, Option, Redacted, Schedule } from "effect"
import type { AccessToken } from "./AccessToken.js"
import type { BudAuthError } from "./BudError.js"
import * as TokenCache from "./internal/tokenCache.js"
import * as TokenEndpoint from "./internal/tokenEndpoint.js"

/**
 * Bud's environments. Every account starts in `sandbox`; `production` needs its own credentials.
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = "sandbox" | "production"

/**
 * The base URL of each environment.
 *
 * @since 0.1.0
 * @category constants
 */
export const baseUrls: Readonly<Record<Environment, string>> = {
  sandbox: "https://api-sandbox.thisisbud.com",
  production: "https://api.thisisbud.com"
}

/**
 * What `BudAuth.BudAuth` provides.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * The cached token while it is fresh, else a new one. However many fibers ask at once, one request goes to
   * Bud and all of them share its result, success or failure; a failure is not cached beyond those callers.
   */
  readonly token: Effect.Effect<AccessToken, BudAuthError>
  /** A new token now, whatever the cache holds (joins a renewal already in flight). */
  readonly refresh: Effect.Effect<AccessToken, BudAuthError>
  /**
   * Forgets the cached token only if it is still `token` (compare-and-invalidate): a storm of 401s on one token
   * leads to one renewal, and a late 401 never throws away a newer token.
   */
  readonly invalidate: (token: AccessToken) => Effect.Effect<void>
  /** The client id, sent as `X-Client-Id` on every call. */
  readonly clientId: string
  /** The base URL tokens are valid for, without a trailing slash (e.g. `https://api-sandbox.thisisbud.com`). */
  readonly baseUrl: string
}

/**
 * The token service.
 *
 * @since 0.1.0
 * @category tags
 */
export class BudAuth extends Context.Tag("effect-bud-auth/BudAuth")<BudAuth, Service>() {}

/**
 * The settings of `layer`. Only `clientId` and `clientSecret` are required.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The project's Client ID. */
  readonly clientId: string
  /** The project's Client Secret. */
  readonly clientSecret: Redacted.Redacted<string>
  /** Default `"sandbox"`. */
  readonly environment?: Environment | undefined
  /** Overrides the environment's base URL (proxies, emulators), e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl?: string | undefined
  /** A token is not handed out during the last `expiryMargin` of its life. Default 60 seconds. */
  readonly expiryMargin?: Duration.DurationInput | undefined
  /** Renewal starts in the background this long before the margin (at most 20% of the usable life). Default 2 minutes. */
  readonly renewAhead?: Duration.DurationInput | undefined
  /**
   * Retries of transient token-endpoint failures (transport errors, timeouts, 408, 429, 5xx); Bud's
   * `Retry-After` is waited at least. Default: jittered exponential from 250 ms, at most 4 retries.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** The bound of one token request, answer body included. Default 10 seconds. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** The bound of a whole acquisition, retries included. Default 30 seconds. */
  readonly acquireTimeout?: Duration.DurationInput | undefined
  /** Adjusts the `HttpClient` used for the token endpoint (proxies, extra headers, tracing). */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

/**
 * The default retry schedule of the token endpoint: jittered exponential backoff from 250 ms, at most 4 retries.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("250 millis").pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(4))
)

// Each check names what is wrong without repeating a secret; `layer` and `layerConfig` share them.
const checkClientId = (id: string): string | undefined =>
  id.trim().length === 0
    ? "must not be empty"
    : !/^[\x21-\x7e]+$/.test(id) || id.includes(":")
    ? "must be printable ASCII without spaces or ':' (check for a stray quote or newline)"
    : undefined

const checkClientSecret = (secret: Redacted.Redacted<string>): string | undefined => {
  const value = Redacted.value(secret)
  if (value.trim().length === 0) return "must not be empty"

  if (!/^[\x20-\x7e\xa0-\xff]+$/.test(value)) {
    return "has characters that cannot be sent in HTTP Basic authentication (outside Latin-1, or control characters such as a newline); check how it was copied"
  }
  return undefined
}

const parseBaseUrl = (url: string): Either.Either<string, string> => {
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      return Either.left(`must be an http(s) URL, got the scheme "${parsed.protocol}"`)
    }
    return Either.right(parsed.toString().replace(/\/+$/, ""))
  } catch {
    return Either.left(`is not a URL: "${url}"`)
  }
}

const parseDuration = (input: Duration.DurationInput | undefined, fallback: Duration.Duration) => {
  if (input === undefined) return Either.right(fallback)
  if (typeof input === "number" && input < 0) return Either.left("must not be negative")
  if (typeof input === "string" && input.trim().startsWith("-")) return Either.left("must not be negative")
  return Option.match(Duration.decodeUnknown(input), {
    onNone: () => Either.left(`is not a duration: "${String(input)}"`),
    onSome: (duration) => Duration.isFinite(duration) ? Either.right(duration) : Either.left("must be finite")
  })
}

interface Validated {
  readonly endpoint: TokenEndpoint.TokenEndpointConfig
  readonly timing: TokenCache.Timing
}

const validate = (options: Options): Either.Either<Validated, ConfigError.ConfigError> =>
  Either.gen(function*() {
    const invalid = (name: string, problem: string) => ConfigError.InvalidData([name], `${name} ${problem}`)
    const fail = (name: string) => (problem: string) => Either.left(invalid(name, problem))
    const clientIdProblem = checkClientId(options.clientId)
    if (clientIdProblem !== undefined) return yield* fail("clientId")(clientIdProblem)
    const secretProblem = checkClientSecret(options.clientSecret)
    if (secretProblem !== undefined) return yield* fail("clientSecret")(secretProblem)
    const environment = options.environment ?? "sandbox"
    if (!(environment in baseUrls)) {
      return yield* fail("environment")(`must be "sandbox" or "production", got "${String(environment)}"`)
    }
    const baseUrl = yield* Either.mapLeft(
      parseBaseUrl(options.baseUrl ?? baseUrls[environment]),
      (problem) => invalid("baseUrl", problem)
    )
    const durationOf = (name: string, input: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
      Either.mapLeft(parseDuration(input, Duration.decode(fallback)), (problem) => invalid(name, problem))
    const expiryMargin = yield* durationOf("expiryMargin", options.expiryMargin, "60 seconds")
    const renewAhead = yield* durationOf("renewAhead", options.renewAhead, "2 minutes")
    const requestTimeout = yield* durationOf("requestTimeout", options.requestTimeout, "10 seconds")
    const acquireTimeout = yield* durationOf("acquireTimeout", options.acquireTimeout, "30 seconds")
    return {
      endpoint: {
        baseUrl,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        requestTimeout,
        acquireTimeout,
        retrySchedule: options.retrySchedule ?? defaultRetrySchedule
      },
      timing: {
        expiryMarginMillis: Duration.toMillis(expiryMargin),
        renewAheadMillis: Duration.toMillis(renewAhead)
      }
    }
  })

/**
 * Builds the service from an `HttpClient` (never provided by this library: bring `NodeHttpClient.layerUndici`,
 * `FetchHttpClient.layer`, or a fake). Renewals run in the surrounding scope: closing it leaves nothing running.
 * Bad settings fail with a `ConfigError` that names the setting.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<Service, ConfigError.ConfigError, HttpClient.HttpClient | import("effect/Scope").Scope> =>
  Effect.gen(function*() {
    const { endpoint, timing } = yield* validate(options)
    const baseClient = yield* HttpClient.HttpClient
    const client = options.transformClient === undefined ? baseClient : options.transformClient(baseClient)
    const scope = yield* Effect.scope
    const cache = yield* TokenCache.make(TokenEndpoint.make(client, endpoint), timing, scope)
    return { ...cache, clientId: endpoint.clientId, baseUrl: endpoint.baseUrl }
  })

/**
 * The token service as a layer. The platform `HttpClient` stays a requirement.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer, Redacted } from "effect"
 * import { BudAuth } from "effect-bud-auth"
 *
 * const BudAuthLive = BudAuth.layer({
 *   clientId: "my-client-id",
 *   clientSecret: Redacted.make(process.env.BUD_CLIENT_SECRET!)
 * }).pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<BudAuth, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.scoped(BudAuth, make(options))

/**
 * Which `Config`s `layerConfig` reads. Each defaults to the `BUD_*` variable named beside it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions extends Omit<Options, "clientId" | "clientSecret" | "environment" | "baseUrl"> {
  /** Default `Config.string("BUD_CLIENT_ID")`. */
  readonly clientId?: Config.Config<string> | undefined
  /** Default `Config.redacted("BUD_CLIENT_SECRET")`. */
  readonly clientSecret?: Config.Config<Redacted.Redacted<string>> | undefined
  /** Default `BUD_ENVIRONMENT`, `"sandbox"` when unset. */
  readonly environment?: Config.Config<Environment> | undefined
  /** Default `BUD_BASE_URL`, the environment's URL when unset. */
  readonly baseUrl?: Config.Config<Option.Option<string>> | undefined
}

/**
 * The `Config`s `layerConfig` reads by default, validated like `layer`'s options: a missing or bad variable is a
 * `ConfigError` that names it.
 *
 * @since 0.1.0
 * @category config
 */
export const config = {
  clientId: Config.string("BUD_CLIENT_ID").pipe(
    Config.validate({
      message: "BUD_CLIENT_ID is not a valid client id",
      validation: (id) => checkClientId(id) === undefined
    })
  ),
  clientSecret: Config.redacted("BUD_CLIENT_SECRET").pipe(
    Config.validate({
      message: "BUD_CLIENT_SECRET is empty, or has characters outside Latin-1 or control characters",
      validation: (secret) => checkClientSecret(secret) === undefined
    })
  ),
  environment: Config.literal("sandbox", "production")("BUD_ENVIRONMENT").pipe(Config.withDefault("sandbox" as const)),
  baseUrl: Config.option(
    Config.string("BUD_BASE_URL").pipe(
      Config.validate({
        message: "BUD_BASE_URL is not an http(s) URL",
        validation: (url) => Either.isRight(parseBaseUrl(url))
      })
    )
  )
} satisfies {
  readonly clientId: Config.Config<string>
  readonly clientSecret: Config.Config<Redacted.Redacted<string>>
  readonly environment: Config.Config<Environment>
  readonly baseUrl: Config.Config<Option.Option<string>>
}

/**
 * The token service from Effect `Config`: `BUD_CLIENT_ID`, `BUD_CLIENT_SECRET`, `BUD_ENVIRONMENT` (default
 * `sandbox`) and `BUD_BASE_URL` (optional), unless other `Config`s are given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: ConfigOptions = {}
): Layer.Layer<BudAuth, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.all({
        clientId: options.clientId ?? config.clientId,
        clientSecret: options.clientSecret ?? config.clientSecret,
        environment: options.environment ?? config.environment,
        baseUrl: options.baseUrl ?? config.baseUrl
      }),
      (read) => layer({ ...options, ...read, baseUrl: Option.getOrUndefined(read.baseUrl) })
    )
  )

/**
 * A counter of HTTP requests sent to Bud's token endpoint, tagged `grant` (`client_credentials`,
 * `refresh_token`) and `result` (`success`, `InvalidCredentialsError`, `RefreshTokenRejected`, `NetworkError`,
 * `status_503`, ...).
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokenRequests = TokenEndpoint.tokenRequests
