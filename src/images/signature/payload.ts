// The cosign "simple signing" payload: the JSON document a cosign signature signs. Only `critical` binds; the
// payload is parsed with bounds (size, depth through JSON.parse of a capped text) and checked field by field, since
// it comes from the registry, not from anyone trusted, until its signature has been verified.

import { canonicalRepository, DIGEST, ImageReferenceError } from "./reference.ts";

/** A payload larger than this is not a cosign signature payload (they are a few hundred bytes). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";

export interface SimpleSigningPayload {
  /** critical.identity.docker-reference: the repository the signer named. */
  readonly dockerReference: string;
  /** critical.image.docker-manifest-digest: the manifest digest that is signed. */
  readonly manifestDigest: string;
}

/** A payload that is not a well-formed cosign payload; the message says which field. */
export class PayloadError extends Error {
  override name = "PayloadError";
}

function field(obj: unknown, key: string, where: string): unknown {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj))
    throw new PayloadError(`${where} is not a JSON object`);
  return (obj as Record<string, unknown>)[key];
}

function stringField(obj: unknown, key: string, where: string, max = 1024): string {
  const v = field(obj, key, where);
  if (typeof v !== "string" || v.length === 0 || v.length > max)
    throw new PayloadError(`${where}.${key} must be a string of 1 to ${max} characters`);
  return v;
}

/** Parses the payload bytes (a layer blob of the signature manifest). Throws PayloadError. */
export function parsePayload(bytes: Uint8Array): SimpleSigningPayload {
  if (bytes.byteLength > MAX_PAYLOAD_BYTES)
    throw new PayloadError(`the payload has ${bytes.byteLength} bytes, more than ${MAX_PAYLOAD_BYTES}`);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new PayloadError(`the payload is not UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const critical = field(doc, "critical", "payload");
  const type = stringField(critical, "type", "critical");
  if (type !== COSIGN_SIGNATURE_TYPE)
    throw new PayloadError(`critical.type is "${type.slice(0, 100)}", not "${COSIGN_SIGNATURE_TYPE}"`);
  const dockerReference = stringField(field(critical, "identity", "critical"), "docker-reference", "critical.identity");
  const manifestDigest = stringField(field(critical, "image", "critical"), "docker-manifest-digest", "critical.image");
  if (!DIGEST.test(manifestDigest))
    throw new PayloadError("critical.image.docker-manifest-digest must be sha256: and 64 lower-case hex digits");
  return { dockerReference, manifestDigest };
}

/**
 * Why a verified payload does not vouch for this image (pure), or undefined when it does: the signed digest must be
 * the image's digest, and the signed repository one of `acceptedRepositories` (the image's own; a mirror passes the
 * repository the signature was carried from).
 */
export function payloadMismatch(
  payload: SimpleSigningPayload,
  digest: string,
  acceptedRepositories: readonly string[],
): string | undefined {
  if (payload.manifestDigest !== digest) return `it signs ${payload.manifestDigest}, not the image's digest ${digest}`;
  let signed: string;
  try {
    signed = canonicalRepository(payload.dockerReference);
  } catch (e) {
    if (e instanceof ImageReferenceError) return `its docker-reference is not an image reference (${e.message})`;
    throw e;
  }
  const accepted = acceptedRepositories.map(canonicalRepository);
  if (!accepted.includes(signed)) return `it names the repository ${signed}, not ${accepted.join(" or ")}`;
  return undefined;
}
