/**
 * effect-bud-auth: Bud's OAuth2 for Effect.
 *
 * @since 0.1.0
 */

/**
 * The access token that `BudAuth` hands out.
 *
 * @since 0.1.0
 */
export * as AccessToken from "./AccessToken.js"

/**
 * The token service: cached, single-flight, renewed ahead.
 *
 * @since 0.1.0
 */
export * as BudAuth from "./BudAuth.js"

/**
 * Typed errors.
 *
 * @since 0.1.0
 */
export * as BudError from "./BudError.js"

/**
 * An `HttpClient` that authenticates every call to Bud and re-authenticates on 401/403.
 *
 * @since 0.1.0
 */
export * as BudHttpClient from "./BudHttpClient.js"
