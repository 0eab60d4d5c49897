/**
 * The three ways of calling Bud that the bench puts side by side, against the same in-memory emulator:
 *
 * - `effect-bud-auth`: `BudAuth` and `BudHttpClient` as a user would configure them;
 * - naive (a): a new token for every request (`POST /v1/oauth/token`, client_credentials, then the call);
 * - cachedInvalidateWithTTL (b): `Effect.cachedInvalidateWithTTL` around the same token fetch, invalidated on a 401
 *   and the call retried once.
 *
 * (a) and (b) are written the way they usually are by hand: plainly, with no backoff and no compare-and-invalidate.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Duration, Effect, Redacted, type Schedule, Schema } from "effect"
import type * as Scope from "effect/Scope"
import { BudAuth, BudHttpClient } from "../src/index.js"
import type { BudEmulator } from "../src/testing/index.js"

export type ContenderName = "budAuth" | "naive" | "cached"

export const contenderNames: ReadonlyArray<ContenderName> = ["budAuth", "naive", "cached"]

export const contenderLabels: Readonly<Record<ContenderName, string>> = {
  budAuth: "effect-bud-auth",
  naive: "naive (a)",
  cached: "cachedInvalidateWithTTL (b)"
}

/** What every contender offers the scenarios. */
export interface Contender {
  /** One caller's token acquisition. */
  readonly token: Effect.Effect<unknown, unknown>
  /** One authenticated `GET /v1/open-banking/providers`, body read: the status of the last answer. */
  readonly call: Effect.Effect<number, unknown>
}

export interface ContenderEnv {
  readonly emulator: BudEmulator.Service
  readonly client: HttpClient.HttpClient
  /** Wraps every token acquisition, so that the harness can tell whether a caller waited for Bud. */
  readonly acquire: <A, E>(self: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** `BudHttpClient`'s retries after a 401 (default: the library's own). */
  readonly reauthenticateSchedule?: Schedule.Schedule<unknown, unknown> | undefined
}

/** The TTL of (b): a little under the hour Bud's tokens live, as users typically pick it. */
export const cachedTtl = Duration.minutes(55)

const providersPath = "/v1/open-banking/providers"

const statusAfterReading = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.as(response.text, response.status)

const budAuth = (env: ContenderEnv): Effect.Effect<Contender, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { acquire, client, emulator } = env
    const auth = yield* BudAuth.make({
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      baseUrl: emulator.url
    }).pipe(Effect.provideService(HttpClient.HttpClient, client), Effect.orDie)
    const observed: BudAuth.Service = { ...auth, token: acquire(auth.token) }
    const bud = BudHttpClient.authenticate(client, observed, { reauthenticateSchedule: env.reauthenticateSchedule })
    return { token: observed.token, call: Effect.flatMap(bud.get(providersPath), statusAfterReading) }
  })

const TokenResponse = Schema.Struct({
  data: Schema.Struct({ access_token: Schema.String, expires_in: Schema.Number })
})

/** What a hand-written client does for a token: client_credentials with HTTP Basic, the access token out of `data`. */
const fetchToken = ({ client, emulator }: ContenderEnv): Effect.Effect<string, unknown> =>
  HttpClientRequest.post(`${emulator.url}/v1/oauth/token`).pipe(
    HttpClientRequest.basicAuth(emulator.clientId, Redacted.value(emulator.clientSecret)),
    HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials" }),
    HttpClient.filterStatusOk(client).execute,
    Effect.flatMap(HttpClientResponse.schemaBodyJson(TokenResponse)),
    Effect.map(({ data }) => data.access_token)
  )

const getProviders = ({ client, emulator }: ContenderEnv, token: string) =>
  HttpClientRequest.get(`${emulator.url}${providersPath}`).pipe(
    HttpClientRequest.bearerToken(token),
    HttpClientRequest.setHeader("x-client-id", emulator.clientId),
    client.execute,
    Effect.flatMap(statusAfterReading)
  )

const naive = (env: ContenderEnv): Effect.Effect<Contender> =>
  Effect.sync(() => {
    const token = env.acquire(fetchToken(env))
    return { token, call: Effect.flatMap(token, (value) => getProviders(env, value)) }
  })

const cached = (env: ContenderEnv): Effect.Effect<Contender> =>
  Effect.map(Effect.cachedInvalidateWithTTL(fetchToken(env), cachedTtl), ([cachedToken, invalidate]) => {
    const token = env.acquire(cachedToken)
    const call = Effect.gen(function*() {
      const status = yield* getProviders(env, yield* token)
      if (status !== 401) return status
      yield* invalidate
      return yield* getProviders(env, yield* token)
    })
    return { token, call }
  })

export const makeContender = (
  name: ContenderName,
  env: ContenderEnv
): Effect.Effect<Contender, never, Scope.Scope> =>
  name === "budAuth" ? budAuth(env) : name === "naive" ? naive(env) : cached(env)
