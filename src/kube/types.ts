// Shapes shared by the kube layer. Model types come from @kubernetes/client-node (types only: its runtime HTTP
// layer does not work on Bun), so callers can write `client.get<V1Pod>(ref)`.
import type { V1ObjectMeta } from "@kubernetes/client-node";

/** Any Kubernetes object as it travels over the wire. Every client-node model type satisfies it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

/** The type of an object: enough to find its REST endpoint through the resource registry. */
export interface TypeRef {
  apiVersion: string;
  kind: string;
}

/** One object, addressed by type, name and (for namespaced kinds) namespace. */
export interface ObjectRef extends TypeRef {
  name: string;
  namespace?: string;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";

export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

/** Minimal structured logger; the kube layer never logs secrets through it. */
export interface KubeLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Default logger: warnings and errors as JSON lines on stderr, nothing else. */
export const stderrLogger: KubeLogger = {
  debug() {},
  info() {},
  warn(message, fields) {
    console.error(JSON.stringify({ level: "warn", component: "kube", message, ...fields }));
  },
  error(message, fields) {
    console.error(JSON.stringify({ level: "error", component: "kube", message, ...fields }));
  },
};

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones: the cache key client-go uses. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns ? `${ns}/${name}` : name;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}
