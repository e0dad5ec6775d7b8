// Routes of the simulated CAS client API (port 8081). Documented paths (SCONE-INTERFACE §12.1) are marked [V];
// paths SCONE does not document are marked [inferred] and listed in sim/cas/README.md.
import { type Caller, type CasCore, fail } from "./core.ts";
import type { HttpRequest, HttpResponse } from "./http.ts";
import { keyHashOfSpki } from "./principals.ts";
import { NONCE_PATTERN } from "./report.ts";

const decoder = new TextDecoder();

function jsonBody(request: HttpRequest): unknown {
  try {
    return JSON.parse(decoder.decode(request.body));
  } catch {
    return undefined;
  }
}

/** `session=NAME,secret=SECRET` (the documented /v1/values addressing). */
export function parseValuesSelector(selector: string): { session: string; secret: string | undefined } | undefined {
  const fields = new Map<string, string>();
  for (const part of selector.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const session = fields.get("session");
  if (!session || [...fields.keys()].some((k) => k !== "session" && k !== "secret")) return undefined;
  return { session, secret: fields.get("secret") };
}

function isEncryptedUpload(body: unknown): body is { encrypted_session: unknown; encryption_key: unknown } {
  return typeof body === "object" && body !== null && "encrypted_session" in body;
}

export function createRouter(core: CasCore): (request: HttpRequest) => Promise<HttpResponse> {
  return async (request) => {
    const caller: Caller = { keyHash: request.clientSpki ? keyHashOfSpki(request.clientSpki) : undefined };
    const { method, path } = request;

    // [V] public values; HEAD on a secret that is not public answers 405 (Exercise5 solution.sh).
    if (path.startsWith("/v1/values/")) {
      const selector = parseValuesSelector(path.slice("/v1/values/".length));
      if (method === "HEAD") {
        return selector?.secret !== undefined && core.isPublicSecret(selector.session, selector.secret)
          ? { status: 200 }
          : fail(405, "HEAD is only allowed on public secrets");
      }
      if (method !== "GET") return fail(405, `${method} not allowed on /v1/values`);
      if (!selector) return fail(400, "expected /v1/values/session=NAME or /v1/values/session=NAME,secret=SECRET");
      return core.publicValues(selector.session, selector.secret);
    }

    // [V] read a session (client certificate = identity); ?hash= selects an older version.
    if (path.startsWith("/v1/sessions/") && method === "GET") {
      return core.readSession(caller, path.slice("/v1/sessions/".length), request.query.get("hash"));
    }
    // [inferred] create or update (predecessor decides); body = session YAML or signed JSON.
    if (path === "/v1/sessions") {
      if (method !== "POST") return fail(405, "use POST /v1/sessions to create or update a session");
      return core.submitSession(caller, decoder.decode(request.body), "plain");
    }
    // [V path, inferred body] encrypted session upload.
    if (path === "/v1/encrypted_sessions") {
      if (method !== "PUT") return fail(405, "use PUT /v1/encrypted_sessions");
      return core.uploadEncrypted(caller, jsonBody(request));
    }
    if (path === "/v1/version" && method === "GET") return { status: 200, body: { version: core.version } }; // [V]
    // [V path, inferred parameters and body] attestation report bound to the caller's nonce.
    if (path === "/v1/attest" && method === "GET") {
      const nonce = request.query.get("nonce") ?? "";
      if (!NONCE_PATTERN.test(nonce)) return fail(400, "nonce: expected 32 hex characters");
      return { status: 200, body: await core.report(nonce) };
    }
    if (path === "/v1/provision" && method === "POST") return core.provision(caller, jsonBody(request)); // [inferred]
    if (path === "/v1/owner/config" && method === "PUT") return core.updateOwnerConfig(caller, jsonBody(request)); // [inferred]
    if (path === "/v1/owner/backups" && method === "POST") return core.registerBackup(caller, jsonBody(request)); // [inferred]
    // [sim-private] what only the stand-in SCONE CLI (sim/scone-cli) calls: SCONE keeps its CLI↔CAS protocol to
    // itself, so this pair speaks its own (sim/cas/README.md "Stand-in CLI routes").
    if (path === "/_cli/v1/sessions" && method === "POST") {
      const mode = request.query.get("mode");
      if (mode !== "create" && mode !== "update") return fail(400, "mode: expected create or update");
      const text = decoder.decode(request.body);
      const body = text.trimStart().startsWith("{") ? jsonBody(request) : undefined;
      if (isEncryptedUpload(body)) return core.uploadEncrypted(caller, body, mode);
      return core.submitSession(caller, text, "plain", mode);
    }
    if (path === "/_cli/v1/session-names" && method === "GET") {
      return core.listSessions(caller, request.query.get("path") ?? "");
    }
    if (path === "/_cli/v1/audit-log" && method === "GET") {
      const number = (name: string): number | undefined => {
        const v = request.query.get(name);
        return v !== null && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
      };
      return core.auditState(caller, { at: number("at"), min: number("min"), max: number("max") });
    }
    if (path === "/healthz" && method === "GET") {
      // [inferred] liveness for probes that cannot run attested CLI commands
      return { status: 200, body: core.health() };
    }
    return fail(404, `no route ${method} ${path}`);
  };
}
