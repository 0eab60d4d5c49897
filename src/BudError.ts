/**
 * The typed errors of effect-bud-auth. Each carries what a Bud support request needs (the HTTP status,
 * Bud's `code_id` and `message`, the `X-Request-Id`) and never a secret; each message says what happened
 * and what to do next.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type * as Duration from "effect/Duration"

/**
 * What Bud said about a failed request, as far as it said anything.
 *
 * @since 0.1.0
 * @category models
 */
export interface BudResponseDetails {
  /** The HTTP status of Bud's answer, when there was one. */
  readonly status: number | undefined
  /** Bud's `code_id` from its error envelope (e.g. `"unauthorised"`). */
  readonly codeId: string | undefined
  /** Bud's `message` from its error envelope (e.g. `"Unauthorised request"`), with any known secret removed. */
  readonly budMessage: string | undefined
  /** The `X-Request-Id` header of Bud's answer: quote it to Bud support. */
  readonly requestId: string | undefined
}

const describe = (details: BudResponseDetails): string => {
  const parts: Array<string> = []
  if (details.status !== undefined) parts.push(`status ${details.status}`)
  if (details.codeId !== undefined) parts.push(`code_id "${details.codeId}"`)
  if (details.budMessage !== undefined) parts.push(`message "${details.budMessage}"`)
  if (details.requestId !== undefined) parts.push(`X-Request-Id ${details.requestId}`)
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`
}

/**
 * Bud rejected the client id and secret at `POST /v1/oauth/token` (400 "Unauthorised request", 401 or 403).
 * Never retried: the same credentials will be rejected again.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidCredentialsError extends Data.TaggedError("InvalidCredentialsError")<BudResponseDetails> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Bud rejected the client credentials${
      describe(this)
    }. Check BUD_CLIENT_ID and BUD_CLIENT_SECRET, and that they belong to the environment you call (sandbox and production credentials differ).`
  }
}

/**
 * Bud kept answering 401 or 403 to an API call although a new access token was fetched before each retry.
 * Raised by `BudHttpClient` once its re-authentication schedule is exhausted.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenExpiredError extends Data.TaggedError("TokenExpiredError")<
  BudResponseDetails & {
    readonly status: 401 | 403
    /** How many times the call was sent, each time with a token fetched for that attempt. */
    readonly attempts: number
  }
> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Bud rejected the access token ${this.attempts} time(s) in a row${
      describe(this)
    }. A 403 that persists usually means the project lacks access to this endpoint or customer; quote the X-Request-Id to Bud support.`
  }
}

/**
 * Bud could not be reached, the connection broke, or Bud did not answer in time, on every attempt.
 *
 * @since 0.1.0
 * @category errors
 */
export class NetworkError extends Data.TaggedError("NetworkError")<{
  /** `"Transport"`: the connection failed or broke; `"Timeout"`: no complete answer within the bound. */
  readonly reason: "Transport" | "Timeout"
  /** The URL that was called (it never holds a secret). */
  readonly url: string
  /** A short description of the last failure. */
  readonly detail: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return this.reason === "Timeout"
      ? `Bud did not answer in time at ${this.url}: ${this.detail}. Check the network path to Bud, or raise the timeout.`
      : `Could not reach Bud at ${this.url}: ${this.detail}. Check the base URL, DNS, proxies and the network path to Bud.`
  }
}

/**
 * Bud answered something the protocol does not allow: a body that does not decode, or a status such as
 * 5xx or 429 that persisted after the retries.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedResponseError extends Data.TaggedError("UnexpectedResponseError")<
  BudResponseDetails & {
    /** What was wrong, e.g. `field "data.expires_in" is missing`. Never holds a token. */
    readonly detail: string
    /** The delay Bud asked for in `Retry-After`, if any. */
    readonly retryAfter: Duration.Duration | undefined
  }
> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Bud answered unexpectedly: ${this.detail}${
      describe(this)
    }. If it persists, check Bud's status page or quote the X-Request-Id to Bud support.`
  }
}

/**
 * Every error that `BudAuth` and `BudHttpClient` add to a program.
 *
 * @since 0.1.0
 * @category errors
 */
export type BudAuthError = InvalidCredentialsError | TokenExpiredError | NetworkError | UnexpectedResponseError
