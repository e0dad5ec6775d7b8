// Starting the CAS simulator as a child process from tests and the demo: free loopback ports, then the facts the
// console prints (key hash, provisioning token, ports), parsed the way SCONE's tooling parses them (last field).
import { join } from "node:path";
import type { Subprocess } from "bun";

const MAIN = join(import.meta.dir, "main.ts");

export interface LaunchOptions {
  readonly dataDir: string;
  readonly snapshotDir?: string;
  readonly snapshotInterval?: string;
  readonly auditLog?: string;
  readonly version?: string;
  readonly extraArgs?: readonly string[];
  /** How long to wait for the "listening" lines (default 60 s: key generation on a busy machine). */
  readonly startTimeoutMs?: number;
}

export interface RunningSimulator {
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** `https://127.0.0.1:PORT` of the client API. */
  readonly url: string;
  readonly enclaveUrl: string;
  readonly adminUrl: string;
  readonly casKeyHash: string;
  /** Empty for a simulator started with --no-software-key. */
  readonly softwareKeyHash: string;
  readonly sessionEncryptionKey: string;
  /** Undefined when the CAS was already provisioned. */
  readonly provisioningToken: string | undefined;
  /** Every stdout line so far (audit entries too with --audit-stdout). */
  readonly output: string[];
  admin(action: "pause" | "resume" | "crash"): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number>;
}

/** The value of the first line containing `label`: its last whitespace-separated field. */
export function consoleValue(lines: readonly string[], label: string): string | undefined {
  const line = lines.find((l) => l.includes(label));
  return line?.trim().split(/\s+/).at(-1);
}

export async function launchSimulator(opts: LaunchOptions): Promise<RunningSimulator> {
  const args = [
    MAIN,
    "--listen",
    "127.0.0.1:0",
    "--enclave-listen",
    "127.0.0.1:0",
    "--admin-listen",
    "127.0.0.1:0",
    "--data-dir",
    opts.dataDir,
    "--version",
    opts.version ?? "6.0.6",
    ...(opts.snapshotDir ? ["--snapshot-dir", opts.snapshotDir] : []),
    ...(opts.snapshotInterval ? ["--snapshot-interval", opts.snapshotInterval] : []),
    ...(opts.auditLog ? ["--audit-log", opts.auditLog] : []),
    ...(opts.extraArgs ?? []),
  ];
  const child = Bun.spawn([process.execPath, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const output: string[] = [];
  let stderr = "";
  void (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  void (async () => {
    let partial = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      partial += chunk;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      output.push(...lines);
      if (lines.some((l) => l.includes("CAS simulator admin listening on"))) resolveReady();
    }
  })();
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  // A timer, not Bun.sleep: cleared once decided, so it does not keep a finished caller (a bench) alive.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    ready.then(() => "ready" as const),
    child.exited.then(() => "exited" as const),
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (outcome !== "ready") {
    child.kill("SIGKILL");
    throw new Error(`CAS simulator did not start (${outcome}): ${stderr.trim() || output.join("\n")}`);
  }
  const field = (label: string): string => {
    const value = consoleValue(output, label);
    if (!value) throw new Error(`CAS simulator printed no "${label}" line`);
    return value;
  };
  const adminUrl = `http://${field("CAS simulator admin listening on")}`;
  return {
    process: child,
    url: `https://${field("CAS client API listening on")}`,
    enclaveUrl: `http://${field("CAS enclave API listening on")}`,
    adminUrl,
    casKeyHash: field("CAS key hash"),
    softwareKeyHash: consoleValue(output, "CAS software key hash") ?? "",
    sessionEncryptionKey: field("CAS session encryption key"),
    provisioningToken: consoleValue(output, "CAS provisioning token"),
    output,
    async admin(action) {
      const response = await fetch(`${adminUrl}/sim/${action}`, { method: "POST" });
      if (!response.ok) throw new Error(`simulator admin ${action}: ${response.status}`);
    },
    async stop() {
      child.kill("SIGTERM");
      return child.exited;
    },
  };
}
