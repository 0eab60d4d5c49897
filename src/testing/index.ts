/**
 * effect-bud-auth/testing: a Bud emulator for tests, in memory or over a socket.
 *
 * @since 0.1.0
 */

/**
 * The Bud emulator: one `HttpApp` speaking Bud's token and API wire format, served in memory as an `HttpClient`
 * or over HTTP on 127.0.0.1, with a control service for lifetimes, revocation and injected faults.
 *
 * @since 0.1.0
 */
export * as BudEmulator from "./BudEmulator.js"
