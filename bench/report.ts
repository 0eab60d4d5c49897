/**
 * Turns the samples into medians and verdicts, and renders them: a table for the terminal, docs/performance.md.
 */
import type { ContenderName } from "./contenders.js"
import { contenderLabels, contenderNames } from "./contenders.js"
import type { ByContender, DayOutcome, MemorySample, Outcome, ThroughputSample, WarmTokenSample } from "./figures.js"
import { median } from "./harness.js"

export interface Samples {
  readonly warmToken: ReadonlyArray<WarmTokenSample>
  readonly memory: ReadonlyArray<MemorySample>
  readonly throughput: ReadonlyArray<ThroughputSample>
  readonly coldStart: ByContender<ReadonlyArray<Outcome>>
  readonly revocationStorm: ByContender<ReadonlyArray<Outcome>>
  readonly dayOfWork: ByContender<ReadonlyArray<DayOutcome>>
}

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly node: string
  readonly platform: string
  readonly date: string
}

export interface Settings {
  readonly memory: { readonly calls: number }
  readonly throughput: { readonly requests: number; readonly concurrency: number }
  readonly coldStart: { readonly callers: number }
  readonly revocationStorm: { readonly calls: number }
  readonly dayOfWork: {
    readonly minutes: number
    readonly callersPerMinute: number
    readonly tokenLifetimeSeconds: number
  }
}

/** A count over several runs: its median and its range (counts should not vary; when they do, it shows). */
export interface Count {
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface OutcomeSummary {
  readonly runs: number
  readonly tokenRequests: Count
  readonly failures: Count
  /** Median calls (or callers) per second. */
  readonly perSecond: number
}

export interface DaySummary extends OutcomeSummary {
  readonly calls: number
  readonly waitsAfterStart: Count
}

export interface Verdict {
  readonly goal: string
  readonly met: boolean
}

export interface BenchReport {
  readonly machine: Machine
  readonly runs: number
  readonly elapsedSeconds: number
  readonly allGoalsMet: boolean
  readonly figures: {
    readonly warmToken: Verdict & {
      readonly tokenCallsPerSecond: number
      readonly floorCallsPerSecond: number
      readonly costRatio: number
      readonly runs: number
    }
    readonly throughput: Verdict & {
      readonly requests: number
      readonly concurrency: number
      readonly budRequestsPerSecond: number
      readonly plainRequestsPerSecond: number
      readonly ratio: number
      /** CPU time per request, client and emulator together, in microseconds. */
      readonly budCpuMicrosPerRequest: number
      readonly plainCpuMicrosPerRequest: number
      /** The plain client with one `Effect.timeoutFail` per request, over the plain client. */
      readonly unboundedRatio: number
      readonly failures: number
      readonly runs: number
    }
    readonly coldStart: Verdict & { readonly callers: number } & ByContender<OutcomeSummary>
    readonly revocationStorm: Verdict & { readonly calls: number } & ByContender<OutcomeSummary>
    readonly dayOfWork:
      & Verdict
      & {
        readonly minutes: number
        readonly callersPerMinute: number
        readonly tokenLifetimeSeconds: number
        readonly minimumTokenRequests: number
      }
      & ByContender<DaySummary>
    readonly memory: Verdict & {
      readonly calls: number
      readonly growthBytes: number
      readonly heapBytes: number
      readonly limitBytes: number
      readonly runs: number
    }
  }
}

const count = (values: ReadonlyArray<number>): Count => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values)
})

const outcomeSummary = (samples: ReadonlyArray<Outcome>): OutcomeSummary => ({
  runs: samples.length,
  tokenRequests: count(samples.map((s) => s.tokenRequests)),
  failures: count(samples.map((s) => s.failures)),
  perSecond: median(samples.map((s) => s.perSecond))
})

const byContender = <A, B>(
  samples: ByContender<ReadonlyArray<A>>,
  f: (samples: ReadonlyArray<A>) => B
): ByContender<B> =>
  Object.fromEntries(contenderNames.map((name) => [name, f(samples[name])])) as Record<ContenderName, B>

/**
 * The fewest token requests a day of steady calls can cost with the library's defaults and one-hour tokens: the
 * first, then one per renewal at 57 minutes (usable life 60 − 1 = 59 minutes, renewed 2 minutes before; see
 * docs/token-cache.md).
 */
const minimumTokenRequests = (minutes: number, tokenLifetimeSeconds: number) => {
  const lifeMinutes = tokenLifetimeSeconds / 60
  const usable = Math.max(lifeMinutes - 1, lifeMinutes / 2)
  const renewEvery = usable - Math.min(2, usable * 0.2)
  return 1 + Math.floor((minutes - 1) / renewEvery)
}

const memoryLimitBytes = 4 * 1024 * 1024

export const summarize = (input: {
  readonly machine: Machine
  readonly runs: number
  readonly settings: Settings
  readonly samples: Samples
  readonly elapsedSeconds: number
}): BenchReport => {
  const { samples, settings } = input
  const warmRatio = median(samples.warmToken.map((s) => s.costRatio))
  const throughputRatio = median(samples.throughput.map((s) => s.ratio))
  const throughputFailures = samples.throughput.reduce((n, s) => n + s.failures, 0)
  const day = settings.dayOfWork
  const minimum = minimumTokenRequests(day.minutes, day.tokenLifetimeSeconds)
  const growth = median(samples.memory.map((s) => s.growthBytes))
  const figures: BenchReport["figures"] = {
    warmToken: {
      goal: "within 1.5× of the floor",
      met: warmRatio <= 1.5,
      tokenCallsPerSecond: median(samples.warmToken.map((s) => s.tokenPerSecond)),
      floorCallsPerSecond: median(samples.warmToken.map((s) => s.floorPerSecond)),
      costRatio: warmRatio,
      runs: samples.warmToken.length
    },
    throughput: {
      goal: "≥ 0.95× the plain client",
      met: throughputRatio >= 0.95 && throughputFailures === 0,
      requests: settings.throughput.requests,
      concurrency: settings.throughput.concurrency,
      budRequestsPerSecond: median(samples.throughput.map((s) => s.budPerSecond)),
      plainRequestsPerSecond: median(samples.throughput.map((s) => s.plainPerSecond)),
      ratio: throughputRatio,
      budCpuMicrosPerRequest: median(samples.throughput.map((s) => s.budCpuMicros)),
      plainCpuMicrosPerRequest: median(samples.throughput.map((s) => s.plainCpuMicros)),
      unboundedRatio: median(samples.throughput.map((s) => s.unboundedRatio)),
      failures: throughputFailures,
      runs: samples.throughput.length
    },
    coldStart: {
      goal: "exactly 1 token request",
      met: samples.coldStart.budAuth.every((s) => s.tokenRequests === 1 && s.failures === 0),
      callers: settings.coldStart.callers,
      ...byContender(samples.coldStart, outcomeSummary)
    },
    revocationStorm: {
      goal: "exactly 1 renewal, 0 failures",
      met: samples.revocationStorm.budAuth.every((s) => s.tokenRequests === 1 && s.failures === 0),
      calls: settings.revocationStorm.calls,
      ...byContender(samples.revocationStorm, outcomeSummary)
    },
    dayOfWork: {
      goal: `≤ ${minimum} token requests, no caller waits after the first`,
      met: samples.dayOfWork.budAuth.every((s) =>
        s.tokenRequests <= minimum && s.waitsAfterStart === 0 && s.failures === 0
      ),
      minutes: day.minutes,
      callersPerMinute: day.callersPerMinute,
      tokenLifetimeSeconds: day.tokenLifetimeSeconds,
      minimumTokenRequests: minimum,
      ...byContender(samples.dayOfWork, (outcomes): DaySummary => ({
        ...outcomeSummary(outcomes),
        calls: median(outcomes.map((o) => o.calls)),
        waitsAfterStart: count(outcomes.map((o) => o.waitsAfterStart))
      }))
    },
    memory: {
      goal: "flat: ≤ 4 MiB of heap growth",
      met: growth <= memoryLimitBytes,
      calls: median(samples.memory.map((s) => s.calls)),
      growthBytes: growth,
      heapBytes: median(samples.memory.map((s) => s.heapAfterBytes)),
      limitBytes: memoryLimitBytes,
      runs: samples.memory.length
    }
  }
  return {
    machine: input.machine,
    runs: input.runs,
    elapsedSeconds: Math.round(input.elapsedSeconds * 10) / 10,
    allGoalsMet: Object.values(figures).every((f) => f.met),
    figures
  }
}

// ---------------------------------------------------------------------------------------------------------------
// rendering

const int = (n: number) => Math.round(n).toLocaleString("en-US")
const perSecond = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)} k` : int(n)
const times = (n: number) => `${n.toFixed(2)}×`
const bytes = (n: number) => {
  const sign = n < 0 ? "−" : "+"
  const size = Math.abs(n)
  return size < 1024 * 1024 ? `${sign}${Math.round(size / 1024)} KiB` : `${sign}${(size / 1024 / 1024).toFixed(1)} MiB`
}
const plural = (n: number, one: string, many: string) => `${n === 1 ? one : many}`

/** A count, with its range when the runs did not agree. */
const countText = (c: Count, one: string, many: string) =>
  c.min === c.max
    ? `${int(c.median)} ${plural(c.median, one, many)}`
    : `${int(c.median)} ${plural(c.median, one, many)} (${int(c.min)}–${int(c.max)})`

const outcomeLines = (o: OutcomeSummary, requests: [string, string], rate: string): ReadonlyArray<string> => [
  countText(o.tokenRequests, ...requests),
  countText(o.failures, "failure", "failures"),
  `${perSecond(o.perSecond)} ${rate}`
]

const dayLines = (o: DaySummary): ReadonlyArray<string> => [
  countText(o.tokenRequests, "token request", "token requests"),
  `${countText(o.waitsAfterStart, "call", "calls")} waited after the first minute`,
  countText(o.failures, "failure", "failures"),
  `${perSecond(o.perSecond)} calls/s`
]

type Row = readonly [
  figure: ReadonlyArray<string>,
  budAuth: ReadonlyArray<string>,
  goal: ReadonlyArray<string>,
  met: ReadonlyArray<string>,
  naive: ReadonlyArray<string>,
  cached: ReadonlyArray<string>
]

const header: Row = [
  ["figure"],
  ["effect-bud-auth"],
  ["goal"],
  ["met?"],
  [contenderLabels.naive],
  [contenderLabels.cached]
]

const rows = (report: BenchReport): ReadonlyArray<Row> => {
  const f = report.figures
  const yes = (met: boolean) => [met ? "yes" : "NO"]
  const none = ["—"]
  const side =
    (figure: "coldStart" | "revocationStorm", requests: [string, string], rate: string) => (name: ContenderName) =>
      outcomeLines(f[figure][name], requests, rate)
  const cold = side("coldStart", ["token request", "token requests"], "callers/s")
  const storm = side("revocationStorm", ["token request", "token requests"], "calls/s")
  return [
    [
      ["warm `token` cost"],
      [
        `${perSecond(f.warmToken.tokenCallsPerSecond)} calls/s`,
        `${times(f.warmToken.costRatio)} the floor`,
        `(floor ${perSecond(f.warmToken.floorCallsPerSecond)}/s)`
      ],
      ["≤ 1.5× the floor:", "Ref.get + Clock read"],
      yes(f.warmToken.met),
      none,
      none
    ],
    [
      ["authenticated throughput", `(${int(f.throughput.requests)} GETs, ${f.throughput.concurrency} at once)`],
      [
        `${perSecond(f.throughput.budRequestsPerSecond)} req/s`,
        `${times(f.throughput.ratio)} plain`,
        `(plain ${perSecond(f.throughput.plainRequestsPerSecond)} req/s)`,
        `+${int(f.throughput.budCpuMicrosPerRequest - f.throughput.plainCpuMicrosPerRequest)} µs CPU/request`,
        ...(f.throughput.failures > 0 ? [`${int(f.throughput.failures)} failures`] : [])
      ],
      ["≥ 0.95× a plain", "HttpClient"],
      yes(f.throughput.met),
      none,
      none
    ],
    [
      ["cold start", `(${int(f.coldStart.callers)} first callers)`],
      cold("budAuth"),
      ["exactly 1", "token request"],
      yes(f.coldStart.met),
      cold("naive"),
      cold("cached")
    ],
    [
      ["revocation storm", `(${int(f.revocationStorm.calls)} calls, all 401)`],
      storm("budAuth"),
      ["exactly 1 renewal,", "0 failures"],
      yes(f.revocationStorm.met),
      storm("naive"),
      storm("cached")
    ],
    [
      [
        "a day of work",
        `(24 h, ${plural(f.dayOfWork.callersPerMinute, "1 call", `${f.dayOfWork.callersPerMinute} calls`)} a minute,`,
        "1 h tokens, TestClock)"
      ],
      dayLines(f.dayOfWork.budAuth),
      [`≤ ${f.dayOfWork.minimumTokenRequests} token requests,`, "no caller waits", "after the first"],
      yes(f.dayOfWork.met),
      dayLines(f.dayOfWork.naive),
      dayLines(f.dayOfWork.cached)
    ],
    [
      ["memory", `(${int(f.memory.calls)} warm calls)`],
      [`${bytes(f.memory.growthBytes)} heap growth`],
      ["flat: ≤ 4 MiB"],
      yes(f.memory.met),
      none,
      none
    ]
  ]
}

/** A plain-text table; a cell may span several lines. */
export const renderTable = (report: BenchReport): string => {
  const all = [header, ...rows(report)]
  const widths = header.map((_, column) => Math.max(...all.map((row) => Math.max(...row[column].map((l) => l.length)))))
  const rule = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`
  const render = (row: Row) => {
    const height = Math.max(...row.map((cell) => cell.length))
    return Array.from(
      { length: height },
      (_, line) => `| ${row.map((cell, column) => (cell[line] ?? "").padEnd(widths[column])).join(" | ")} |`
    ).join("\n")
  }
  const m = report.machine
  return [
    `effect-bud-auth bench: ${m.cpu}, ${m.cores} cores, Node ${m.node}; medians of ${report.runs} runs`,
    rule,
    render(header),
    rule,
    ...rows(report).flatMap((row) => [render(row), rule]),
    report.allGoalsMet ? "All goals met." : "Some goals were missed: see docs/performance.md.",
    `(${report.elapsedSeconds} s)`
  ].join("\n")
}

const markdownRow = (row: Row) => `| ${row.map((cell) => cell.join("<br>")).join(" | ")} |`

/** Greedy wrapping at `width` columns, as the hand-written docs are; `indent` starts every line after the first. */
const wrap = (text: string, width = 120, indent = ""): string => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    const candidate = line === "" ? word : `${line} ${word}`
    if (candidate.length > width - (lines.length === 0 ? 0 : indent.length) && line !== "") {
      lines.push(line)
      line = word
    } else {
      line = candidate
    }
  }
  if (line !== "") lines.push(line)
  return lines.map((l, i) => i === 0 ? l : `${indent}${l}`).join("\n")
}

const paragraph = (text: string) => wrap(text)
const list = (items: ReadonlyArray<string>) => items.map((item) => `- ${wrap(item, 118, "  ")}`).join("\n")

/** docs/performance.md, from scratch: machine, table, how to reproduce, what each figure means. */
export const renderMarkdown = (report: BenchReport): string => {
  const m = report.machine
  const f = report.figures
  const missed = Object.entries(f).filter(([, figure]) => !figure.met).map(([name]) => name)
  const blocks: Array<string> = [
    "# Performance",
    paragraph(
      "What `BudAuth` and `BudHttpClient` cost, measured by `npm run bench` (the code is in `bench/`), next to the " +
        "two things users write by hand instead: **(a)** a new token for every request, and **(b)** " +
        "`Effect.cachedInvalidateWithTTL` around a token fetch, invalidated on a 401 with the call retried once. " +
        "This file is written by the bench: run it again to update it."
    ),
    "## Results",
    paragraph(
      `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.platform}; ${m.date.slice(0, 10)}. ` +
        `The whole bench took ${Math.round(report.elapsedSeconds)} s.`
    ),
    paragraph(
      `Runs per median: ${report.runs} for the warm \`token\` cost and the throughput, ${f.memory.runs} for memory, ` +
        `${f.coldStart.budAuth.runs} for effect-bud-auth's cold start and revocation storm, ` +
        `${f.coldStart.naive.runs} for (a)'s and (b)'s (their counts are the point, and they are slow by design: ` +
        `(a) makes ${int(f.coldStart.callers)} token requests in the cold start), ${f.dayOfWork.budAuth.runs} for ` +
        "the day of work, which is deterministic under `TestClock`. A count shows its range when its runs did not " +
        "agree."
    ),
    [markdownRow(header), `|${header.map(() => "---").join("|")}|`, ...rows(report).map(markdownRow)].join("\n"),
    paragraph(
      missed.length === 0
        ? "Every goal was met."
        : `Goals missed in this run: ${missed.join(", ")}. See [Goals missed](#goals-missed).`
    ),
    "## How to reproduce",
    [
      "```sh",
      "npm ci",
      "npm run bench                          # builds, prints the table, rewrites docs/performance.md",
      "npm run --silent bench -- --json       # the same figures as JSON on stdout, nothing else; writes no file",
      "npm run --silent bench -- --runs 9     # more runs per median",
      "```"
    ].join("\n"),
    paragraph(
      "`--silent` keeps npm's own banner (`> effect-bud-auth@0.1.0 bench`) off stdout; progress goes to stderr. " +
        "The bench compiles with the library (`npm run build`, to `dist/bench/`) and runs in one Node process with " +
        "`--expose-gc`. Everything stays on the machine: the emulator is in memory, or served on 127.0.0.1 for the " +
        "throughput figure. The machine may be shared and noisy, so timings are never compared across runs or " +
        "machines: each timing figure is a ratio of loops measured back to back in the same process, interleaved " +
        "and alternating which goes first, and the table shows the median over the runs. Every loop is bounded both " +
        "in count and in time."
    ),
    "## What each figure measures",
    paragraph(
      "**Warm `token` cost.** Calls per second of `auth.token` with a fresh cached token (`BudAuth` over the " +
        "in-memory emulator, one-hour tokens), against the floor measured in the same run with the same loop: a " +
        "bare `Ref.get` and a `Clock.currentTimeMillis` read, the least any cache that checks expiry must do. The " +
        "goal is a cost within 1.5× of the floor: a cached token must be about as cheap as reading a variable."
    ),
    paragraph(
      `**Authenticated throughput.** ${int(f.throughput.requests)} \`GET /v1/open-banking/providers\`, ` +
        `${f.throughput.concurrency} at a time, answers read, against the emulator served on 127.0.0.1 ` +
        "(`BudEmulator.layerServer()`) through `NodeHttpClient.layerUndici`: through `BudHttpClient`, and through " +
        "the same plain `HttpClient` with a fixed `Authorization` and `X-Client-Id` header. Client and server share " +
        "the process, so the figure is the share of the whole request (client, loopback, server) that " +
        "authentication adds; the CPU time per request is shown as well, as it is less sensitive to a noisy " +
        "neighbour. A third arm, `BudHttpClient` with its per-attempt bound switched off " +
        "(`requestTimeout: Duration.infinity`), measures what that bound costs. Goal: at least 0.95× the plain " +
        "client's rate."
    ),
    paragraph(
      `**Cold start.** ${int(f.coldStart.callers)} fibers ask for a token at once, from an empty cache (each ` +
        "contender's own token acquisition: `auth.token`; a token request for (a); the cached effect for (b)). " +
        "Counted: the token requests that reached the emulator, the callers that failed, and callers served per " +
        "second."
    ),
    paragraph(
      "**Revocation storm.** A token is fetched and used, the emulator revokes it (`revokeAll`), then " +
        `${int(f.revocationStorm.calls)} calls are made at once: every one meets a 401 on the revoked token. ` +
        "`BudHttpClient` runs with a zero-delay re-authentication schedule (`Schedule.recurs(2)`: the default's two " +
        "retries without the backoff), so the storm runs on the real clock; (b) retries once, at once, as it is " +
        "usually written. Counted: token requests after the revocation, calls that did not end in a 200, and calls " +
        "per second. Every call makes two attempts through `BudHttpClient`, so its per-attempt cost (see the " +
        "throughput) shows twice here."
    ),
    paragraph(
      `**A day of work.** 24 hours under \`TestClock\` with one-hour tokens: every minute, ` +
        `${plural(f.dayOfWork.callersPerMinute, "one call", `${f.dayOfWork.callersPerMinute} concurrent calls`)} ` +
        "per contender, each contender against its own in-memory emulator. The goal is the fewest token requests " +
        `the cache's policy allows (${f.dayOfWork.minimumTokenRequests}: the first, then a background renewal every ` +
        "57 minutes, see [token-cache.md](token-cache.md)) and no caller waiting for Bud after the first minute. A " +
        "caller *waited* when a token request finished during its token acquisition: a token served from the cache " +
        "is handed out without suspending, so nothing can finish during it. (b) uses a TTL of 55 minutes. The " +
        "throughput is calls per second of the time spent in the calls themselves (the `TestClock` bookkeeping " +
        "between minutes is left out)."
    ),
    paragraph(
      "**Memory.** Heap in use (`process.memoryUsage().heapUsed` after `global.gc()`) before and after " +
        `${int(f.memory.calls)} warm \`token\` calls. Goal: flat, at most ${f.memory.limitBytes / 1024 / 1024} MiB ` +
        "of growth (garbage collection leaves a few hundred KiB of noise either way)."
    ),
    "## What the side-by-side shows",
    list([
      `**(a) a token per request** costs one token request per call, always: ${
        int(f.coldStart.naive.tokenRequests.median)
      } in the cold start, ${int(f.dayOfWork.naive.tokenRequests.median)} in the day of work, and every call ` +
      "waits for one. Bud rate-limits its token endpoint; this is the pattern that meets the limit first.",
      "**(b) `cachedInvalidateWithTTL`** shares one fetch between concurrent callers (its lock serialises them), " +
      "but it knows nothing of the token's own expiry, so every renewal is on a caller's path: " +
      `${int(f.dayOfWork.cached.waitsAfterStart.median)} calls waited in the day of work. Its \`invalidate\` ` +
      "forgets whatever is cached, not the token that failed, so in the revocation storm every late 401 throws " +
      `away the token a previous 401 just fetched: ${int(f.revocationStorm.cached.tokenRequests.median)} token ` +
      "requests for one revocation. It also caches a failed fetch for the whole TTL, which no figure here shows.",
      "**effect-bud-auth** renews in the background before the token goes stale, and invalidates only the token " +
      "that was rejected (compare-and-invalidate), so a storm costs one renewal however many calls meet the 401."
    ]),
    ...missedSection(report)
  ]
  return `${blocks.join("\n\n")}\n`
}

/** An explanation for each goal missed in this run: why, and what the floor is. */
const missedSection = (report: BenchReport): ReadonlyArray<string> => {
  const f = report.figures
  const parts: Array<string> = []
  if (!f.warmToken.met) {
    parts.push(paragraph(
      `**Warm \`token\` cost: ${times(f.warmToken.costRatio)} the floor (goal 1.5×).** The floor is one ` +
        `\`Ref.get\` and one \`Clock.currentTimeMillis\`, ${perSecond(f.warmToken.floorCallsPerSecond)} calls/s ` +
        "here. `token` on a fresh token (`src/internal/tokenCache.ts`) is those two and an `Effect.succeed`: a miss " +
        "on that structure is a noisy machine, or a change to that fast path. Run again with more runs " +
        "(`--runs 9`) before believing it."
    ))
  }
  if (!f.throughput.met) {
    const t = f.throughput
    parts.push(
      paragraph(
        `**Authenticated throughput: ${times(t.ratio)} the plain client (goal 0.95×).** The floor is the plain ` +
          `client's rate, ${perSecond(t.plainRequestsPerSecond)} req/s here (${
            int(t.plainCpuMicrosPerRequest)
          } µs of CPU per request, client and emulator together); \`BudHttpClient\` spent ${
            int(t.budCpuMicrosPerRequest - t.plainCpuMicrosPerRequest)
          } µs more per request. The gap is in \`authenticate\` (\`src/BudHttpClient.ts\`), on the path of every ` +
          "successful call:"
      ),
      list([
        "**the per-attempt `requestTimeout`** (`Effect.timeoutFail` around `client.execute`): Effect runs a " +
        "timeout as a race, forking a fiber and a timer per attempt, then interrupting the loser and merging fiber " +
        `refs back. With that bound switched off (\`requestTimeout: Duration.infinity\`), \`BudHttpClient\` ran at ${
          times(t.unboundedRatio)
        } the plain client in this run;`,
        "**the rest of a successful call**: reading the token, the attempt span, the headers, and the response " +
        "that refers to the request without its credentials (see docs/reliability.md). The retry schedules are " +
        "only built after a failure, and the span captures no stack trace."
      ]),
      paragraph(
        "The bound stays on by default: the project promises that every wait has one, and @effect/platform-node's " +
          "undici client otherwise waits up to an hour for headers. Against real Bud, where a call spends tens of " +
          "milliseconds on the network, the CPU time above is small; against an emulator on loopback in the same " +
          "process, where the whole request costs about a millisecond of CPU, it shows. Users who rely on their " +
          "transport's own timeouts can switch the bound off and get the unbounded figure."
      )
    )
  }
  const unexpected = (figure: string) =>
    paragraph(
      `**${figure}.** This figure is a count that should not depend on the machine: a miss is a bug, not noise. ` +
        "The JSON output (`npm run --silent bench -- --json`) has the figures of every contender."
    )
  if (!f.coldStart.met) parts.push(unexpected("Cold start"))
  if (!f.revocationStorm.met) parts.push(unexpected("Revocation storm"))
  if (!f.dayOfWork.met) parts.push(unexpected("A day of work"))
  if (!f.memory.met) {
    parts.push(paragraph(
      `**Memory.** The heap grew by ${(f.memory.growthBytes / 1024 / 1024).toFixed(1)} MiB over ${
        int(f.memory.calls)
      } warm calls: something is kept per call. The floor is no growth at all (garbage collection leaves a few ` +
        "hundred KiB of noise either way)."
    ))
  }
  return parts.length === 0 ? [] : ["## Goals missed", ...parts]
}
