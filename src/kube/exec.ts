// `kubectl exec` in-process over a WebSocket (pods/NAME/exec). Offers v5.channel.k8s.io (Kubernetes >= 1.30: the API
// server translates to the node's protocol, and channel 255 can close stdin) and falls back to v4.channel.k8s.io.
// Channels: 0 stdin, 1 stdout, 2 stderr, 3 status (a metav1.Status JSON when the command ended), 255 close (v5).
// Used for backups (`tar -cf - ...` of the CAS snapshot directory) and other one-shot commands.
import { openChannelSocket } from "./channel-socket.ts";
import type { ClusterConnection } from "./config.ts";
import type { ApiStatus } from "./errors.ts";

export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;
export const DEFAULT_MAX_EXEC_OUTPUT_BYTES = 64 * 1024 * 1024;
const MAX_STDERR_BYTES = 64 * 1024;

export interface ExecOptions {
  readonly namespace: string;
  readonly pod: string;
  /** Needed when the pod has more than one container. */
  readonly container?: string;
  /** argv; not a shell line. Do not put secrets here: servers echo the command in their error messages. */
  readonly command: readonly string[];
  /** Sent to the command's stdin, which is then closed (v5) — omit for no stdin. */
  readonly stdin?: Uint8Array | string;
  /** Streamed stdout instead of collecting it in the result (large outputs such as tar archives). */
  readonly onStdout?: (chunk: Uint8Array) => void;
  /**
   * The most stdout bytes accepted (collected or streamed; default 64 MiB): a pod sending more fails the call
   * with an ExecError instead of filling this process's memory. stderr keeps its first 64 KiB.
   */
  readonly maxOutputBytes?: number;
  /** Whole-call limit (default: none); aborts the command's stream, not necessarily the command. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface ExecResult {
  /** 0 on success; the command's exit code otherwise. */
  readonly exitCode: number;
  /** Collected stdout (empty when onStdout was given). */
  readonly stdout: Uint8Array;
  readonly stderr: string;
}

/** The command could not be run, or its outcome is unknown (no status before the stream closed). */
export class ExecError extends Error {
  override name = "ExecError";
  constructor(
    message: string,
    readonly status?: ApiStatus,
  ) {
    super(message);
  }
}

/**
 * The exit code a finished command's status names, or an ExecError when the status says the command did not run.
 * A kubelet reports `reason: NonZeroExitCode` with an `ExitCode` cause; kwok's simulated kubelet reports any
 * failure as an InternalError ending in "exit status N", which is read the same way.
 */
export function exitCodeFromStatus(status: ApiStatus): number {
  if (status.status === "Success") return 0;
  if (status.reason === "NonZeroExitCode") {
    const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  const simulated = /exit status (\d+)\s*$/.exec(status.message ?? "");
  if (simulated) return Number(simulated[1]);
  throw new ExecError(`exec failed: ${status.message ?? status.reason ?? "unknown failure"}`, status);
}

/** The status channel's JSON: a metav1.Status, usually without `kind` (kubelets send only metadata and status). */
function isExecStatus(value: unknown): value is ApiStatus {
  return typeof value === "object" && value !== null && typeof (value as { status?: unknown }).status === "string";
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export async function execInPod(conn: ClusterConnection, opts: ExecOptions): Promise<ExecResult> {
  if (opts.command.length === 0) throw new ExecError("exec: command is empty; give at least the program name");
  const query: [string, string][] = [];
  if (opts.container) query.push(["container", opts.container]);
  for (const arg of opts.command) query.push(["command", arg]);
  query.push(["stdout", "true"], ["stderr", "true"]);
  if (opts.stdin !== undefined) query.push(["stdin", "true"]);
  const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(opts.pod)}/exec`;

  const stdout: Uint8Array[] = [];
  const stderr: Uint8Array[] = [];
  const maxStdout = opts.maxOutputBytes ?? DEFAULT_MAX_EXEC_OUTPUT_BYTES;
  let stdoutBytes = 0;
  let stderrBytes = 0;
  let overflow = false;
  // Set once the socket is open (frames only arrive after that).
  let closeSocket: () => void = () => {};
  let statusText = "";
  let settle: (outcome: { code: number; reason: string }) => void = () => {};
  const ended = new Promise<{ code: number; reason: string }>((resolve) => {
    settle = resolve;
  });
  const signals = [opts.signal, opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;

  const ws = await openChannelSocket(
    conn,
    { path, query, protocols: [...EXEC_PROTOCOLS], signal },
    {
      onFrame(channel, data) {
        if (overflow) return;
        if (channel === STDOUT) {
          stdoutBytes += data.byteLength;
          if (stdoutBytes > maxStdout) {
            // Stop reading at once: the pod decides how much it sends, this process how much it holds.
            overflow = true;
            stdout.length = 0;
            closeSocket();
            return;
          }
          if (opts.onStdout) opts.onStdout(new Uint8Array(data));
          else stdout.push(new Uint8Array(data));
        } else if (channel === STDERR) {
          const room = MAX_STDERR_BYTES - stderrBytes;
          if (room > 0) stderr.push(new Uint8Array(data).subarray(0, room));
          stderrBytes += data.byteLength;
        } else if (channel === STATUS && statusText.length < MAX_STDERR_BYTES) {
          statusText += new TextDecoder().decode(data);
        }
      },
      onClose(code, reason) {
        settle({ code, reason });
      },
    },
  );
  closeSocket = () => ws.close(1000);
  if (overflow) closeSocket();
  const onAbort = () => ws.close(1000);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (opts.stdin !== undefined) {
      const bytes = typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin;
      const CHUNK = 32 * 1024;
      for (let at = 0; at < bytes.length; at += CHUNK) ws.send(STDIN, bytes.subarray(at, at + CHUNK));
      // v4 cannot signal the end of stdin; the command sees it when the stream closes.
      if (ws.protocol === "v5.channel.k8s.io") ws.send(CLOSE, new Uint8Array([STDIN]));
    }
    const closed = await ended;
    if (overflow) {
      throw new ExecError(
        `exec: ${opts.command[0]} in ${opts.namespace}/${opts.pod} wrote more than ${maxStdout} bytes to stdout; output refused`,
      );
    }
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new ExecError("exec aborted");
    let status: unknown;
    try {
      status = statusText === "" ? undefined : JSON.parse(statusText);
    } catch {
      throw new ExecError(`exec: the status channel held no JSON (${statusText.slice(0, 200)})`);
    }
    if (!isExecStatus(status)) {
      throw new ExecError(
        `exec: the stream closed (${closed.code}${closed.reason ? ` ${closed.reason}` : ""}) before the command reported its status`,
      );
    }
    return {
      exitCode: exitCodeFromStatus(status),
      stdout: concat(stdout),
      stderr: new TextDecoder().decode(concat(stderr)),
    };
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
