// Verifies an image's cosign signatures against the registry: resolve the tag to the manifest digest, fetch the
// signature manifest at sha256-<hex>.sig, and accept the image when at least one layer's payload is signed by the key
// and names that digest and an accepted repository. Refusals name the image and the key and say why.

import { PayloadError, parsePayload, payloadMismatch } from "./payload.ts";
import type { SignatureKey } from "./public-key.ts";
import { type ImageRef, parseImageRef, repositoryName, signatureTag } from "./reference.ts";
import { type RegistryClient, RegistryError } from "./registry.ts";
import { parseSignatureManifest, SignatureManifestError } from "./signature-manifest.ts";

export interface VerifiedImage {
  readonly image: string;
  /** The manifest digest the signature vouches for (what a pull of this reference gets now). */
  readonly digest: string;
  readonly key: string;
}

/** An image is unsigned, wrongly signed, or could not be checked; the message names the image and the key. */
export class ImageSignatureError extends Error {
  override name = "ImageSignatureError";
  constructor(
    readonly image: string,
    readonly key: string,
    why: string,
  ) {
    super(`image ${image} is refused: ${why} (key: ${key})`);
  }
}

export interface VerifyRequest {
  readonly image: string;
  readonly key: SignatureKey;
  /** The registry client for the image's registry host. */
  readonly client: (ref: ImageRef) => RegistryClient;
  /**
   * Repositories a signature may name besides the image's own: the upstream repository of a mirrored image
   * (its signature, carried with it, names where it was signed).
   */
  readonly alsoAccept?: readonly string[];
}

export async function verifyImageSignature(req: VerifyRequest): Promise<VerifiedImage> {
  const { image, key } = req;
  const refuse = (why: string) => new ImageSignatureError(image, key.name, why);
  let ref: ImageRef;
  try {
    ref = parseImageRef(image);
  } catch (e) {
    throw refuse(e instanceof Error ? e.message : String(e));
  }
  const client = req.client(ref);
  try {
    const manifest = await client.manifest(ref.repository, ref.digest ?? ref.tag ?? "latest");
    if (!manifest) throw refuse("the registry has no such image");
    const digest = manifest.digest;
    const sigManifest = await client.manifest(ref.repository, signatureTag(digest));
    if (!sigManifest) throw refuse(`it is not signed: the registry has no signature (${signatureTag(digest)})`);
    const layers = parseSignatureManifest(sigManifest.bytes);
    if (layers.length === 0) throw refuse(`it is not signed: ${signatureTag(digest)} holds no cosign signature`);
    const accepted = [repositoryName(ref), ...(req.alsoAccept ?? [])];
    const reasons: string[] = [];
    for (const layer of layers) {
      const payloadBytes = await client.blob(ref.repository, layer.digest, layer.size);
      // The signature first: nothing in an unverified payload is believed, not even enough to explain a mismatch.
      if (!key.verify(payloadBytes, layer.signature)) {
        reasons.push("a signature not made by this key");
        continue;
      }
      try {
        const why = payloadMismatch(parsePayload(payloadBytes), digest, accepted);
        if (why === undefined) return { image, digest, key: key.name };
        reasons.push(`a signature by this key that does not fit: ${why}`);
      } catch (e) {
        if (!(e instanceof PayloadError)) throw e;
        reasons.push(`a signature by this key over a malformed payload: ${e.message}`);
      }
    }
    throw refuse(`no valid signature by this key; found ${summarize(reasons)}`);
  } catch (e) {
    if (e instanceof ImageSignatureError) throw e;
    if (e instanceof RegistryError || e instanceof SignatureManifestError || e instanceof PayloadError)
      throw refuse(`its signature could not be checked: ${e.message}`);
    throw e;
  }
}

function summarize(reasons: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => (n > 1 ? `${n}× ${r}` : r)).join("; ");
}
