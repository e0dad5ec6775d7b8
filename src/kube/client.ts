// KubeClient: typed CRUD, server-side apply, patches, subresources and watch over the Bun transport.
import type { ClusterConnection, LoadOptions } from "./config.ts";
import { NotFoundError } from "./errors.ts";
import { objectPath, type ResourceInfo, ResourceResolver, resourcePath } from "./resources.ts";
import { Transport, type TransportOptions } from "./transport.ts";
import type { KubeList, KubeObject, ObjectRef, TypeRef, WatchEvent } from "./types.ts";
import { type WatchOptions, watchPath } from "./watch.ts";

export const DEFAULT_FIELD_MANAGER = "scone";

export interface ListOptions {
  /** Omit for cluster-scoped kinds, or to list a namespaced kind across all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  signal?: AbortSignal;
}

export interface ApplyOptions extends WriteOptions {
  /** Take ownership of fields another manager owns (SSA conflicts become overrides). */
  force?: boolean;
}

export type PatchType = "merge" | "json" | "strategic";

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface LogOptions {
  container?: string;
  /** podLogs: the most bytes read from the start of the log (default 8 MiB); asked of the server and enforced here. */
  limitBytes?: number;
  tailLines?: number;
  sinceSeconds?: number;
  timestamps?: boolean;
  previous?: boolean;
  signal?: AbortSignal;
}

export interface TokenRequestOptions {
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: { apiVersion: string; kind: string; name: string; uid?: string };
}

export interface TokenRequestResult {
  token: string;
  expirationTimestamp: string;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

export const DEFAULT_LOG_LIMIT_BYTES = 8 * 1024 * 1024;

/** The first `limit` bytes of a response body; the rest is never read (the body is cancelled). */
async function readAtMost(res: Response, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let filled = 0;
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array(0);
  try {
    while (filled < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = value.subarray(0, limit - filled);
      chunks.push(take);
      filled += take.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(filled);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The ref of an object in hand (kind, apiVersion and name must be set). */
export function refOf(obj: KubeObject): ObjectRef {
  const name = obj.metadata?.name;
  if (!obj.apiVersion || !obj.kind) throw new Error("object has no apiVersion/kind; set both");
  if (!name) throw new Error(`${obj.kind}: metadata.name is required`);
  return { apiVersion: obj.apiVersion, kind: obj.kind, name, namespace: obj.metadata?.namespace };
}

export class KubeClient {
  readonly transport: Transport;
  readonly fieldManager: string;
  private readonly resolver: ResourceResolver;

  constructor(transport: Transport, options: { fieldManager?: string } = {}) {
    this.transport = transport;
    this.fieldManager = options.fieldManager ?? DEFAULT_FIELD_MANAGER;
    this.resolver = new ResourceResolver((path) => transport.requestJson({ path }));
  }

  static fromConnection(
    conn: ClusterConnection,
    options: TransportOptions & { fieldManager?: string } = {},
  ): KubeClient {
    return new KubeClient(new Transport(conn, options), options);
  }

  /** Loads kubeconfig / in-cluster config (config.ts) and builds a client. */
  static async load(options: LoadOptions & TransportOptions & { fieldManager?: string } = {}): Promise<KubeClient> {
    const { loadKubeConfig } = await import("./config.ts");
    return KubeClient.fromConnection(await loadKubeConfig(options), options);
  }

  get namespace(): string {
    return this.transport.connection.namespace;
  }

  resource(type: TypeRef): Promise<ResourceInfo> {
    return this.resolver.resolve(type);
  }

  private async pathFor(ref: ObjectRef, subresource?: string): Promise<string> {
    return objectPath(await this.resource(ref), ref, subresource);
  }

  async get<T extends KubeObject>(ref: ObjectRef, options: { signal?: AbortSignal } = {}): Promise<T> {
    return this.transport.requestJson<T>({ path: await this.pathFor(ref), signal: options.signal });
  }

  /** get(), but a missing object is `undefined` rather than NotFoundError. */
  async tryGet<T extends KubeObject>(ref: ObjectRef, options: { signal?: AbortSignal } = {}): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, options);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** One page. Items come without apiVersion/kind from the server; we fill them in. */
  async list<T extends KubeObject>(type: TypeRef, options: ListOptions = {}): Promise<KubeList<T>> {
    const info = await this.resource(type);
    const list = await this.transport.requestJson<KubeList<T>>({
      path: resourcePath(info, { namespace: info.namespaced ? options.namespace : undefined }),
      signal: options.signal,
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
    });
    list.items ??= [];
    list.metadata ??= {};
    for (const item of list.items) {
      item.apiVersion ??= type.apiVersion;
      item.kind ??= type.kind;
    }
    return list;
  }

  /** Every page (limit/continue) concatenated; resourceVersion is the first page's, as client-go's pager does. */
  async listAll<T extends KubeObject>(type: TypeRef, options: ListOptions = {}): Promise<KubeList<T>> {
    const pageSize = options.limit ?? 500;
    const first = await this.list<T>(type, { ...options, limit: pageSize });
    let next = first.metadata.continue;
    while (next) {
      const page = await this.list<T>(type, {
        ...options,
        limit: pageSize,
        continue: next,
        resourceVersion: undefined,
      });
      first.items.push(...page.items);
      next = page.metadata.continue;
    }
    first.metadata.continue = undefined;
    return first;
  }

  async create<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    if (!obj.apiVersion || !obj.kind) throw new Error("object has no apiVersion/kind; set both");
    const info = await this.resource({ apiVersion: obj.apiVersion, kind: obj.kind });
    const ns = obj.metadata?.namespace;
    if (info.namespaced && !ns) throw new Error(`${info.kind} ${obj.metadata?.name ?? ""}: set metadata.namespace`);
    return this.transport.requestJson<T>({
      method: "POST",
      path: resourcePath(info, { namespace: ns }),
      body: obj,
      signal: options.signal,
      query: { dryRun: options.dryRun ? "All" : undefined, fieldManager: options.fieldManager ?? this.fieldManager },
    });
  }

  /** PUT: replaces the object. With metadata.resourceVersion set this is an optimistic update (409 if stale). */
  async replace<T extends KubeObject>(obj: T, options: WriteOptions & { subresource?: "status" } = {}): Promise<T> {
    return this.transport.requestJson<T>({
      method: "PUT",
      path: await this.pathFor(refOf(obj), options.subresource),
      body: obj,
      signal: options.signal,
      query: { dryRun: options.dryRun ? "All" : undefined, fieldManager: options.fieldManager ?? this.fieldManager },
    });
  }

  /**
   * Server-side apply (PATCH application/apply-patch+yaml; JSON is valid YAML). Send only the fields you own:
   * fields you applied before and leave out are removed.
   */
  async apply<T extends KubeObject>(obj: T, options: ApplyOptions = {}): Promise<T> {
    return this.applyTo(obj, undefined, options);
  }

  /** Server-side apply on the /status subresource. */
  async applyStatus<T extends KubeObject>(obj: T, options: ApplyOptions = {}): Promise<T> {
    return this.applyTo(obj, "status", options);
  }

  private async applyTo<T extends KubeObject>(
    obj: T,
    subresource: string | undefined,
    options: ApplyOptions,
  ): Promise<T> {
    return this.transport.requestJson<T>({
      method: "PATCH",
      path: await this.pathFor(refOf(obj), subresource),
      body: obj,
      contentType: "application/apply-patch+yaml",
      signal: options.signal,
      query: {
        fieldManager: options.fieldManager ?? this.fieldManager,
        force: options.force ? true : undefined,
        dryRun: options.dryRun ? "All" : undefined,
      },
    });
  }

  async patch<T extends KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    type: PatchType = "merge",
    options: WriteOptions & { subresource?: string } = {},
  ): Promise<T> {
    return this.transport.requestJson<T>({
      method: "PATCH",
      path: await this.pathFor(ref, options.subresource),
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      signal: options.signal,
      query: { fieldManager: options.fieldManager ?? this.fieldManager, dryRun: options.dryRun ? "All" : undefined },
    });
  }

  patchStatus<T extends KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    type: PatchType = "merge",
    options: WriteOptions = {},
  ) {
    return this.patch<T>(ref, patch, type, { ...options, subresource: "status" });
  }

  /** Deletes; answers the object (finalizers pending / foreground) or the server's Status. */
  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<KubeObject> {
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    if (options.preconditions) body.preconditions = options.preconditions;
    if (options.dryRun) body.dryRun = ["All"];
    return this.transport.requestJson<KubeObject>({
      method: "DELETE",
      path: await this.pathFor(ref),
      body,
      signal: options.signal,
    });
  }

  /** delete(), but an already missing object is not an error. Returns whether something was deleted. */
  async deleteIfExists(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.delete(ref, options);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  private async logPath(pod: { name: string; namespace: string }): Promise<string> {
    return this.pathFor({ apiVersion: "v1", kind: "Pod", ...pod }, "log");
  }

  private logQuery(options: LogOptions, follow: boolean) {
    return {
      container: options.container,
      tailLines: options.tailLines,
      sinceSeconds: options.sinceSeconds,
      timestamps: options.timestamps ? true : undefined,
      previous: options.previous ? true : undefined,
      follow: follow ? true : undefined,
    };
  }

  /**
   * pods/log as text, at most `limitBytes` of it: a pod decides what it logs, so the size is bounded both by the
   * server (limitBytes) and here (the body is read only that far, within 60 s).
   */
  async podLogs(pod: { name: string; namespace: string }, options: LogOptions = {}): Promise<string> {
    const limit = options.limitBytes ?? DEFAULT_LOG_LIMIT_BYTES;
    const timeout = AbortSignal.timeout(60_000);
    const res = await this.transport.stream({
      path: await this.logPath(pod),
      accept: "*/*", // the log endpoint answers 406 to text/plain; kubectl sends */* too
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      query: { ...this.logQuery(options, false), limitBytes: limit },
    });
    return new TextDecoder().decode(await readAtMost(res, limit));
  }

  /** pods/log?follow=true as a byte stream; abort `options.signal` to stop following. */
  async followPodLogs(
    pod: { name: string; namespace: string },
    options: LogOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const res = await this.transport.stream({
      path: await this.logPath(pod),
      accept: "*/*", // the log endpoint answers 406 to text/plain; kubectl sends */* too
      signal: options.signal,
      query: this.logQuery(options, true),
    });
    return res.body ?? new ReadableStream({ start: (c) => c.close() });
  }

  /** serviceaccounts/token (TokenRequest): a short-lived token for a service account. */
  async createToken(
    serviceAccount: { name: string; namespace: string },
    options: TokenRequestOptions = {},
  ): Promise<TokenRequestResult> {
    const path = await this.pathFor({ apiVersion: "v1", kind: "ServiceAccount", ...serviceAccount }, "token");
    const res = await this.transport.requestJson<{ status?: { token?: string; expirationTimestamp?: string } }>({
      method: "POST",
      path,
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: options.audiences ?? [],
          expirationSeconds: options.expirationSeconds,
          boundObjectRef: options.boundObjectRef,
        },
      },
    });
    if (!res.status?.token)
      throw new Error(`TokenRequest for ${serviceAccount.namespace}/${serviceAccount.name} returned no token`);
    return { token: res.status.token, expirationTimestamp: res.status.expirationTimestamp ?? "" };
  }

  /** Watches a collection; see watch.ts for the event and error contract. */
  async *watch<T extends KubeObject>(
    type: TypeRef,
    options: WatchOptions & { namespace?: string } = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const info = await this.resource(type);
    const path = resourcePath(info, { namespace: info.namespaced ? options.namespace : undefined });
    for await (const ev of watchPath<T>(this.transport, path, options)) {
      if (ev.type !== "BOOKMARK") {
        ev.object.apiVersion ??= type.apiVersion;
        ev.object.kind ??= type.kind;
      }
      yield ev;
    }
  }

  /** GET /version. */
  async serverVersion(
    options: { signal?: AbortSignal } = {},
  ): Promise<{ gitVersion: string; major?: string; minor?: string }> {
    return this.transport.requestJson({ path: "/version", signal: options.signal });
  }
}
