/**
 * The access token that `BudAuth` hands out.
 *
 * @since 0.1.0
 */
import { Data, Redacted } from "effect"

/**
 * A Bud access token. `value` is `Redacted`: it prints as `<redacted>` in logs, errors, `toString` and
 * JSON; read it with `Redacted.value` only where it is sent.
 *
 * @since 0.1.0
 * @category models
 */
export class AccessToken extends Data.Class<{
  /** The bearer token itself. */
  readonly value: Redacted.Redacted<string>
  /** Always `"Bearer"`: Bud sends `bearer` or `Bearer`, both mean the same. */
  readonly tokenType: "Bearer"
  /** When the token request was sent (its life is counted from here, not from the answer). */
  readonly issuedAt: Date
  /** When Bud said the token expires: `issuedAt + expires_in`. Bud may revoke it earlier. */
  readonly expiresAt: Date
}> {}

/**
 * The value of the `Authorization` header for a token: `Bearer <token>`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const authorizationHeader = (token: AccessToken): string => `Bearer ${Redacted.value(token.value)}`

/**
 * Whether two tokens are the same token (same secret value), whatever else differs.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSameToken = (self: AccessToken, that: AccessToken): boolean =>
  self === that || Redacted.value(self.value) === Redacted.value(that.value)
