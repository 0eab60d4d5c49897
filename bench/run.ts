/**
 * `npm run bench`: measures effect-bud-auth against its goals, and against the two things users write by hand
 * instead, in one run. Prints a table and writes docs/performance.md; with `--json`, prints the same figures as
 * JSON on stdout and writes nothing. Progress goes to stderr. `--runs N` sets how many runs the medians are of.
 *
 *   npm run bench
 *   npm run --silent bench -- --json      (--silent keeps npm's own banner off stdout)
 */
import { Effect, Logger } from "effect"
import { writeFileSync } from "node:fs"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import { contenderLabels, type ContenderName } from "./contenders.js"
import * as Figures from "./figures.js"
import type { ByContender } from "./figures.js"
import { progress } from "./harness.js"
import { type BenchReport, renderMarkdown, renderTable, summarize } from "./report.js"

const parseArgs = (argv: ReadonlyArray<string>) => {
  let json = false
  let runs = 5
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--json") json = true
    else if (arg === "--runs" || arg.startsWith("--runs=")) {
      const value = Number(arg === "--runs" ? argv[++i] : arg.slice("--runs=".length))
      if (!Number.isInteger(value) || value < 1 || value > 50) throw new Error("--runs takes an integer from 1 to 50")
      runs = value
    } else {
      throw new Error(`unknown argument "${arg}" (known: --json, --runs N)`)
    }
  }
  return { json, runs }
}

/** The sizes of the figures: the issue's, kept small enough for the whole bench to take two or three minutes. */
export const settings = {
  memory: { calls: 1_000_000 },
  throughput: { requests: 600, concurrency: 32 },
  coldStart: { callers: 10_000 },
  revocationStorm: { calls: 1_000 },
  dayOfWork: { minutes: 24 * 60, callersPerMinute: 1, tokenLifetimeSeconds: 3600 }
} as const

/**
 * How many runs each figure is the median of. The timing figures take `runs`. The scenarios are counts, which do
 * not vary from run to run for effect-bud-auth (three runs show it) and are the point for (a) and (b); those run
 * once per five `runs`, because they are slow by design: (a) makes 10,000 token requests in the cold start. The day
 * of work is deterministic under `TestClock`: once per five `runs` as well.
 */
export const runsOf = (runs: number) => ({
  timing: runs,
  memory: Math.min(runs, 2),
  library: Math.min(runs, 3),
  handwritten: Math.max(1, Math.floor(runs / 5)),
  day: Math.max(1, Math.floor(runs / 5))
})

const timed = <A, E>(what: string, effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    yield* progress(`${what}…`)
    const start = performance.now()
    const result = yield* effect
    yield* progress(`${what}: done in ${((performance.now() - start) / 1000).toFixed(1)} s`)
    return result
  })

const repeat = <A>(runs: number, what: string, effect: Effect.Effect<A>) =>
  Effect.forEach(
    Array.from({ length: runs }, (_, i) => i),
    (i) => Effect.tap(effect, () => progress(`  ${what}, run ${i + 1}/${runs} done`))
  )

/** Each contender's runs of a scenario: effect-bud-auth's `library` runs, (a)'s and (b)'s `handwritten` runs. */
const scenario = <A>(
  what: string,
  runs: ReturnType<typeof runsOf>,
  f: (name: ContenderName) => Effect.Effect<A>
): Effect.Effect<ByContender<ReadonlyArray<A>>> => {
  const of = (name: ContenderName) =>
    repeat(name === "budAuth" ? runs.library : runs.handwritten, `${what}, ${contenderLabels[name]}`, f(name))
  return Effect.all({ budAuth: of("budAuth"), naive: of("naive"), cached: of("cached") })
}

const main = (options: { readonly json: boolean; readonly runs: number }) =>
  Effect.gen(function*() {
    const runs = runsOf(options.runs)
    const started = performance.now()
    const warmToken = yield* timed("warm token cost", Figures.warmToken(runs.timing))
    const memory = yield* timed("memory", Figures.memory(runs.memory, settings.memory.calls))
    const throughput = yield* timed(
      "authenticated throughput",
      Figures.throughput(runs.timing, settings.throughput.requests, settings.throughput.concurrency)
    )
    const coldStart = yield* timed(
      "cold start",
      scenario("cold start", runs, (name) => Figures.coldStart(name, settings.coldStart.callers))
    )
    const revocationStorm = yield* timed(
      "revocation storm",
      scenario("revocation storm", runs, (name) => Figures.revocationStorm(name, settings.revocationStorm.calls))
    )
    const day = settings.dayOfWork
    const days = yield* timed(
      "a day of work",
      repeat(
        runs.day,
        "a day of work",
        Figures.dayOfWork(day.minutes, day.callersPerMinute, day.tokenLifetimeSeconds, 150_000)
      )
    )
    const dayOfWork: ByContender<ReadonlyArray<Figures.DayOutcome>> = {
      budAuth: days.map((d) => d.budAuth),
      naive: days.map((d) => d.naive),
      cached: days.map((d) => d.cached)
    }
    const report: BenchReport = summarize({
      machine: {
        cpu: os.cpus()[0]?.model.trim() ?? "unknown",
        cores: os.cpus().length,
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        date: new Date().toISOString()
      },
      runs: options.runs,
      settings,
      samples: { warmToken, memory, throughput, coldStart, revocationStorm, dayOfWork },
      elapsedSeconds: (performance.now() - started) / 1000
    })
    if (options.json) {
      yield* Effect.sync(() => process.stdout.write(`${JSON.stringify(report, null, 2)}\n`))
    } else {
      const path = fileURLToPath(new URL("../../docs/performance.md", import.meta.url))
      yield* Effect.sync(() => {
        process.stdout.write(`${renderTable(report)}\n`)
        writeFileSync(path, renderMarkdown(report))
        process.stdout.write(`\nwrote ${path}\n`)
      })
    }
    return report
  })

const options = (() => {
  try {
    return parseArgs(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(2)
  }
})()

// Logs (a TestClock warning, a library debug line) go to stderr: stdout is the table, or the JSON alone.
Effect.runPromise(
  main(options).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.stringLogger))))
).then(
  // A missed goal is a finding, reported in the table and the doc; only a bench that could not finish fails.
  () => {},
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exitCode = 1
  }
)
