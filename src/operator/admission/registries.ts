// Which registries the operator may run images from (an operator setting: `scone operator --allowed-registries`,
// passed on by `scone operator install --allowed-registries`), and whether an image reference comes from one (pure).
// An entry is a registry host ("registry.scontain.com", "mirror.local:5000") or a host with a path prefix
// ("mirror.local:5000/scone"); an image matches when its registry host is the entry's (case-insensitive) and, for
// a prefix, its repository path lies below it. A host is compared as a whole, so "registry.scontain.com.evil.io"
// and "registry.scontain.com:444" are other registries.
import { DEFAULT_IMAGE_REPO } from "../../resources/defaults.ts";

/** The SCONE registry: allowed unless the admin gives a list of their own. */
export const SCONE_REGISTRY = "registry.scontain.com";

const HOST =
  /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)(:\d{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export interface ImageSource {
  /** Registry host, lower case, with port ("docker.io" for Docker Hub short names). */
  readonly host: string;
  /** Repository path below the host, without tag or digest ("scone.cloud/cas"). */
  readonly path: string;
}

/** Where an image reference is pulled from, or a reason it is not a reference (Docker's naming rules). */
export function imageSource(image: string): ImageSource | { readonly error: string } {
  if (image === "" || image !== image.trim()) return { error: "is empty or has spaces" };
  const at = image.indexOf("@");
  const named = at >= 0 ? image.slice(0, at) : image;
  const parts = named.split("/");
  const first = parts[0] ?? "";
  // Docker's rule: a first component with "." or ":" (or localhost) is a registry host; else Docker Hub.
  const hasHost = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const host = hasHost ? first : "docker.io";
  if (!HOST.test(host)) return { error: `has an invalid registry host "${host}"` };
  const repo = hasHost ? parts.slice(1) : parts;
  const last = repo[repo.length - 1] ?? "";
  const colon = last.indexOf(":");
  if (colon >= 0) {
    repo[repo.length - 1] = last.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(last.slice(colon + 1))) return { error: "has an invalid tag" };
  }
  if (repo.length === 0 || !repo.every((c) => PATH_COMPONENT.test(c)))
    return { error: "has an invalid repository name (lower-case letters, digits and separators)" };
  return { host: host.toLowerCase(), path: repo.join("/") };
}

/** "HOST[:PORT][/PATH]" → the entry, or an error naming the flag. Trailing slashes are ignored. */
export function parseRegistryEntry(text: string, flag = "--allowed-registries"): ImageSource {
  const entry = text.trim().replace(/\/+$/, "");
  const [host = "", ...path] = entry.split("/");
  const hostOk = HOST.test(host) && (host.includes(".") || host.includes(":") || host === "localhost");
  if (!hostOk || !path.every((c) => PATH_COMPONENT.test(c))) {
    throw new Error(
      `${flag}: "${text}" is not a registry: give a host (registry.scontain.com, mirror.local:5000) or a host with a path (mirror.local:5000/scone)`,
    );
  }
  return { host: host.toLowerCase(), path: path.join("/") };
}

/** A comma-separated list of entries (the flag's value). */
export function parseAllowedRegistries(text: string, flag = "--allowed-registries"): ImageSource[] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new Error(`${flag} is empty: give at least one registry, e.g. ${SCONE_REGISTRY}`);
  return items.map((s) => parseRegistryEntry(s, flag));
}

/** Whether entry `a` allows everything below `e`: the same host, and `e`'s path at or below `a`'s. */
const covers = (a: ImageSource, e: ImageSource): boolean =>
  a.host === e.host && (a.path === "" || e.path === a.path || e.path.startsWith(`${a.path}/`));

/**
 * The effective allow-list: the admin's list (default: the SCONE registry), plus the registry the operator itself
 * takes default images from (--image-registry / SCONE_IMAGE_REGISTRY), which the mutating webhook writes into
 * every resource and so must always pass.
 */
export function resolveAllowedRegistries(
  configured: readonly ImageSource[] | undefined,
  imageRepo: string | undefined,
): ImageSource[] {
  const list = [...(configured ?? [parseRegistryEntry(SCONE_REGISTRY)])];
  list.push(repositoryEntry(imageRepo || DEFAULT_IMAGE_REPO));
  // An entry below another (registry.scontain.com/scone.cloud under registry.scontain.com) adds nothing.
  return list.filter((e, i) => !list.some((a, j) => covers(a, e) && (!covers(e, a) || j < i)));
}

/** The entry of an image repository setting such as --image-registry (Docker's rule: "myorg" is docker.io/myorg). */
function repositoryEntry(repo: string): ImageSource {
  const trimmed = repo.trim().replace(/\/+$/, "");
  const first = trimmed.split("/")[0] ?? "";
  const hasHost = first.includes(".") || first.includes(":") || first === "localhost";
  return parseRegistryEntry(hasHost ? trimmed : `docker.io/${trimmed}`, "--image-registry");
}

export const formatEntry = (e: ImageSource): string => (e.path ? `${e.host}/${e.path}` : e.host);

/** Whether `image` comes from one of `allowed`; undefined when it does, else why not. */
export function imageRefusal(image: string, allowed: readonly ImageSource[]): string | undefined {
  const src = imageSource(image);
  if ("error" in src) return `"${image}" is not an image reference: it ${src.error}`;
  if (allowed.some((a) => covers(a, src))) return undefined;
  return `image "${image}" is from ${src.host}${src.host === "docker.io" && !image.startsWith("docker.io") ? " (no registry named: Docker Hub)" : ""}, which the cluster admin does not allow (allowed: ${allowed.map(formatEntry).join(", ")}); use an image from an allowed registry, or ask the admin to add it with 'scone operator install --allowed-registries'`;
}
