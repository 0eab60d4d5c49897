/**
 * A scripted fake `HttpClient` for unit tests: each request is recorded as Bud would receive it, and answered by
 * the test's handler with a new web `Response`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Effect, Layer } from "effect"

export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly form: URLSearchParams
}

export type Handler = (request: Received, index: number) => Effect.Effect<Response | "drop">

const bodyText = (request: HttpClientRequest.HttpClientRequest): string => {
  const body = request.body
  if (body._tag === "Uint8Array") return new TextDecoder().decode(body.body)
  return ""
}

export const makeFake = (handler: Handler) => {
  const received: Array<Received> = []
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      const body = bodyText(request)
      const entry: Received = {
        method: request.method,
        url: url.toString(),
        headers: request.headers,
        body,
        form: new URLSearchParams(body)
      }
      received.push(entry)
      return Effect.flatMap(handler(entry, received.length - 1), (response) =>
        response === "drop"
          ? Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", description: "socket hang up" })
          )
          : Effect.succeed(HttpClientResponse.fromWeb(request, response)))
    })
  )
  return {
    received,
    tokenRequests: () => received.filter((r) => r.url.endsWith("/v1/oauth/token")),
    layer: Layer.succeed(HttpClient.HttpClient, client),
    client
  }
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "x-request-id": "req-test-1", ...headers }
  })

let counter = 0
/** A 200 token answer with fresh, unique tokens. */
export const tokenOk = (expiresIn: number = 3600, tokenType: string = "bearer"): Response => {
  counter++
  return json(200, {
    operation_id: "oauth_token_create",
    data: {
      access_token: `at-secret-${counter}`,
      token_type: tokenType,
      expires_in: expiresIn,
      refresh_token: `rt-secret-${counter}`
    }
  })
}

export const wrongCredentials = (): Response =>
  json(400, { operation_id: "unknown", code_id: "unknown", message: "Unauthorised request" })
