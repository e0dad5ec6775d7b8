// The HTTP side of the admission webhooks, without TLS: route by path, refuse what is not an AdmissionReview
// (400), cap the body, and turn a handler failure into a refusal the user can read instead of a hung request.
import type { Logger } from "../../log.ts";
import { type AdmissionReview, deny, parseAdmissionReview } from "./admission.ts";
import { endpointForPath, type WebhookEndpoint } from "./endpoints.ts";

/**
 * Largest body accepted. A review holds the object and the old object, each at most ~1.5 MiB in etcd;
 * controller-runtime caps at 7 MiB as well.
 */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export type AdmissionHandler = (endpoint: WebhookEndpoint, review: AdmissionReview) => Promise<AdmissionReview>;

const text = (status: number, body: string): Response =>
  new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

/** Reads at most `limit` bytes of the body; undefined when it is larger. */
async function readCapped(req: Request, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) return undefined;
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function webhookFetchHandler(opts: {
  handle: AdmissionHandler;
  log: Logger;
  maxBodyBytes?: number;
}): (req: Request) => Promise<Response> {
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  return async (req) => {
    const { pathname } = new URL(req.url);
    const endpoint = endpointForPath(pathname);
    if (!endpoint) return text(404, `no admission webhook at ${pathname}`);
    if (req.method !== "POST") return new Response("use POST\n", { status: 405, headers: { allow: "POST" } });
    const contentType = req.headers.get("content-type") ?? "";
    if (!/^application\/json\b/i.test(contentType)) {
      return text(400, `content-type must be application/json, got "${contentType}"`);
    }
    const body = await readCapped(req, limit);
    if (body === undefined) return text(413, `request body larger than ${limit} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return text(400, "request body is not valid JSON");
    }
    const parsed = parseAdmissionReview(json);
    if (!parsed.ok) return text(400, `not an AdmissionReview: ${parsed.error}`);
    let answer: AdmissionReview;
    try {
      answer = await opts.handle(endpoint, parsed.review);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      opts.log.error("admission webhook failed", { path: pathname, uid: parsed.review.request.uid, error: message });
      answer = deny(parsed.review, `the scone operator could not decide: ${message}`, 500, "InternalError");
    }
    const r = parsed.review.request;
    opts.log.debug("admission", {
      path: pathname,
      operation: r.operation,
      name: r.name ?? "",
      allowed: answer.response?.allowed ?? false,
    });
    return Response.json(answer);
  };
}
