// spec.casAddress → which CAS (name, namespace) it names, and where to connect to it.
// The upstream CRs use `https://<cas>.<namespace>:8081` (also seen: `.svc`, `.svc.cluster.local`): inside the
// cluster that name resolves through the pod's DNS search path; tests map it to a simulator's loopback port.
import { trimTrailingSlashes } from "../../runtime/text.ts";

export interface CasRef {
  /** Name of the CAS resource / Service. */
  readonly name: string;
  readonly namespace: string;
}

/** Where the operator connects for a casAddress. */
export interface ResolvedCasAddress {
  readonly url: string;
  /** Name the CAS certificate is checked against when `url` uses another host. */
  readonly serverName?: string;
}

export type CasAddressResolver = (casAddress: string) => ResolvedCasAddress;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The CAS an in-cluster address names, or undefined for an address outside that pattern (external CAS). */
export function casRefOfAddress(casAddress: string): CasRef | undefined {
  let host: string;
  try {
    const url = new URL(casAddress);
    if (url.protocol !== "https:") return undefined;
    host = url.hostname;
  } catch {
    return undefined;
  }
  const labels = host.split(".");
  const [name, namespace, ...rest] = labels;
  if (!name || !namespace || !DNS_LABEL.test(name) || !DNS_LABEL.test(namespace)) return undefined;
  const suffix = rest.join(".");
  if (suffix !== "" && suffix !== "svc" && suffix !== "svc.cluster.local") return undefined;
  return { name, namespace };
}

/** Production resolver: connect to the address as written (cluster DNS resolves it). */
export const inClusterResolver: CasAddressResolver = (casAddress) => ({ url: trimTrailingSlashes(casAddress) });

/** A resolver with fixed entries (tests, port-forwards) falling back to `fallback`. */
export function mappedResolver(
  entries: Readonly<Record<string, ResolvedCasAddress>>,
  fallback: CasAddressResolver = inClusterResolver,
): CasAddressResolver {
  return (casAddress) => entries[trimTrailingSlashes(casAddress)] ?? fallback(casAddress);
}

/** Addresses compare without a trailing slash and with a lower-case host. */
export function sameCasAddress(a: string, b: string): boolean {
  const norm = (s: string) => {
    try {
      const u = new URL(s);
      return `${u.protocol}//${u.host.toLowerCase()}${trimTrailingSlashes(u.pathname)}`;
    } catch {
      return trimTrailingSlashes(s);
    }
  };
  return norm(a) === norm(b);
}
