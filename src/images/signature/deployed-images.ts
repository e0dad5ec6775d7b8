// The images a `scone operator install` makes the cluster run: scone's operator image (unless the operator runs
// locally) and the SCONE images of the version that the operator deploys (`scone images`), each with the upstream
// repository it mirrors, whose name a signature carried into the mirror still bears.

import { listImages } from "../../install/images.ts";
import { DEFAULT_IMAGE_REPO } from "../../resources/defaults.ts";
import type { ImageToCheck } from "./check-images.ts";
import { parseImageRef, repositoryName } from "./reference.ts";

export interface DeployedImagesInput {
  readonly version: string;
  readonly imageRegistry: string;
  readonly imagePrefix: string;
  /** --operator-image, when given. */
  readonly operatorImage: string | undefined;
  /** false with --local-operator: no operator image is deployed. */
  readonly withOperator: boolean;
}

const repoOf = (image: string) => repositoryName(parseImageRef(image));

export function deployedImages(i: DeployedImagesInput): ImageToCheck[] {
  const ours = listImages(i.version, i.imageRegistry, i.imagePrefix);
  const upstream = listImages(i.version, DEFAULT_IMAGE_REPO, "");
  const withOrigin = (image: string, origin: string): ImageToCheck =>
    repoOf(image) === repoOf(origin) ? { image } : { image, alsoAccept: [repoOf(origin)] };
  const services = ours.services.map((s, n) => withOrigin(s.image, upstream.services[n]?.image ?? s.image));
  if (!i.withOperator) return services;
  const operator = i.operatorImage
    ? { image: i.operatorImage }
    : withOrigin(ours.operator.image, upstream.operator.image);
  return [operator, ...services];
}
