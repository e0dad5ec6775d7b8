// Command line of the CAS simulator. Flags mirror the real CAS's configuration (client API 8081, enclave API 18765,
// database dir, snapshots, audit log) plus simulator-only fault injection.

export interface Listen {
  readonly host: string;
  readonly port: number;
}

export interface SimArgs {
  readonly listen: Listen;
  readonly enclaveListen: Listen;
  /** Loopback-only admin API for tests (/sim/pause, /sim/resume, /sim/crash); off when undefined. */
  readonly adminListen: Listen | undefined;
  readonly dataDir: string;
  readonly snapshotDir: string | undefined;
  readonly snapshotIntervalMs: number;
  readonly version: string;
  readonly auditLog: string | undefined;
  /** Also print every audit line on stdout (what `kubectl logs NAME-0 -c audit` shows). */
  readonly auditStdout: boolean;
  /** Extra names for the client API certificate (DNS names or IPs). */
  readonly sans: readonly string[];
  /** Stop answering after this many client API requests (like /sim/pause). */
  readonly failAfter: number | undefined;
  /** The simulated enclave's measurements and TCB state, as the report carries them; unset fields keep defaults. */
  readonly enclave: {
    readonly mrenclave?: string;
    readonly mrsigner?: string;
    readonly isvprodid?: number;
    readonly isvsvn?: number;
    readonly tcbStatus?: readonly string[];
  };
  /** An "older CAS" without a software key (report field empty, no console line). */
  readonly noSoftwareKey: boolean;
}

const TCB_STATES = ["group-out-of-date", "configuration-needed", "sw-hardening-needed"];

function measurement(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new ArgsError(`${flag}: expected 64 hex characters`);
  return value.toLowerCase();
}

function u16(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new ArgsError(`${flag}: expected an integer 0..65535`);
  return Number(value);
}

export const USAGE = `usage: bun sim/cas/main.ts --data-dir DIR [options]
  --listen HOST:PORT            client API (HTTPS), default 127.0.0.1:8081 (port 0 = any free port)
  --enclave-listen HOST:PORT    enclave API, default 127.0.0.1:18765
  --admin-listen HOST:PORT      simulator admin API (loopback only): /sim/pause /sim/resume /sim/crash /sim/state
  --data-dir DIR                cas.db + cas.key-store (required)
  --snapshot-dir DIR            database snapshots (disabled without)
  --snapshot-interval DURATION  e.g. 60s (default), 500ms, 5m
  --version VERSION             reported CAS version, default 6.0.6
  --audit-log FILE              append the audit log here (cas_audit.log)
  --audit-stdout                also print audit entries on stdout
  --san NAME                    extra DNS name / IP in the client API certificate (repeatable)
  --fail-after N                stop answering after N client API requests
  --mrenclave HEX / --mrsigner HEX / --isvprodid N / --isvsvn N
                                the simulated enclave's measurements (defaults: DB-injection signer, 41316, 5)
  --tcb STATE[,STATE]           TCB states a verifier must tolerate: ${TCB_STATES.join(", ")}
  --no-software-key             behave as an older CAS without a software key`;

export class ArgsError extends Error {
  override readonly name = "ArgsError";
}

/** "60s", "500ms", "5m", "1h" → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new ArgsError(`${flag}: "${text}" is not a duration (examples: 60s, 500ms, 5m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
  const ms = Number(match[1]) * unit;
  if (ms <= 0) throw new ArgsError(`${flag}: must be positive`);
  return ms;
}

export function parseListen(text: string, flag: string): Listen {
  const match = /^(.*):(\d+)$/.exec(text);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match?.[1] || port > 65535) throw new ArgsError(`${flag}: expected HOST:PORT, got "${text}"`);
  return { host: match[1].replace(/^\[(.*)\]$/, "$1"), port };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

export function parseArgs(argv: readonly string[]): SimArgs {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const valued = new Set([
    "--listen",
    "--enclave-listen",
    "--admin-listen",
    "--data-dir",
    "--snapshot-dir",
    "--snapshot-interval",
    "--version",
    "--audit-log",
    "--san",
    "--fail-after",
    "--mrenclave",
    "--mrsigner",
    "--isvprodid",
    "--isvsvn",
    "--tcb",
  ]);
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] ?? "";
    const eq = raw.indexOf("=");
    const name = raw.startsWith("--") && eq > 0 ? raw.slice(0, eq) : raw;
    if (name === "--audit-stdout" || name === "--no-software-key") {
      flags.add(name);
      continue;
    }
    if (!valued.has(name)) throw new ArgsError(`unknown argument "${raw}"\n${USAGE}`);
    const value = eq > 0 && raw.startsWith("--") ? raw.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ArgsError(`${name}: missing value`);
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const one = (name: string): string | undefined => values.get(name)?.at(-1);
  const dataDir = one("--data-dir");
  if (!dataDir) throw new ArgsError(`--data-dir: required\n${USAGE}`);
  const admin = one("--admin-listen");
  const adminListen = admin === undefined ? undefined : parseListen(admin, "--admin-listen");
  if (adminListen && !LOOPBACK.has(adminListen.host)) {
    throw new ArgsError("--admin-listen: must be a loopback address (127.0.0.1, ::1, localhost)");
  }
  const failAfter = one("--fail-after");
  if (failAfter !== undefined && !/^\d+$/.test(failAfter)) throw new ArgsError("--fail-after: expected a count");
  const tcb = one("--tcb");
  const tcbStatus = tcb === undefined ? undefined : tcb.split(",").filter((t) => t !== "");
  const unknownTcb = tcbStatus?.find((t) => !TCB_STATES.includes(t));
  if (unknownTcb) throw new ArgsError(`--tcb: "${unknownTcb}" is not one of ${TCB_STATES.join(", ")}`);
  return {
    enclave: {
      mrenclave: measurement(one("--mrenclave"), "--mrenclave"),
      mrsigner: measurement(one("--mrsigner"), "--mrsigner"),
      isvprodid: u16(one("--isvprodid"), "--isvprodid"),
      isvsvn: u16(one("--isvsvn"), "--isvsvn"),
      tcbStatus,
    },
    noSoftwareKey: flags.has("--no-software-key"),
    listen: parseListen(one("--listen") ?? "127.0.0.1:8081", "--listen"),
    enclaveListen: parseListen(one("--enclave-listen") ?? "127.0.0.1:18765", "--enclave-listen"),
    adminListen,
    dataDir,
    snapshotDir: one("--snapshot-dir"),
    snapshotIntervalMs: parseDuration(one("--snapshot-interval") ?? "60s", "--snapshot-interval"),
    version: one("--version") ?? "6.0.6",
    auditLog: one("--audit-log"),
    auditStdout: flags.has("--audit-stdout"),
    sans: values.get("--san") ?? [],
    failAfter: failAfter === undefined ? undefined : Number(failAfter),
  };
}
