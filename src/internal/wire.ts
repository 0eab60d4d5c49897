/**
 * Bud's wire format shared by the token endpoint and the authenticated client: the error envelope,
 * `X-Request-Id`, `Retry-After`, and removing known secrets from text Bud sends back.
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Duration, Effect, Option, Redacted, Schedule, Schema } from "effect"
import type { BudResponseDetails } from "../BudError.js"

/** Bud's error envelope: `{operation_id, code_id, message, errors?}`; generic 5xx bodies may be just `{message}`. */
const ErrorEnvelope = Schema.Struct({
  code_id: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
})
const decodeErrorEnvelope = Schema.decodeUnknownOption(Schema.parseJson(ErrorEnvelope))

const maxMessageLength = 300

/** Replaces every occurrence of a secret in `text`, so that nothing Bud echoes can leak one. */
export const scrub = (text: string, secrets: ReadonlyArray<Redacted.Redacted<string>>): string => {
  let result = text
  for (const secret of secrets) {
    const value = Redacted.value(secret)
    if (value.length > 0) result = result.split(value).join("<redacted>")
  }
  return result.length > maxMessageLength ? `${result.slice(0, maxMessageLength)}…` : result
}

/** The `X-Request-Id` of a response. */
export const requestIdOf = (response: HttpClientResponse.HttpClientResponse): string | undefined =>
  response.headers["x-request-id"]

/** What an error response says: status, `code_id`, `message`, `X-Request-Id`. The body is read at most once. */
export const detailsFromBody = (
  response: HttpClientResponse.HttpClientResponse,
  body: string,
  secrets: ReadonlyArray<Redacted.Redacted<string>>
): BudResponseDetails => {
  const envelope = Option.getOrUndefined(decodeErrorEnvelope(body))
  return {
    status: response.status,
    codeId: envelope?.code_id === undefined ? undefined : scrub(envelope.code_id, secrets),
    budMessage: envelope?.message === undefined ? undefined : scrub(envelope.message, secrets),
    requestId: requestIdOf(response)
  }
}

/**
 * Reads an error body and describes it. A body that cannot be read, or does not come within `bound` (when finite),
 * is left out: the status and `X-Request-Id` remain.
 */
export const readDetails = (
  response: HttpClientResponse.HttpClientResponse,
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  bound: Duration.Duration
): Effect.Effect<BudResponseDetails> =>
  (Duration.isFinite(bound)
    ? Effect.timeoutFail(response.text, { duration: bound, onTimeout: () => "" })
    : response.text)
    .pipe(
      Effect.orElseSucceed(() => ""),
      Effect.map((body) => detailsFromBody(response, body, secrets))
    )

/**
 * The delay a `Retry-After` header asks for (delta-seconds or an HTTP date), relative to `now`, capped at `max`.
 */
export const retryAfterOf = (
  response: HttpClientResponse.HttpClientResponse,
  now: number,
  max: Duration.Duration
): Duration.Duration | undefined => {
  const header = response.headers["retry-after"]
  if (header === undefined) return undefined
  const trimmed = header.trim()
  let millis: number
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    millis = Number(trimmed) * 1000
  } else {
    const date = Date.parse(trimmed)
    if (Number.isNaN(date)) return undefined
    millis = Math.max(0, date - now)
  }
  return Duration.min(Duration.millis(millis), max)
}

/** Statuses that say "try again later": request timeout, too many requests, and the gateway and server errors. */
export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 429 || status === 502 || status === 503 || status === 504

/** The transient statuses of the token endpoint: also any other 5xx, since a token request is always safe to repeat. */
export const isTransientTokenStatus = (status: number): boolean => isTransientStatus(status) || status >= 500

/** Where a schedule would wait less than the server's `Retry-After`, waits the server's delay instead. */
const delayAtLeast = (
  retryAfter: Duration.Duration | undefined,
  scheduled: Duration.Duration
): Duration.Duration => retryAfter === undefined ? scheduled : Duration.max(retryAfter, scheduled)

/**
 * Retries under `schedule`, but never sooner than the server's `Retry-After` for the failure at hand. The
 * schedule sees every failure it is asked about; `retryAfterOf` reads the delay the server asked for, if any.
 */
export const honourRetryAfter = <E>(
  schedule: Schedule.Schedule<unknown, unknown>,
  retryAfterOf: (error: E) => Duration.Duration | undefined
): Schedule.Schedule<unknown, E> =>
  schedule.pipe(
    Schedule.intersect(Schedule.identity<E>()),
    Schedule.modifyDelay(([, error], delay) => delayAtLeast(retryAfterOf(error), delay))
  )

/** A transport failure in a few words (e.g. `connect ECONNREFUSED 127.0.0.1:9`); URLs never hold secrets here. */
export const describeTransport = (
  error: { readonly description?: string | undefined; readonly cause?: unknown; readonly reason: string }
): string => {
  if (error.description !== undefined) return error.description
  let cause = error.cause
  while (cause instanceof Error) {
    if (cause.cause instanceof Error) cause = cause.cause
    else return cause.message
  }
  return `${error.reason} error`
}
