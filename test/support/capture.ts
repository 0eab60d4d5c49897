/**
 * A capturing `Logger` and `Tracer`: everything the library logs or traces, as text, to search for secrets.
 */
import { Cause, Inspectable, Layer, Logger, LogLevel, Tracer } from "effect"
import type * as Exit from "effect/Exit"

export interface Captured {
  readonly logs: Array<string>
  readonly spans: Array<{ name: string; attributes: Map<string, unknown>; events: Array<string>; exit?: string }>
  /** Every captured log line, span name, attribute, event and exit, as one text. */
  readonly text: () => string
}

export const makeCapture = () => {
  const captured: Captured = {
    logs: [],
    spans: [],
    text: () =>
      [
        ...captured.logs,
        ...captured.spans.flatMap((s) => [
          s.name,
          ...[...s.attributes].map(([k, v]) => `${k}=${Inspectable.format(v)}`),
          ...s.events,
          s.exit ?? ""
        ])
      ].join("\n")
  }
  const logger = Logger.make((options) => {
    captured.logs.push(Logger.logfmtLogger.log(options))
    if (!Cause.isEmpty(options.cause)) captured.logs.push(Cause.pretty(options.cause, { renderErrorCause: true }))
  })
  let ids = 0
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind) {
      const record = {
        name,
        attributes: new Map<string, unknown>(),
        events: [] as Array<string>
      } as Captured["spans"][number]
      captured.spans.push(record)
      const id = String(++ids)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: id,
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: record.attributes,
        links,
        sampled: true,
        kind,
        end(_endTime, exit: Exit.Exit<unknown, unknown>) {
          record.exit = exit._tag === "Failure" ? Cause.pretty(exit.cause, { renderErrorCause: true }) : "success"
        },
        attribute(key, value) {
          record.attributes.set(key, value)
        },
        event(name, _startTime, attributes) {
          record.events.push(`${name} ${Inspectable.format(attributes ?? {})}`)
        },
        addLinks() {}
      }
      return span
    },
    context: (f) => f()
  })
  const layer = Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, logger),
    Logger.minimumLogLevel(LogLevel.All),
    Layer.setTracer(tracer)
  )
  return { captured, layer }
}

/** Asserts that none of `secrets` occurs in `text`. */
export const secretsIn = (text: string, secrets: ReadonlyArray<string>): Array<string> =>
  secrets.filter((secret) => secret.length > 0 && text.includes(secret))
