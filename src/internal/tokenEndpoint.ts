/**
 * Bud's token endpoint: the wire format of both grants, Schema decoding, statuses mapped to typed errors,
 * per-attempt timeouts and Schedule-based retries of transient failures. Knows nothing about caching.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import {
  Clock,
  Data,
  Duration,
  Effect,
  Either,
  Metric,
  MetricLabel,
  ParseResult,
  Redacted,
  type Schedule,
  Schema
} from "effect"
import { AccessToken } from "../AccessToken.js"
import { InvalidCredentialsError, NetworkError, UnexpectedResponseError } from "../BudError.js"
import type { BudResponseDetails } from "../BudError.js"
import {
  describeTransport,
  detailsFromBody,
  honourRetryAfter,
  isTransientTokenStatus,
  requestIdOf,
  retryAfterOf
} from "./wire.js"

/** Which grant to ask Bud for. */
export type GrantRequest =
  | { readonly _tag: "ClientCredentials" }
  | { readonly _tag: "RefreshToken"; readonly refreshToken: Redacted.Redacted<string> }

/** A successful answer of the token endpoint. */
export interface Grant {
  readonly token: AccessToken
  readonly refreshToken: Redacted.Redacted<string>
}

/** Bud rejected the refresh token (400, 401 or 403 on the refresh grant): the cache falls back to client_credentials. */
export class RefreshTokenRejected extends Data.TaggedError("RefreshTokenRejected")<BudResponseDetails> {}

/** Everything one token acquisition can fail with. */
export type TokenEndpointError = InvalidCredentialsError | NetworkError | UnexpectedResponseError | RefreshTokenRejected

/** The settings of the token endpoint, already validated. */
export interface TokenEndpointConfig {
  readonly baseUrl: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly requestTimeout: Duration.Duration
  readonly acquireTimeout: Duration.Duration
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
}

/** The longest life the cache believes in, whatever `expires_in` says: Bud documents an hour at most. */
const maxTokenLife = Duration.hours(24)
const maxRetryAfter = Duration.minutes(5)

const TokenResponse = Schema.Struct({
  operation_id: Schema.optional(Schema.String),
  data: Schema.Struct({
    access_token: Schema.Redacted(Schema.NonEmptyTrimmedString),
    token_type: Schema.String.pipe(
      Schema.filter((type) => type.toLowerCase() === "bearer", { message: () => "token_type must be bearer" })
    ),
    expires_in: Schema.Number.pipe(Schema.finite(), Schema.positive()),
    refresh_token: Schema.Redacted(Schema.NonEmptyTrimmedString)
  })
})
const decodeTokenResponse = Schema.decodeUnknownEither(TokenResponse)

/** Names the fields at fault without echoing their values (they may be tokens). */
const describeParseError = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const described = issues.slice(0, 3).map((issue) => {
    const field = issue.path.length === 0 ? "the body" : `field "${issue.path.join(".")}"`
    return issue._tag === "Missing" ? `${field} is missing` : `${field} has an unexpected value or type`
  })
  return `the token response does not match Bud's protocol: ${described.join("; ")}`
}

export const tokenRequests = Metric.counter("bud_auth_token_requests", {
  description: "HTTP requests sent to Bud's token endpoint, by grant type and result",
  incremental: true
})

const countRequest = (grant: GrantRequest, result: string) =>
  Metric.update(
    Metric.taggedWithLabels(tokenRequests, [
      MetricLabel.make("grant", grantType(grant)),
      MetricLabel.make("result", result)
    ]),
    1
  )

const grantType = (grant: GrantRequest) => grant._tag === "ClientCredentials" ? "client_credentials" : "refresh_token"

const isTransient = (error: TokenEndpointError): boolean =>
  error._tag === "NetworkError" ||
  (error._tag === "UnexpectedResponseError" && error.status !== undefined && isTransientTokenStatus(error.status))

const outcomeOf = (error: TokenEndpointError): string =>
  error._tag === "UnexpectedResponseError" && error.status !== undefined && isTransientTokenStatus(error.status)
    ? `status_${error.status}`
    : error._tag

/**
 * Builds the function that asks Bud for a token. One call is one acquisition: a first attempt, plus retries
 * of transient failures under `retrySchedule` (waiting at least Bud's `Retry-After`), each attempt bounded by
 * `requestTimeout` and the whole by `acquireTimeout`.
 */
export const make = (client: HttpClient.HttpClient, config: TokenEndpointConfig) => {
  // appended, not resolved: a base URL with a path (a proxy's prefix) keeps it, as API calls do
  const tokenUrl = `${config.baseUrl}/v1/oauth/token`
  const basicAuthorization = Redacted.make(
    `Basic ${btoa(`${config.clientId}:${Redacted.value(config.clientSecret)}`)}`
  )
  const base = HttpClientRequest.post(tokenUrl).pipe(
    HttpClientRequest.setHeader("x-client-id", config.clientId),
    HttpClientRequest.acceptJson
  )

  const buildRequest = (grant: GrantRequest) =>
    grant._tag === "ClientCredentials"
      ? base.pipe(
        HttpClientRequest.setHeader("authorization", Redacted.value(basicAuthorization)),
        HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials" })
      )
      : base.pipe(
        HttpClientRequest.bodyUrlParams({
          grant_type: "refresh_token",
          refresh_token: Redacted.value(grant.refreshToken)
        })
      )

  // Every secret this endpoint has sent or received lately: whatever Bud echoes back is scrubbed of them.
  let recentSecrets: ReadonlyArray<Redacted.Redacted<string>> = []
  const remember = (...secrets: ReadonlyArray<Redacted.Redacted<string>>) => {
    recentSecrets = [...secrets, ...recentSecrets].slice(0, 4)
  }
  const secretsOf = (grant: GrantRequest) => {
    if (grant._tag === "RefreshToken") remember(grant.refreshToken)
    return [config.clientSecret, ...recentSecrets]
  }

  const attempt = (grant: GrantRequest): Effect.Effect<Grant, TokenEndpointError> =>
    Effect.gen(function*() {
      const sentAt = yield* Clock.currentTimeMillis
      const response = yield* client.execute(buildRequest(grant)).pipe(
        Effect.mapError((error) =>
          new NetworkError({ reason: "Transport", url: tokenUrl, detail: describeTransport(error) })
        )
      )
      const body = yield* response.text.pipe(
        Effect.mapError(() =>
          new NetworkError({
            reason: "Transport",
            url: tokenUrl,
            detail: `the connection broke while reading the answer (status ${response.status})`
          })
        )
      )
      const secrets = secretsOf(grant)
      if (response.status >= 200 && response.status < 300) {
        const decoded = Either.flatMap(
          Either.try({ try: () => JSON.parse(body) as unknown, catch: () => "the token response is not JSON" }),
          (json) => Either.mapLeft(decodeTokenResponse(json), describeParseError)
        )
        if (Either.isLeft(decoded)) {
          return yield* new UnexpectedResponseError({
            status: response.status,
            codeId: undefined,
            budMessage: undefined,
            requestId: requestIdOf(response),
            detail: decoded.left,
            retryAfter: undefined
          })
        }
        const data = decoded.right.data
        remember(data.access_token, data.refresh_token)
        const lifeMillis = Math.min(data.expires_in * 1000, Duration.toMillis(maxTokenLife))
        return {
          token: new AccessToken({
            value: data.access_token,
            tokenType: "Bearer",
            issuedAt: new Date(sentAt),
            expiresAt: new Date(sentAt + lifeMillis)
          }),
          refreshToken: data.refresh_token
        }
      }
      const details = detailsFromBody(response, body, secrets)
      if (response.status === 400 || response.status === 401 || response.status === 403) {
        return yield* grant._tag === "ClientCredentials"
          ? new InvalidCredentialsError(details)
          : new RefreshTokenRejected(details)
      }
      const now = yield* Clock.currentTimeMillis
      return yield* new UnexpectedResponseError({
        ...details,
        detail: isTransientTokenStatus(response.status)
          ? `the token endpoint kept failing with status ${response.status}`
          : `the token endpoint answered with status ${response.status}, which its protocol does not allow`,
        retryAfter: retryAfterOf(response, now, maxRetryAfter)
      })
    }).pipe(
      Effect.timeoutFail({
        duration: config.requestTimeout,
        onTimeout: () =>
          new NetworkError({
            reason: "Timeout",
            url: tokenUrl,
            detail: `no complete answer within ${Duration.format(config.requestTimeout)}`
          })
      }),
      Effect.tapBoth({
        onFailure: (error) => countRequest(grant, outcomeOf(error)),
        onSuccess: () => countRequest(grant, "success")
      })
    )

  const retryPolicy = honourRetryAfter<TokenEndpointError>(
    config.retrySchedule,
    (error) => error._tag === "UnexpectedResponseError" ? error.retryAfter : undefined
  )

  return Effect.fn("BudAuth.requestToken")(function*(grant: GrantRequest) {
    yield* Effect.annotateCurrentSpan("bud.grant_type", grantType(grant))
    yield* Effect.logDebug("requesting a Bud access token").pipe(Effect.annotateLogs("grant_type", grantType(grant)))
    return yield* attempt(grant).pipe(
      Effect.retry({ schedule: retryPolicy, while: isTransient }),
      Effect.timeoutFail({
        duration: config.acquireTimeout,
        onTimeout: () =>
          new NetworkError({
            reason: "Timeout",
            url: tokenUrl,
            detail: `no token within ${Duration.format(config.acquireTimeout)}, retries included`
          })
      }),
      Effect.tapBoth({
        onFailure: (error) =>
          Effect.zipRight(
            Effect.annotateCurrentSpan("bud.outcome", error._tag),
            Effect.logDebug("Bud token request failed").pipe(
              Effect.annotateLogs({ grant_type: grantType(grant), outcome: error._tag })
            )
          ),
        onSuccess: (result) =>
          Effect.zipRight(
            Effect.annotateCurrentSpan("bud.outcome", "success"),
            Effect.logDebug("Bud access token received").pipe(
              Effect.annotateLogs({ grant_type: grantType(grant), expires_at: result.token.expiresAt.toISOString() })
            )
          )
      })
    )
  })
}
