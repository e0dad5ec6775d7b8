// The signature manifest cosign pushes at tag sha256-<hex>.sig: one layer per signature, the layer blob is the
// simple-signing payload and its `dev.cosignproject.cosign/signature` annotation the base64 signature. Parsed
// with bounds (counts, sizes) because the registry is not trusted.

import { MAX_PAYLOAD_BYTES } from "./payload.ts";
import { MAX_SIGNATURE_BYTES } from "./public-key.ts";
import { DIGEST } from "./reference.ts";

export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** More signatures than this on one image is not something to download and check one by one. */
export const MAX_SIGNATURE_LAYERS = 64;

export interface SignatureLayer {
  /** Digest of the payload blob. */
  readonly digest: string;
  readonly size: number;
  /** The decoded signature bytes. */
  readonly signature: Uint8Array;
}

/** A signature manifest that is not cosign's; the message says what is wrong. */
export class SignatureManifestError extends Error {
  override name = "SignatureManifestError";
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The signature layers of a signature manifest (pure). Layers of other media types are skipped (attachments). */
export function parseSignatureManifest(bytes: Uint8Array): SignatureLayer[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new SignatureManifestError("the signature manifest is not UTF-8 JSON");
  }
  const layers = (doc as { layers?: unknown } | null)?.layers;
  if (!Array.isArray(layers)) throw new SignatureManifestError("the signature manifest has no layers list");
  if (layers.length > MAX_SIGNATURE_LAYERS)
    throw new SignatureManifestError(
      `the signature manifest has ${layers.length} layers, more than ${MAX_SIGNATURE_LAYERS}`,
    );
  const out: SignatureLayer[] = [];
  for (const [i, layer] of layers.entries()) {
    if (layer === null || typeof layer !== "object") throw new SignatureManifestError(`layer ${i} is not an object`);
    const l = layer as { mediaType?: unknown; digest?: unknown; size?: unknown; annotations?: unknown };
    if (l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    if (typeof l.digest !== "string" || !DIGEST.test(l.digest))
      throw new SignatureManifestError(`layer ${i}: digest must be sha256: and 64 lower-case hex digits`);
    if (typeof l.size !== "number" || !Number.isSafeInteger(l.size) || l.size < 0 || l.size > MAX_PAYLOAD_BYTES)
      throw new SignatureManifestError(`layer ${i}: size must be a whole number from 0 to ${MAX_PAYLOAD_BYTES}`);
    const annotations = l.annotations;
    const encoded =
      annotations !== null && typeof annotations === "object"
        ? (annotations as Record<string, unknown>)[SIGNATURE_ANNOTATION]
        : undefined;
    if (typeof encoded !== "string" || encoded.length > MAX_SIGNATURE_BYTES * 2 || !BASE64.test(encoded))
      throw new SignatureManifestError(
        `layer ${i}: annotation ${SIGNATURE_ANNOTATION} must be base64 of at most ${MAX_SIGNATURE_BYTES} bytes`,
      );
    out.push({ digest: l.digest, size: l.size, signature: Buffer.from(encoded, "base64") });
  }
  return out;
}
