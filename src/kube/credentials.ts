// Where the bearer token (or exec-provided client certificate) comes from. A provider caches what it got and
// is told to forget it when the API server answers 401, so rotated tokens are picked up (as client-go does).
import { readFile } from "node:fs/promises";

export interface Credential {
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

export interface CredentialProvider {
  /** What to authenticate the next request with. */
  get(): Promise<Credential>;
  /** Called after a 401: drop the cached credential so the next get() fetches a fresh one. */
  invalidate(): void;
}

export function staticToken(token: string): CredentialProvider {
  return {
    get: async () => ({ token }),
    invalidate() {},
  };
}

/**
 * A token read from a file that may be rotated under us (projected service-account tokens are replaced by the
 * kubelet). Re-read when the cached copy is older than `maxAgeMs` (client-go: 1 minute) or after a 401.
 */
export function tokenFile(path: string, options: { maxAgeMs?: number; now?: () => number } = {}): CredentialProvider {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const now = options.now ?? Date.now;
  let cached: { token: string; readAt: number } | undefined;
  return {
    async get() {
      if (cached && now() - cached.readAt < maxAgeMs) return { token: cached.token };
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        // Keep serving the last token if the file is briefly missing mid-rotation.
        if (cached) return { token: cached.token };
        throw new Error(`cannot read token file ${path}: ${(err as Error).message}`);
      }
      const token = text.trim();
      if (token === "") throw new Error(`token file ${path} is empty`);
      cached = { token, readAt: now() };
      return { token };
    },
    invalidate() {
      cached = undefined;
    },
  };
}

// ---- exec credential plugins (client.authentication.k8s.io/v1 and v1beta1) ----

export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  interactiveMode: "Never" | "IfAvailable" | "Always";
  provideClusterInfo: boolean;
  installHint?: string;
}

export interface ExecClusterInfo {
  server: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
}

const EXEC_API_VERSIONS = new Set(["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]);

/** An exec plugin's output that is not a usable ExecCredential. */
export class ExecCredentialError extends Error {
  override readonly name = "ExecCredentialError";
}

/** The ExecCredential the plugin printed, validated. Pure, for tests. */
export function parseExecCredential(
  stdout: string,
  expectedApiVersion: string,
): { credential: Credential; expiresAt?: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new ExecCredentialError("exec plugin did not print a JSON ExecCredential on stdout");
  }
  if (typeof parsed !== "object" || parsed === null)
    throw new ExecCredentialError("exec plugin output is not an object");
  const obj = parsed as { apiVersion?: unknown; kind?: unknown; status?: unknown };
  if (obj.kind !== "ExecCredential")
    throw new ExecCredentialError(`exec plugin output has kind ${String(obj.kind)}, want ExecCredential`);
  if (obj.apiVersion !== expectedApiVersion) {
    throw new ExecCredentialError(
      `exec plugin answered apiVersion ${String(obj.apiVersion)}, the kubeconfig asked for ${expectedApiVersion}`,
    );
  }
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const credential: Credential = {};
  if (typeof status.token === "string" && status.token !== "") credential.token = status.token;
  const cert = status.clientCertificateData;
  const key = status.clientKeyData;
  if (typeof cert === "string" && cert !== "") credential.clientCertPem = cert;
  if (typeof key === "string" && key !== "") credential.clientKeyPem = key;
  if (!credential.token && !(credential.clientCertPem && credential.clientKeyPem)) {
    throw new ExecCredentialError(
      "exec plugin ExecCredential has neither status.token nor clientCertificateData+clientKeyData",
    );
  }
  if (Boolean(credential.clientCertPem) !== Boolean(credential.clientKeyPem)) {
    throw new ExecCredentialError(
      "exec plugin ExecCredential must set both clientCertificateData and clientKeyData, or neither",
    );
  }
  const exp = status.expirationTimestamp;
  if (typeof exp === "string" && exp !== "") {
    const expiresAt = Date.parse(exp);
    if (Number.isNaN(expiresAt))
      throw new ExecCredentialError(`exec plugin expirationTimestamp ${exp} is not an RFC 3339 time`);
    return { credential, expiresAt };
  }
  return { credential };
}

/**
 * Variables of scone's own environment a plugin never sees: they hand secrets or settings to scone alone, and
 * neither kubectl nor any credential plugin reads them. SCONE_* is scone's namespace (log level, state dir, CLI
 * config, …; any future SCONE_*_TOKEN included); DCAP_KEY is the Intel DCAP API key the kubectl-provision
 * personality takes from the environment. AWS_* (S3 backups) and everything else pass, as under kubectl: the
 * same user environment is what `aws eks get-token` and other plugins authenticate with.
 */
export function isSconeOnlyVariable(name: string): boolean {
  return name.toUpperCase().startsWith("SCONE_") || name.toUpperCase() === "DCAP_KEY";
}

/**
 * The plugin's environment, as kubectl builds it: the caller's environment (less scone's own variables), then the
 * kubeconfig's `env` list (which may set any name, SCONE_* too: the kubeconfig's author chose it), then
 * KUBERNETES_EXEC_INFO. Pure, for tests.
 */
export function execPluginEnv(
  parent: Readonly<Record<string, string | undefined>>,
  configured: readonly { name: string; value: string }[],
  info: unknown,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && !isSconeOnlyVariable(k)) env[k] = v;
  for (const { name, value } of configured) env[name] = value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify(info);
  return env;
}

/**
 * Runs a kubeconfig `exec` plugin and caches its credential until expirationTimestamp (or until a 401).
 * The plugin sees the environment execPluginEnv builds (ours less scone's own variables, its configured env and
 * KUBERNETES_EXEC_INFO describing the request).
 */
export function execCredential(
  exec: ExecConfig,
  cluster: ExecClusterInfo,
  options: { now?: () => number; stdinIsTTY?: boolean } = {},
): CredentialProvider {
  if (!EXEC_API_VERSIONS.has(exec.apiVersion)) {
    throw new Error(
      `exec plugin apiVersion ${exec.apiVersion} is not supported; use client.authentication.k8s.io/v1 or v1beta1`,
    );
  }
  const now = options.now ?? Date.now;
  const interactive = exec.interactiveMode !== "Never" && (options.stdinIsTTY ?? process.stdin.isTTY === true);
  let cached: { credential: Credential; expiresAt?: number } | undefined;
  let inflight: Promise<Credential> | undefined;

  async function run(): Promise<Credential> {
    if (exec.interactiveMode === "Always" && !interactive) {
      throw new Error(`exec plugin ${exec.command} needs an interactive terminal (interactiveMode: Always)`);
    }
    const spec: Record<string, unknown> = { interactive };
    if (exec.provideClusterInfo) spec.cluster = cluster;
    const info = { apiVersion: exec.apiVersion, kind: "ExecCredential", spec };
    const env = execPluginEnv(process.env, exec.env, info);
    let proc: ReturnType<typeof Bun.spawn<"inherit" | "ignore", "pipe", "pipe">>;
    try {
      proc = Bun.spawn([exec.command, ...exec.args], {
        env,
        stdin: interactive ? "inherit" : "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
    } catch (err) {
      const hint = exec.installHint ? `\n${exec.installHint}` : "";
      throw new Error(`cannot run exec plugin ${exec.command}: ${(err as Error).message}${hint}`);
    }
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) {
      // The plugin's stderr is its own diagnostics; its stdout may hold a token, so it is never echoed.
      throw new Error(`exec plugin ${exec.command} exited with ${code}: ${stderr.trim().slice(0, 500)}`);
    }
    const result = parseExecCredential(stdout, exec.apiVersion);
    cached = result;
    return result.credential;
  }

  return {
    async get() {
      if (cached && (cached.expiresAt === undefined || cached.expiresAt > now())) return cached.credential;
      // One plugin run at a time even when many requests need a token at once.
      inflight ??= run().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
