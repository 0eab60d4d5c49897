/**
 * The token cache: a small state machine held in a `Ref`, with one `Deferred` per renewal that every waiter
 * awaits (single flight). Expiry is judged with Effect's `Clock`. Knows nothing about Bud's wire format: it
 * asks `acquire` for a grant.
 */
import { Clock, Deferred, Effect, Exit, Ref } from "effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { AccessToken } from "../AccessToken.js"
import { isSameToken } from "../AccessToken.js"
import type { BudAuthError } from "../BudError.js"
import type { Grant, GrantRequest, TokenEndpointError } from "./tokenEndpoint.js"

/** A grant with the instants the cache acts on. */
interface Cached {
  readonly grant: Grant
  /** From here on the token is not handed out any more: `expiresAt` minus the margin. */
  readonly staleAt: number
  /** From here on `token` still returns it, and starts one renewal in the background. */
  readonly renewAt: number
  /** `Effect.succeed(grant.token)`, made once: the warm path allocates nothing. */
  readonly handOut: Effect.Effect<AccessToken>
}

type State =
  | { readonly _tag: "Empty"; readonly refreshToken: Redacted.Redacted<string> | undefined }
  | {
    readonly _tag: "Fresh"
    readonly cached: Cached
    /** The grant's refresh token, unless Bud has rejected it since. */
    readonly refreshToken: Redacted.Redacted<string> | undefined
  }
  | {
    readonly _tag: "Renewing"
    readonly renewal: Deferred.Deferred<Cached, BudAuthError>
    /** The previous token, while it may still be handed out. */
    readonly cached: Cached | undefined
    readonly refreshToken: Redacted.Redacted<string> | undefined
  }

/** How the cache turns a token's life into the instants it acts on. */
export interface Timing {
  /** A token is not handed out during the last `expiryMargin` of its life... */
  readonly expiryMarginMillis: number
  /** ...and renewal starts this long before that, in the background. */
  readonly renewAheadMillis: number
}

/**
 * The usable life of a token is its life less the margin, but never less than half its life: a token whose
 * whole life is shorter than the margin is still reused, not fetched again on every call. Renewal starts
 * `renewAhead` before the end of the usable life, and never before 80% of it.
 */
const scheduleOf = (grant: Grant, timing: Timing): Cached => {
  const issuedAt = grant.token.issuedAt.getTime()
  const life = grant.token.expiresAt.getTime() - issuedAt
  const usable = Math.max(life - timing.expiryMarginMillis, life / 2)
  const renewWindow = Math.min(timing.renewAheadMillis, usable * 0.2)
  return {
    grant,
    staleAt: issuedAt + usable,
    renewAt: issuedAt + usable - renewWindow,
    handOut: Effect.succeed(grant.token)
  }
}

/** The cache's operations; see `BudAuth.Service` for their contracts. */
export interface TokenCache {
  readonly token: Effect.Effect<AccessToken, BudAuthError>
  readonly refresh: Effect.Effect<AccessToken, BudAuthError>
  readonly invalidate: (token: AccessToken) => Effect.Effect<void>
}

/** After a failed renew-ahead, the next one waits this long (within the token's usable life), not the next call. */
const renewRetryMillis = 5_000

/**
 * Builds a cache whose renewals run in `scope`: a caller that is interrupted while waiting does not cancel the
 * renewal for the others, and closing the scope leaves nothing running.
 */
export const make = (
  request: (grant: GrantRequest) => Effect.Effect<Grant, TokenEndpointError>,
  timing: Timing,
  scope: Scope.Scope
): Effect.Effect<TokenCache> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>({ _tag: "Empty", refreshToken: undefined })

    const forgetRefreshToken = Ref.update(state, (s) => s._tag === "Renewing" ? { ...s, refreshToken: undefined } : s)

    /** The refresh_token grant while a refresh token is held; client_credentials otherwise, or when it is rejected. */
    const acquire = (refreshToken: Redacted.Redacted<string> | undefined): Effect.Effect<Grant, BudAuthError> =>
      refreshToken === undefined
        ? request({ _tag: "ClientCredentials" }) as Effect.Effect<Grant, BudAuthError>
        : request({ _tag: "RefreshToken", refreshToken }).pipe(
          Effect.catchTag("RefreshTokenRejected", () =>
            Effect.zipRight(
              Effect.zipRight(
                forgetRefreshToken,
                Effect.logDebug("Bud rejected the refresh token; using client credentials")
              ),
              request({ _tag: "ClientCredentials" }) as Effect.Effect<Grant, BudAuthError>
            ))
        )

    /** Runs one renewal in the cache's scope and settles the state and every waiter with its outcome. */
    const runRenewal = (
      renewal: Deferred.Deferred<Cached, BudAuthError>,
      refreshToken: Redacted.Redacted<string> | undefined
    ) =>
      acquire(refreshToken).pipe(
        Effect.map((grant) => scheduleOf(grant, timing)),
        Effect.onExit((exit) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.zipRight(
              Ref.update(state, (s): State => {
                if (s._tag !== "Renewing" || s.renewal !== renewal) return s
                if (Exit.isSuccess(exit)) {
                  return { _tag: "Fresh", cached: exit.value, refreshToken: exit.value.grant.refreshToken }
                }
                if (s.cached === undefined) return { _tag: "Empty", refreshToken: s.refreshToken }
                // the previous token is still usable: keep handing it out, and try again a little later
                const renewAt = Math.min(s.cached.staleAt, now + renewRetryMillis)
                return { _tag: "Fresh", cached: { ...s.cached, renewAt }, refreshToken: s.refreshToken }
              }),
              Deferred.done(renewal, exit)
            ))
        ),
        // the outcome reaches every waiter through the Deferred; the fiber itself has nothing left to report
        Effect.ignore,
        // forked from an uninterruptible region (see `renew`), yet timeouts and closing the scope must stop it
        Effect.interruptible,
        Effect.forkIn(scope)
      )

    const awaitToken = (renewal: Deferred.Deferred<Cached, BudAuthError>) =>
      Effect.map(Deferred.await(renewal), (cached) => cached.grant.token)

    /**
     * Joins the renewal in flight, or starts one unless the cached token is still good for `need` (another fiber
     * may have renewed it in the meantime): `"any"` renews whatever is cached, `"usable"` keeps a token that may
     * still be handed out, `"young"` keeps one that has not reached its renew-ahead instant.
     *
     * Switching the state to `Renewing` and forking the renewal happen without interruption, or an interrupted
     * caller could leave a `Renewing` state whose `Deferred` nobody completes; only the waiting is interruptible.
     */
    const renew = (
      need: "any" | "usable" | "young",
      wait: boolean
    ): Effect.Effect<AccessToken | undefined, BudAuthError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(Deferred.make<Cached, BudAuthError>(), (renewal) =>
          Effect.flatten(Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Ref.modify(state, (s): readonly [Effect.Effect<AccessToken | undefined, BudAuthError>, State] => {
              if (s._tag === "Renewing") {
                return [wait ? restore(awaitToken(s.renewal)) : Effect.succeed(undefined), s]
              }
              const goodUntil = need === "usable" ? "staleAt" : "renewAt"
              if (s._tag === "Fresh" && need !== "any" && now < s.cached[goodUntil]) {
                return [Effect.succeed(s.cached.grant.token), s]
              }
              const refreshToken = s.refreshToken
              const started = runRenewal(renewal, refreshToken)
              return [
                wait ? Effect.zipRight(started, restore(awaitToken(renewal))) : Effect.as(started, undefined),
                { _tag: "Renewing", renewal, cached: s._tag === "Fresh" ? s.cached : undefined, refreshToken }
              ]
            }))))
      )

    const renewAndWait = (need: "any" | "usable") =>
      renew(need, true) as Effect.Effect<AccessToken, BudAuthError>
    const renewInBackground = Effect.ignore(renew("young", false))

    // The warm path is the library's hot path: one clock read and one state read, then the token's prepared effect.
    const token: Effect.Effect<AccessToken, BudAuthError> = Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      return Effect.flatMap(Ref.get(state), (s) => {
        const cached = s._tag === "Empty" ? undefined : s.cached
        if (cached === undefined || now >= cached.staleAt) {
          return renewAndWait("usable")
        }
        if (s._tag === "Fresh" && now >= cached.renewAt) {
          return Effect.zipRight(renewInBackground, cached.handOut)
        }
        return cached.handOut
      })
    })

    const invalidate = (token: AccessToken): Effect.Effect<void> =>
      Ref.update(state, (s): State => {
        if (s._tag === "Fresh" && isSameToken(s.cached.grant.token, token)) {
          return { _tag: "Empty", refreshToken: s.refreshToken }
        }
        if (s._tag === "Renewing" && s.cached !== undefined && isSameToken(s.cached.grant.token, token)) {
          return { ...s, cached: undefined }
        }
        return s
      })

    return { token, refresh: renewAndWait("any"), invalidate }
  })
