// The effects every reconciler shares, so each kind only renders desired objects and derives status:
// apply owned objects (skipping those already up to date: a steady state writes nothing), prune objects no
// longer desired, keep the finalizer, and write status only when it changed.
import type { V1OwnerReference } from "@kubernetes/client-node";
import type { KubeClient } from "../kube/client.ts";
import type { KubeObject, ObjectRef } from "../kube/types.ts";
import type { ReconcileContext } from "../runtime/controller.ts";
import { canonicalJson, isUpToDate, withAppliedHash } from "../runtime/drift.ts";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "scone-operator";
export const FIELD_MANAGER = "scone";

/** Reads observed objects; the operator passes its informer caches, the CLI the API server. */
export interface ObjectReader {
  get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined>;
}

export const apiReader = (client: KubeClient): ObjectReader => ({
  get: <T extends KubeObject>(ref: ObjectRef) => client.tryGet<T>(ref),
});

export interface EventSink {
  /** Best effort: never throws into the reconcile. */
  record(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
}

export interface ReconcileKit {
  readonly client: KubeClient;
  readonly reader: ObjectReader;
  readonly events: EventSink;
}

export type OwnerObject = KubeObject & { apiVersion: string; kind: string; metadata: { name?: string; uid?: string } };

export function ownerReferenceTo(owner: OwnerObject): V1OwnerReference {
  const { uid, name } = owner.metadata;
  if (!uid || !name) throw new Error(`${owner.kind} has no uid/name yet; it must be read from the API server first`);
  return { apiVersion: owner.apiVersion, kind: owner.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

export const refOfObject = (o: KubeObject): ObjectRef => ({
  apiVersion: o.apiVersion ?? "",
  kind: o.kind ?? "",
  name: o.metadata?.name ?? "",
  ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
});

const describe = (o: KubeObject): string =>
  `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}`;

/** Adds the owner reference and the managed-by label, then the applied-hash annotation (pure). */
export function prepareOwned<T extends KubeObject>(desired: T, owner: OwnerObject): T {
  const labels = { ...desired.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY };
  return withAppliedHash({
    ...desired,
    metadata: { ...desired.metadata, labels, ownerReferences: [ownerReferenceTo(owner)] },
  }) as T;
}

/** Applies every desired object that differs from the cluster; returns the objects as they now are. */
export async function applyOwned(
  kit: ReconcileKit,
  owner: OwnerObject,
  desired: readonly KubeObject[],
  ctx: ReconcileContext,
): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const d of desired) {
    const want = prepareOwned(d, owner);
    const observed = await kit.reader.get(refOfObject(want));
    if (isUpToDate(want, observed)) {
      out.push(observed as KubeObject);
      continue;
    }
    // force: we are the one manager of these objects; a stray kubectl edit must not block reconciling.
    out.push(await kit.client.apply(want, { force: true, fieldManager: FIELD_MANAGER, signal: ctx.signal }));
    ctx.actions.push(`${observed ? "update" : "create"} ${describe(want)}`);
  }
  return out;
}

/** Deletes objects this owner created earlier that are no longer desired. */
export async function pruneOwned(
  kit: ReconcileKit,
  observed: readonly KubeObject[],
  desired: readonly KubeObject[],
  ctx: ReconcileContext,
): Promise<void> {
  const keep = new Set(desired.map((d) => describe(d)));
  for (const o of observed) {
    if (keep.has(describe(o))) continue;
    if (await kit.client.deleteIfExists(refOfObject(o), { propagationPolicy: "Background", signal: ctx.signal }))
      ctx.actions.push(`delete ${describe(o)}`);
  }
}

export const hasFinalizer = (o: KubeObject, f: string): boolean => (o.metadata?.finalizers ?? []).includes(f);

/** Adds `finalizer` with a JSON patch guarded by the resourceVersion (a concurrent change → Conflict → retry). */
export async function addFinalizer(kit: ReconcileKit, o: KubeObject, finalizer: string, ctx: ReconcileContext) {
  if (hasFinalizer(o, finalizer)) return o;
  const list = o.metadata?.finalizers;
  const patch = [
    { op: "test", path: "/metadata/resourceVersion", value: o.metadata?.resourceVersion },
    list
      ? { op: "add", path: "/metadata/finalizers/-", value: finalizer }
      : { op: "add", path: "/metadata/finalizers", value: [finalizer] },
  ];
  const updated = await kit.client.patch(refOfObject(o), patch, "json", { signal: ctx.signal });
  ctx.actions.push(`add finalizer ${finalizer}`);
  return updated;
}

export async function removeFinalizer(kit: ReconcileKit, o: KubeObject, finalizer: string, ctx: ReconcileContext) {
  const list = o.metadata?.finalizers ?? [];
  const i = list.indexOf(finalizer);
  if (i < 0) return o;
  const patch = [
    { op: "test", path: "/metadata/resourceVersion", value: o.metadata?.resourceVersion },
    { op: "remove", path: `/metadata/finalizers/${i}` },
  ];
  const updated = await kit.client.patch(refOfObject(o), patch, "json", { signal: ctx.signal });
  ctx.actions.push(`remove finalizer ${finalizer}`);
  return updated;
}

/** Writes status through server-side apply, only when it differs from what the object already reports. */
export async function writeStatus<S>(
  kit: ReconcileKit,
  o: KubeObject & { status?: unknown },
  status: S,
  ctx: ReconcileContext,
): Promise<boolean> {
  if (canonicalJson(o.status ?? {}) === canonicalJson(status)) return false;
  const ref = refOfObject(o);
  await kit.client.applyStatus(
    {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
      status,
    } as KubeObject,
    { force: true, fieldManager: FIELD_MANAGER, signal: ctx.signal },
  );
  ctx.actions.push("update status");
  return true;
}
