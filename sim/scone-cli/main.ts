#!/usr/bin/env bun
// A stand-in for the SCONE CLI (`scone` / `rust-cli`), so scone's CAS driver (src/cas/driver) can be tested end to
// end without SCONE: the documented command surface, argument vectors, output lines and exit codes of
// /work/shared/reference/SCONE-CLI.md §3–§7, talking over the network to the simulated CAS (sim/cas) at the address
// it is given. NOT production code and not a mirror of scone: it imports nothing from src/ (hack/lint-sim-imports.ts
// enforces that); what passes between it and sim/cas is the simulator's private business. README.md lists every
// command and what it checks.
import { CliFailure, type Env } from "./failure.ts";
import { cliVersion, type Io } from "./io.ts";

type Command = (rest: string[], env: Env, io: Io) => Promise<number> | number;

// Each command loads only its own module (dynamic imports; the compiled binary is built with --splitting): a CLI
// started per call pays for the YAML parser, X.509 and TLS only when the command needs them.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  "self show-key-hash": async () => (await import("./self-commands.ts")).showKeyHash,
  "self show-session-signing-key": async () => (await import("./self-commands.ts")).showSessionSigningKey,
  "session check": async () => {
    const m = await import("./session-commands.ts");
    return (rest, _env, io) => m.sessionCheck(rest, io);
  },
  "session calculate-hash": async () => {
    const m = await import("./session-commands.ts");
    return (rest, _env, io) => m.sessionCalculateHash(rest, io);
  },
  "session sign": async () => (await import("./sign-commands.ts")).sessionSign,
  "session encrypt": async () => (await import("./sign-commands.ts")).sessionEncrypt,
  "session create": async () => {
    const m = await import("./session-commands.ts");
    return (rest, env, io) => m.sessionUpload("create", rest, env, io);
  },
  "session update": async () => {
    const m = await import("./session-commands.ts");
    return (rest, env, io) => m.sessionUpload("update", rest, env, io);
  },
  "session read": async () => (await import("./session-commands.ts")).sessionRead,
  "session list": async () => (await import("./session-commands.ts")).sessionList,
  "cas attest": async () => (await import("./cas-commands.ts")).attest,
  "cas provision": async () => (await import("./cas-commands.ts")).provision,
  "cas set-default": async () => (await import("./cas-commands.ts")).setDefault,
  "cas show-identification": async () => (await import("./cas-commands.ts")).showIdentification,
  "cas verify-audit-log": async () => {
    const m = await import("./audit.ts");
    return (rest, env, io) => m.verifyAuditLog(false, rest, env, io);
  },
  "cas attest-audit-log": async () => {
    const m = await import("./audit.ts");
    return (rest, env, io) => m.verifyAuditLog(true, rest, env, io);
  },
  "cas get-audit-log-checkpoints": async () => (await import("./cas-commands.ts")).checkpoints,
  "cas register-backup": async () => (await import("./cas-commands.ts")).registerBackup,
};

export async function run(argv: string[], env: Env, io: Io): Promise<number> {
  if (env.SCONE_CONFIG_ID !== undefined) {
    // Upstream's clients always remove it (SCONE-CLI.md §1); a caller that forgets is a bug worth seeing.
    throw new CliFailure("SCONE_CONFIG_ID is set; the stand-in refuses to guess which configuration is meant");
  }
  const [a, b, ...rest] = argv;
  if ((a === "--version" || a === "-V") && argv.length === 1) {
    io.out(`scone ${cliVersion(env).text}`);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, `${a} ${b}`) ? COMMANDS[`${a} ${b}`] : undefined;
  if (!load) throw new CliFailure(`error: unrecognized subcommand '${argv.slice(0, 2).join(" ")}'`, 2);
  return (await load())(rest, env, io);
}

if (import.meta.main) {
  const io: Io = {
    // Bun's console.write, not process.stdout: that Node stream costs ≈8 ms to build, a third of a key-hash call.
    // A reader that closed the pipe early gets nothing more (as with a Node stream's EPIPE, the exit code stays).
    out: (s) => {
      try {
        const pending = console.write(`${s}\n`);
        if (pending instanceof Promise) pending.catch(() => undefined);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EPIPE") throw err;
      }
    },
    // Errors are the rare path: the Node stream is fine there.
    err: (s) => process.stderr.write(`${s}\n`),
  };
  try {
    process.exitCode = await run(process.argv.slice(2), process.env, io);
  } catch (err) {
    const failure =
      err instanceof CliFailure ? err : new CliFailure(`error: ${(err as Error)?.message ?? String(err)}`);
    io.err(failure.message);
    process.exitCode = failure.exitCode;
  }
}
