/**
 * The package's version, as in package.json (a test keeps them equal).
 *
 * @since 0.1.0
 */
export const version = "0.1.0"
