// `GET /v1/values/session=NAME`: the public (`export_public: true`) secrets of a session — the one REST read of a CAS
// scone makes, documented [V] in SCONE-INTERFACE §12.1 (sconedocs flask/node examples; kubectl-provision 6.0.0 reads
// VAULT_CA this way, §10.5). No identity is sent. The server must chain to the CA the SCONE CLI pinned when it
// attested the CAS: the `chain` of its `cas_db` entry in the CLI config (CLI §7 [docs: cas-backup-controller]).
import { parseValuesAnswer, type SecretValue } from "./answers.ts";

const TIMEOUT_MS = 20_000;

/** The CA the CLI pinned for `address` in its config (CLI §7 `cas_db.<address>.chain`); throws naming what is missing. */
export function pinnedChain(configText: string, address: string, configPath: string): string {
  let config: unknown;
  try {
    config = JSON.parse(configText);
  } catch {
    throw new Error(`${configPath} is not JSON (a SCONE CLI config)`);
  }
  const db = (config as { cas_db?: unknown } | null)?.cas_db;
  const entry = db && typeof db === "object" ? (db as Record<string, unknown>)[address] : undefined;
  const chain = entry && typeof entry === "object" ? (entry as { chain?: unknown }).chain : undefined;
  if (typeof chain !== "string" || !chain.includes("BEGIN CERTIFICATE"))
    throw new Error(`${configPath} holds no pinned CAS certificate chain for ${address} (cas_db.${address}.chain)`);
  return chain;
}

export interface PublicValuesRequest {
  /** Where the client port answers, e.g. `https://127.0.0.1:PORT` of a port-forward. */
  readonly baseUrl: string;
  /** The name the CAS certificate is checked against (upstream's owner config lists `localhost`, §10.2 step 9). */
  readonly serverName: string;
  readonly chainPem: string;
  readonly session: string;
  readonly timeoutMs?: number;
}

export async function readPublicValues(r: PublicValuesRequest): Promise<Record<string, SecretValue>> {
  const what = `public values of session ${r.session}`;
  const url = `${r.baseUrl}/v1/values/session=${encodeURIComponent(r.session)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: "application/json" },
      tls: { ca: r.chainPem, rejectUnauthorized: true, serverName: r.serverName },
      signal: AbortSignal.timeout(r.timeoutMs ?? TIMEOUT_MS),
    });
  } catch (err) {
    throw new Error(`${what}: CAS unreachable (${err instanceof Error ? err.message : String(err)})`);
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: CAS answered ${response.status} ${text.slice(0, 500)}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${what}: the answer is not JSON`);
  }
  return parseValuesAnswer(body, what);
}
