// The signature check `scone operator install` runs before it applies anything: the images the install deploys,
// one verification pass with the policy's key. Returns the line to tell the user; throws ImagesRefusedError when an
// image is unsigned or wrongly signed.

import { checkImageSignatures } from "./check-images.ts";
import type { RegistryCredentials } from "./credentials.ts";
import { type DeployedImagesInput, deployedImages } from "./deployed-images.ts";
import type { SignaturePolicy } from "./policy.ts";
import type { VerifiedImage } from "./verify.ts";

export async function checkInstallImages(
  policy: SignaturePolicy,
  images: DeployedImagesInput,
  credentials?: { readonly registry: string } & RegistryCredentials,
): Promise<string> {
  return (await checkInstallImagesVerified(policy, images, credentials)).line;
}

/** The same, with the digests verified (what `--pin-digests` pins, so the pinned digest is the verified one). */
export async function checkInstallImagesVerified(
  policy: SignaturePolicy,
  images: DeployedImagesInput,
  credentials?: { readonly registry: string } & RegistryCredentials,
): Promise<{ line: string; verified: readonly VerifiedImage[] }> {
  if (!policy.check) return { line: "image signatures not checked: --no-image-signature-check", verified: [] };
  const verified = await checkImageSignatures(deployedImages(images), policy.key, {
    ...(credentials ? { credentials } : {}),
  });
  return {
    line: `image signatures verified with ${policy.key.name} (${policy.key.kind}): ${verified.map((v) => `${v.image}@${v.digest}`).join(", ")}`,
    verified,
  };
}
