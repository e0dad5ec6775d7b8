// Verifies a set of images before scone deploys them: every image is checked (a few at a time) and every refusal
// is reported together, so one run names all unsigned or wrongly signed images, not just the first.

import { dockerConfigCredentials, type RegistryCredentials } from "./credentials.ts";
import type { SignatureKey } from "./public-key.ts";
import type { ImageRef } from "./reference.ts";
import { RegistryClient } from "./registry.ts";
import { ImageSignatureError, type VerifiedImage, verifyImageSignature } from "./verify.ts";

export interface ImageToCheck {
  readonly image: string;
  /** Repositories its signature may name besides its own (where a mirrored image was signed). */
  readonly alsoAccept?: readonly string[];
}

export interface CheckOptions {
  /** Credentials given on the command line, tried before the docker config. */
  readonly credentials?: { readonly registry: string } & RegistryCredentials;
  /** PEM CA bundle for registries with their own CA. */
  readonly ca?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** All images refused; `refusals` one per image. */
export class ImagesRefusedError extends Error {
  override name = "ImagesRefusedError";
  constructor(readonly refusals: readonly ImageSignatureError[]) {
    super(refusals.map((r) => r.message).join("\n"));
  }
}

const PARALLEL = 4;

export async function checkImageSignatures(
  images: readonly ImageToCheck[],
  key: SignatureKey,
  opts: CheckOptions = {},
): Promise<VerifiedImage[]> {
  const fromConfig = dockerConfigCredentials(opts.env);
  const credentials = (host: string) =>
    opts.credentials && opts.credentials.registry === host ? opts.credentials : fromConfig(host);
  const clients = new Map<string, RegistryClient>();
  const client = (ref: ImageRef) => {
    let c = clients.get(ref.registry);
    if (!c) {
      c = new RegistryClient(ref.registry, { credentials, ...(opts.ca ? { ca: opts.ca } : {}) });
      clients.set(ref.registry, c);
    }
    return c;
  };
  const verified: VerifiedImage[] = [];
  const refused: ImageSignatureError[] = [];
  const queue = [...new Map(images.map((i) => [i.image, i])).values()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      try {
        verified.push(
          await verifyImageSignature({
            image: next.image,
            key,
            client,
            ...(next.alsoAccept ? { alsoAccept: next.alsoAccept } : {}),
          }),
        );
      } catch (e) {
        if (!(e instanceof ImageSignatureError)) throw e;
        refused.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  if (refused.length > 0) throw new ImagesRefusedError(refused.sort((a, b) => a.image.localeCompare(b.image)));
  return verified.sort((a, b) => a.image.localeCompare(b.image));
}
