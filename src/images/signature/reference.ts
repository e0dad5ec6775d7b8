// Image references as a registry client needs them: which host to ask, which repository, which tag or digest.
// Docker's normalisation (docker.io → registry-1.docker.io, library/ for one-component names) is applied so
// the same reference names the same repository as `docker pull` and cosign would.

export interface ImageRef {
  /** Host[:port] as written in the reference (docker.io for Docker Hub). */
  readonly registry: string;
  /** Repository path inside the registry, e.g. "scone.cloud/cas". */
  readonly repository: string;
  readonly tag?: string;
  /** sha256:<64 hex> when the reference pins a digest. */
  readonly digest?: string;
}

const DOCKER_HUB = "docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const MAX_REFERENCE = 1024;

/** An image reference that cannot be parsed; the message names it. */
export class ImageReferenceError extends Error {
  override name = "ImageReferenceError";
}

/** REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST] → its parts; a reference without registry means Docker Hub. */
export function parseImageRef(reference: string): ImageRef {
  const bad = (why: string) => new ImageReferenceError(`image reference '${reference.slice(0, 200)}': ${why}`);
  if (reference.length === 0 || reference.length > MAX_REFERENCE) throw bad(`must be 1 to ${MAX_REFERENCE} characters`);
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad("the digest must be sha256: and 64 lower-case hex digits");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad('the tag must be at most 128 letters, digits, "_", "." and "-"');
  }
  const parts = rest.split("/");
  const first = parts[0] ?? "";
  const hasHost = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasHost ? first : DOCKER_HUB;
  if (!HOST.test(registry)) throw bad(`'${registry}' is not a registry host[:port]`);
  const path = hasHost ? parts.slice(1) : parts;
  if (registry === DOCKER_HUB && path.length === 1) path.unshift("library");
  if (path.length === 0 || !path.every((c) => COMPONENT.test(c)))
    throw bad("the repository must be lower-case path components (letters, digits, '.', '_', '-')");
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository: path.join("/"), ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The repository as cosign writes it into `critical.identity.docker-reference` (no tag, no digest). */
export function repositoryName(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}`;
}

/** Canonical form for comparing docker-references ("ubuntu" and "index.docker.io/library/ubuntu" are one). */
export function canonicalRepository(name: string): string {
  const ref = parseImageRef(name);
  const registry =
    ref.registry === "index.docker.io" || ref.registry === "registry-1.docker.io" ? DOCKER_HUB : ref.registry;
  return `${registry}/${ref.repository}`;
}

/** The host an HTTP client connects to (Docker Hub's API is not served at docker.io). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? "registry-1.docker.io" : registry;
}

/** The tag cosign stores the signatures of a manifest under: sha256:abc… → sha256-abc….sig. */
export function signatureTag(digest: string): string {
  if (!DIGEST.test(digest)) throw new ImageReferenceError(`'${digest}' is not a sha256 digest`);
  return `${digest.replace(":", "-")}.sig`;
}
