// `scone operator install --pin-digests`: every image the install deploys referenced by its manifest digest, so
// the cluster runs exactly what was carried into the mirror. The digests the signature check verified are used
// as they are (what was verified is what is pinned); only images it did not check are resolved at the registry.

import { dockerConfigCredentials, type RegistryCredentials } from "../signature/credentials.ts";
import { parseImageRef } from "../signature/reference.ts";
import { RegistryClient } from "../signature/registry.ts";
import type { VerifiedImage } from "../signature/verify.ts";

export interface PinInput {
  /** The operator image the install deploys; undefined with --local-operator (nothing to pin). */
  readonly operatorImage: string | undefined;
  readonly services: readonly { readonly component: string; readonly image: string }[];
  /** Digests the signature check verified, by image reference. */
  readonly verified: readonly VerifiedImage[];
  readonly credentials?: { readonly registry: string } & RegistryCredentials;
  readonly ca?: string;
}

export interface Pinned {
  /** image@digest (tag kept for readers). */
  readonly operatorImage: string | undefined;
  /** Digest by SCONE component (SCONE_IMAGE_DIGESTS). */
  readonly imageDigests: Readonly<Record<string, string>>;
}

export async function pinDigests(i: PinInput): Promise<Pinned> {
  const fromConfig = dockerConfigCredentials();
  const credentials = (host: string) =>
    i.credentials && i.credentials.registry === host ? i.credentials : fromConfig(host);
  const clients = new Map<string, RegistryClient>();
  const digestOf = async (image: string): Promise<string> => {
    const known = i.verified.find((v) => v.image === image)?.digest;
    if (known) return known;
    const ref = parseImageRef(image);
    if (ref.digest) return ref.digest;
    let c = clients.get(ref.registry);
    if (!c) {
      c = new RegistryClient(ref.registry, { credentials, ...(i.ca ? { ca: i.ca } : {}) });
      clients.set(ref.registry, c);
    }
    const m = await c.manifest(ref.repository, ref.tag ?? "latest");
    if (!m) throw new Error(`--pin-digests: the registry has no image ${image} (push it first: scone images push)`);
    return m.digest;
  };
  const pinnedRef = async (image: string) => (image.includes("@") ? image : `${image}@${await digestOf(image)}`);
  const imageDigests: Record<string, string> = {};
  for (const s of i.services) imageDigests[s.component] = await digestOf(s.image);
  return {
    operatorImage: i.operatorImage === undefined ? undefined : await pinnedRef(i.operatorImage),
    imageDigests,
  };
}
