/**
 * The `bud-auth` CLI as a shell job sees it: run as a child process (from the built dist/, as `npm test` builds it
 * first) against the emulator on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import { execFile, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { BudEmulator } from "../src/testing/index.js"

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
const bin = fileURLToPath(new URL("../bin/bud-auth.js", import.meta.url))

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI with only the given BUD_* variables (none inherited from this machine). */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.async<Run>((resume) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("BUD_")))
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...clean, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resume(
          Effect.succeed({
            code: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
            stdout,
            stderr
          })
        )
      }
    )
    return Effect.sync(() => child.kill())
  })

const envFor = (emulator: BudEmulator.Service, secret = Redacted.value(emulator.clientSecret)) => ({
  BUD_CLIENT_ID: emulator.clientId,
  BUD_CLIENT_SECRET: secret,
  BUD_BASE_URL: emulator.url
})

/** Secrets of the emulator (its client secret, and the prefixes of every token it issues) found in a run's output. */
const leaks = (run: Run) =>
  ["emulator-secret", "emu-at-", "emu-rt-"].filter((secret) => `${run.stdout}${run.stderr}`.includes(secret))

/** A port on 127.0.0.1 that nothing listens on. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 9))
    })
  })
)

describe("bud-auth CLI", () => {
  it.live("token prints the access token and a newline, nothing else", () =>
    Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const run = yield* cli(["token"], envFor(emulator))
      expect(run).toMatchObject({ code: 0, stderr: "" })
      expect(run.stdout).toMatch(/^[^\s]+\n$/)
      const stats = yield* emulator.stats
      expect(stats.clientCredentialsRequests).toBe(1)
    }).pipe(Effect.provide(BudEmulator.layerServer())))

  it.live("flags override the variables; --json adds the type and expiry", () =>
    Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const run = yield* cli([
        "token",
        "--json",
        "--client-id",
        emulator.clientId,
        "--client-secret",
        Redacted.value(emulator.clientSecret),
        "--base-url",
        emulator.url
      ], { BUD_CLIENT_ID: "wrong", BUD_CLIENT_SECRET: "wrong" })
      expect(run.code).toBe(0)
      const printed = JSON.parse(run.stdout)
      expect(printed).toMatchObject({ token_type: "Bearer", expires_in: expect.any(Number) })
      expect(typeof printed.access_token).toBe("string")
      expect(Date.parse(printed.expires_at)).toBeGreaterThan(Date.now())
    }).pipe(Effect.provide(BudEmulator.layerServer({ tokenLifetime: 1800 }))))

  it.live("wrong credentials: exit 3, one line on stderr, no secret anywhere", () =>
    Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      const run = yield* cli(["token"], envFor(emulator, "not-the-secret-xyz"))
      expect(run.code).toBe(3)
      expect(run.stdout).toBe("")
      expect(run.stderr.trim().split("\n")).toHaveLength(1)
      expect(run.stderr).toContain("wrong credentials")
      expect(run.stderr).toContain("BUD_CLIENT_SECRET")
      expect(run.stderr).not.toContain("not-the-secret-xyz")
    }).pipe(Effect.provide(BudEmulator.layerServer())))

  it.live("Bud unreachable: exit 4", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const run = yield* cli(["token"], {
        BUD_CLIENT_ID: "c",
        BUD_CLIENT_SECRET: "s",
        BUD_BASE_URL: `http://127.0.0.1:${port}`
      })
      expect(run.code).toBe(4)
      expect(run.stderr).toContain("Bud unreachable")
      expect(run.stderr).toContain(`127.0.0.1:${port}`)
    }))

  it.live("an unexpected answer: exit 5", () =>
    Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.failNext(1, { _tag: "Malformed", body: "{\"data\": {\"access_token\": 42}}" })
      const run = yield* cli(["token"], envFor(emulator))
      expect(run.code).toBe(5)
      expect(run.stderr).toContain("unexpected answer")
      expect(run.stderr).toContain("data.access_token")
      expect(leaks(run)).toEqual([])
    }).pipe(Effect.provide(BudEmulator.layerServer())))

  it.live("interrupted before a token came (Ctrl-C): exit 130, nothing on stdout", () =>
    Effect.gen(function*() {
      const emulator = yield* BudEmulator.BudEmulator
      yield* emulator.failNext(10, { _tag: "Hang" }, "token")
      const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("BUD_")))
      const child = spawn(process.execPath, [bin, "token"], { env: { ...clean, ...envFor(emulator) } })
      let stdout = ""
      child.stdout.on("data", (chunk) => (stdout += String(chunk)))
      // interrupt once the token request has reached the emulator
      yield* Effect.repeat(emulator.stats, {
        until: (stats) => stats.tokenRequests > 0,
        schedule: Schedule.spaced("50 millis")
      }).pipe(Effect.timeout("20 seconds"))
      const exited = Effect.async<number | null>((resume) => {
        child.on("exit", (code) => resume(Effect.succeed(code)))
      })
      child.kill("SIGINT")
      expect(yield* Effect.timeout(exited, "10 seconds")).toBe(130)
      expect(stdout).toBe("")
    }).pipe(Effect.provide(BudEmulator.layerServer())))

  it.live("missing configuration: exit 2, naming the variables", () =>
    Effect.gen(function*() {
      const run = yield* cli(["token"])
      expect(run.code).toBe(2)
      expect(run.stderr).toContain("BUD_CLIENT_ID is not set")
      expect(run.stderr).toContain("BUD_CLIENT_SECRET is not set")
    }))

  it.live("--help lists the exit codes; --version prints the version", () =>
    Effect.gen(function*() {
      const help = yield* cli(["token", "--help"])
      expect(help.stdout).toContain("3 Bud rejected the credentials")
      const version = yield* cli(["--version"])
      expect(version.stdout.trim()).toBe(packageJson.version)
    }))

  it.live("emulator answers the seed's two curl requests as written, host aside", () =>
    Effect.gen(function*() {
      const child = spawn(process.execPath, [
        bin,
        "emulator",
        "--port",
        "0",
        "--client-id",
        "CLIENT_ID",
        "--client-secret",
        "CLIENT_SECRET"
      ])
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGINT")))
      const url = yield* Effect.async<string>((resume) => {
        let out = ""
        child.stdout.on("data", (chunk) => {
          out += String(chunk)
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
          if (match) resume(Effect.succeed(match[1]))
        })
      }).pipe(Effect.timeout("20 seconds"))
      const curl = (args: ReadonlyArray<string>) =>
        Effect.async<string>((resume) => {
          execFile("curl", ["-sS", ...args], (error, stdout) =>
            resume(error ? Effect.die(error) : Effect.succeed(stdout)))
        })
      const first = JSON.parse(
        yield* curl([
          "--basic",
          "--user",
          "CLIENT_ID:CLIENT_SECRET",
          "-X",
          "POST",
          `${url}/v1/oauth/token`,
          "-H",
          "Content-Type: application/x-www-form-urlencoded",
          "-d",
          "grant_type=client_credentials"
        ])
      )
      expect(first.data).toMatchObject({ token_type: "Bearer", expires_in: 3600 })
      const second = JSON.parse(
        yield* curl([
          "-X",
          "POST",
          `${url}/v1/oauth/token`,
          "-H",
          "Content-Type: application/x-www-form-urlencoded",
          "-H",
          "X-Client-Id: CLIENT_ID",
          "-d",
          `grant_type=refresh_token&refresh_token=${first.data.refresh_token}`
        ])
      )
      expect(second.data.access_token).not.toBe(first.data.access_token)
      const exited = Effect.async<number | null>((resume) => {
        child.on("exit", (code) =>
          resume(Effect.succeed(code)))
      })
      child.kill("SIGINT")
      expect(yield* Effect.timeout(exited, "10 seconds")).toBe(0)
    }).pipe(Effect.scoped))

  it.live("demo runs the batch against the embedded emulator and exits 0 with a summary", () =>
    Effect.gen(function*() {
      const run = yield* cli(["demo", "--calls", "80", "--concurrency", "8", "--revocations", "2"])
      expect(run.code).toBe(0)
      expect(run.stdout).toContain("calls made:               80")
      expect(run.stdout).toContain("calls failed:             0")
      expect(run.stdout).toMatch(/token requests by grant:  client_credentials 1, refresh_token 2/)
      expect(leaks(run)).toEqual([])
    }))
})
