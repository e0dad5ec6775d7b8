// How the stand-in CLI reaches a simulated CAS (sim/cas) at host:port: HTTPS, the caller authenticated by its
// identity's client certificate. Before attestation nothing is trusted (the report's signature and key hash are what
// the CLI checks); afterwards every connection must chain to the CA the attested report named. The routes are
// sim/cas's (its README "Stand-in CLI routes"): SCONE keeps its own CLI↔CAS protocol to itself.
import type { SignedReport } from "../cas/report.ts";
import { CliFailure } from "./failure.ts";

/** host or host:port → https URL (the CAS client port 8081 when none is given, CLI §8). */
export function casUrl(address: string): string {
  return /:\d+$/.test(address) ? `https://${address}` : `https://${address}:8081`;
}

export interface Connection {
  readonly address: string;
  /** The pinned CA (attested) — absent only for the report fetch itself. */
  readonly chain?: string;
  readonly identity?: { readonly key: string; readonly cert: string };
  readonly retries: number;
}

export interface CasAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

const TIMEOUT_MS = 30_000;

export function retriesOf(env: Readonly<Record<string, string | undefined>>, flag?: string): number {
  const raw = flag ?? env.SCONE_CLI_RETRIES ?? "3";
  if (!/^\d{1,4}$/.test(raw)) throw new CliFailure(`error: invalid value '${raw}' for retries: expected a count`, 2);
  return Number(raw);
}

/** One request; network failures are retried `retries` times (SCONE-CLI §2), CAS answers never. */
export async function request(
  conn: Connection,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: string,
): Promise<CasAnswer> {
  const url = `${casUrl(conn.address)}${path}`;
  let lastError = "";
  for (let attempt = 0; attempt <= conn.retries; attempt++) {
    if (attempt > 0) await Bun.sleep(Math.min(2000, 150 * 2 ** attempt));
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        ...(body !== undefined ? { body, headers: { "content-type": "application/octet-stream" } } : {}),
        tls: {
          // The pinned CA decides; the name does not (a CAS is reached by Service name, pod IP or a forwarded
          // loopback port, and attestation, not DNS, says which CAS this is).
          ...(conn.chain ? { ca: conn.chain, rejectUnauthorized: true } : { rejectUnauthorized: false }),
          checkServerIdentity: () => undefined,
          ...(conn.identity ? { cert: conn.identity.cert, key: conn.identity.key } : {}),
        },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      if (/certificate|self.signed|unable to verify|UNABLE_TO_VERIFY/i.test(lastError)) {
        throw new CliFailure(
          `error: CAS at ${conn.address} does not present the attested TLS identity (${lastError}); attest it again`,
        );
      }
      continue;
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed, text };
  }
  throw new CliFailure(
    `error: cannot connect to CAS at ${conn.address} (${conn.retries + 1} attempt(s)): ${lastError || "no answer"}`,
  );
}

/** The CAS's words from an error answer (`{"msg": [...]}`), or the raw text. */
export function casMessage(answer: CasAnswer): string {
  const msg = (answer.body as { msg?: unknown } | undefined)?.msg;
  if (Array.isArray(msg)) return msg.map(String).join("; ");
  return answer.text.slice(0, 500) || `HTTP ${answer.status}`;
}

export function refused(address: string, answer: CasAnswer): CliFailure {
  return new CliFailure(`error: CAS at ${address} refused (HTTP ${answer.status}): ${casMessage(answer)}`);
}

/** `GET /v1/attest?nonce=` — the report, unverified. */
export async function fetchReport(conn: Connection, nonce: string): Promise<SignedReport> {
  const answer = await request(conn, "GET", `/v1/attest?nonce=${nonce}`);
  if (answer.status !== 200) throw refused(conn.address, answer);
  const body = answer.body as Partial<SignedReport> | undefined;
  if (!body || typeof body.report !== "object" || typeof body.signature !== "string") {
    throw new CliFailure(`error: CAS at ${conn.address} answered no attestation report`);
  }
  return body as SignedReport;
}
