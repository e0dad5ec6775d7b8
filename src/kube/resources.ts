// {apiVersion, kind} ↔ REST endpoint. Built-in kinds scone touches are listed here; other modules add theirs with
// registerResource() (the SCONE CRDs); anything else is looked up once through API discovery and cached.
import type { ObjectRef, TypeRef } from "./types.ts";
import { splitApiVersion } from "./types.ts";

export interface ResourceInfo {
  apiVersion: string;
  kind: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

const typeKey = (apiVersion: string, kind: string) => `${apiVersion}|${kind}`;

const builtins: [apiVersion: string, kind: string, plural: string, namespaced: boolean][] = [
  ["v1", "Namespace", "namespaces", false],
  ["v1", "Node", "nodes", false],
  ["v1", "Pod", "pods", true],
  ["v1", "Service", "services", true],
  ["v1", "ConfigMap", "configmaps", true],
  ["v1", "Secret", "secrets", true],
  ["v1", "ServiceAccount", "serviceaccounts", true],
  ["v1", "Event", "events", true],
  ["v1", "PersistentVolumeClaim", "persistentvolumeclaims", true],
  ["v1", "PersistentVolume", "persistentvolumes", false],
  ["v1", "Endpoints", "endpoints", true],
  ["events.k8s.io/v1", "Event", "events", true],
  ["apps/v1", "Deployment", "deployments", true],
  ["apps/v1", "StatefulSet", "statefulsets", true],
  ["apps/v1", "DaemonSet", "daemonsets", true],
  ["apps/v1", "ReplicaSet", "replicasets", true],
  ["policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true],
  ["networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true],
  ["coordination.k8s.io/v1", "Lease", "leases", true],
  ["rbac.authorization.k8s.io/v1", "Role", "roles", true],
  ["rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true],
  ["rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false],
  ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false],
  ["apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false],
  ["admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false],
  ["admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false],
  ["discovery.k8s.io/v1", "EndpointSlice", "endpointslices", true],
  ["batch/v1", "Job", "jobs", true],
  ["batch/v1", "CronJob", "cronjobs", true],
  ["authorization.k8s.io/v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false],
];

const registry = new Map<string, ResourceInfo>();

/** Adds (or replaces) a kind. Modules defining CRDs call this at load time. */
export function registerResource(info: Omit<ResourceInfo, "group" | "version">): ResourceInfo {
  const full = { ...info, ...splitApiVersion(info.apiVersion) };
  registry.set(typeKey(info.apiVersion, info.kind), full);
  return full;
}

for (const [apiVersion, kind, plural, namespaced] of builtins)
  registerResource({ apiVersion, kind, plural, namespaced });

/** The registered entry, or undefined (then discovery is needed). */
export function lookupResource(type: TypeRef): ResourceInfo | undefined {
  return registry.get(typeKey(type.apiVersion, type.kind));
}

/** /api/v1 or /apis/<group>/<version>. */
export function groupVersionPath(info: { group: string; version: string }): string {
  return info.group === "" ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
}

/**
 * REST path of a collection (name omitted) or an object, optionally a subresource. Namespaced kinds without a
 * namespace address the collection across all namespaces (list/watch only).
 */
export function resourcePath(
  info: ResourceInfo,
  where: { namespace?: string; name?: string; subresource?: string },
): string {
  let path = groupVersionPath(info);
  if (info.namespaced && where.namespace) path += `/namespaces/${encodeURIComponent(where.namespace)}`;
  path += `/${info.plural}`;
  if (where.name !== undefined) {
    if (where.name === "") throw new Error(`${info.kind}: metadata.name is empty; set it`);
    path += `/${encodeURIComponent(where.name)}`;
    if (where.subresource) path += `/${where.subresource}`;
  }
  return path;
}

export function objectPath(info: ResourceInfo, ref: ObjectRef, subresource?: string): string {
  if (info.namespaced && !ref.namespace) {
    throw new Error(`${info.kind} ${ref.name} is namespaced: set metadata.namespace (or the ref's namespace)`);
  }
  return resourcePath(info, { namespace: info.namespaced ? ref.namespace : undefined, name: ref.name, subresource });
}

interface DiscoveryList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

/** Resolves types through the registry, falling back to API discovery (one GET per group/version, cached). */
export class ResourceResolver {
  private readonly discovered = new Map<string, Promise<DiscoveryList>>();

  constructor(private readonly getJson: (path: string) => Promise<unknown>) {}

  async resolve(type: TypeRef): Promise<ResourceInfo> {
    const known = lookupResource(type);
    if (known) return known;
    if (!type.apiVersion || !type.kind) {
      throw new Error(`object has no apiVersion/kind (got "${type.apiVersion}"/"${type.kind}"); set both`);
    }
    const gv = splitApiVersion(type.apiVersion);
    const path = groupVersionPath(gv);
    let list = this.discovered.get(path);
    if (!list) {
      list = this.getJson(path) as Promise<DiscoveryList>;
      this.discovered.set(path, list);
      // A failed discovery (API not yet installed, e.g. a CRD being created) must not be cached.
      list.catch(() => this.discovered.delete(path));
    }
    const found = (await list).resources?.find((r) => r.kind === type.kind && !r.name.includes("/"));
    if (!found) {
      this.discovered.delete(path);
      throw new Error(`the API server does not serve kind ${type.kind} in ${type.apiVersion}; is its CRD installed?`);
    }
    return registerResource({
      apiVersion: type.apiVersion,
      kind: type.kind,
      plural: found.name,
      namespaced: found.namespaced,
    });
  }
}
