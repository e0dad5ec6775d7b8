// The signature check `scone operator install` runs before it applies anything: the images the install deploys,
// one verification pass with the policy's key. Returns the line to tell the user; throws ImagesRefusedError when an
// image is unsigned or wrongly signed.

import { checkImageSignatures } from "./check-images.ts";
import type { RegistryCredentials } from "./credentials.ts";
import { type DeployedImagesInput, deployedImages } from "./deployed-images.ts";
import type { SignaturePolicy } from "./policy.ts";

export async function checkInstallImages(
  policy: SignaturePolicy,
  images: DeployedImagesInput,
  credentials?: { readonly registry: string } & RegistryCredentials,
): Promise<string> {
  if (!policy.check) return "image signatures not checked: --no-image-signature-check";
  const verified = await checkImageSignatures(deployedImages(images), policy.key, {
    ...(credentials ? { credentials } : {}),
  });
  return `image signatures verified with ${policy.key.name} (${policy.key.kind}): ${verified.map((v) => `${v.image}@${v.digest}`).join(", ")}`;
}
