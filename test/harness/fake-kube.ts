// An in-memory stand-in for the slice of KubeClient the day-2 flows use: objects by kind/namespace/name, JSON merge
// patches (RFC 7386), deletes, and a log of every write so tests can assert what a flow changed (or that it changed
// nothing). `react` lets a test play the cluster's controllers (scheduler, operator) after each write.

import { NotFoundError } from "../../src/kube/errors.ts";
import type { KubeObject, ObjectRef, TypeRef } from "../../src/kube/types.ts";

type Obj = KubeObject & { metadata: NonNullable<KubeObject["metadata"]>; spec?: unknown };

export interface Write {
  readonly verb: "create" | "patch" | "delete" | "apply";
  readonly key: string;
  readonly body?: unknown;
}

const keyOf = (r: { kind: string; namespace?: string | undefined; name?: string | undefined }) =>
  `${r.kind}/${r.namespace ?? ""}/${r.name ?? ""}`;

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

const notFound = (key: string) =>
  new NotFoundError({ code: 404, reason: "NotFound", message: `${key} not found` }, { method: "GET", path: key });

export class FakeKube {
  readonly objects = new Map<string, Obj>();
  readonly writes: Write[] = [];
  /** Called after every write (with the write), e.g. to reschedule a deleted pod. */
  react: (write: Write, kube: FakeKube) => void = () => {};
  /** Makes the next write of this verb throw (a crash between steps). */
  failNext: Write["verb"] | undefined;

  put<T extends KubeObject>(obj: T): T {
    const o = structuredClone(obj) as unknown as Obj;
    o.metadata.generation ??= 1;
    this.objects.set(keyOf({ kind: o.kind ?? "", namespace: o.metadata.namespace, name: o.metadata.name }), o);
    return obj;
  }

  peek<T>(ref: { kind: string; namespace?: string; name: string }): T | undefined {
    const o = this.objects.get(keyOf(ref));
    return o ? (structuredClone(o) as T) : undefined;
  }

  private write(w: Write): void {
    if (this.failNext === w.verb) {
      this.failNext = undefined;
      throw new Error(`injected failure on ${w.verb} ${w.key}`);
    }
    this.writes.push(w);
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T> {
    const o = await this.tryGet<T>(ref);
    if (!o) throw notFound(keyOf(ref));
    return o;
  }

  async tryGet<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    return this.peek<T>(ref as { kind: string; name: string });
  }

  async list<T extends KubeObject>(type: TypeRef, options: { namespace?: string } = {}) {
    const items = [...this.objects.values()].filter(
      (o) => o.kind === type.kind && (options.namespace === undefined || o.metadata.namespace === options.namespace),
    );
    return {
      apiVersion: "v1",
      kind: `${type.kind}List`,
      metadata: {},
      items: structuredClone(items) as unknown as T[],
    };
  }

  async patch<T extends KubeObject>(ref: ObjectRef, patch: unknown): Promise<T> {
    const key = keyOf(ref);
    const current = this.objects.get(key);
    if (!current) throw notFound(key);
    this.write({ verb: "patch", key, body: patch });
    const next = mergePatch(current, patch) as Obj;
    if (JSON.stringify(next.spec) !== JSON.stringify(current.spec))
      next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    this.objects.set(key, next);
    this.react({ verb: "patch", key, body: patch }, this);
    return structuredClone(next) as unknown as T;
  }

  async delete(ref: ObjectRef): Promise<KubeObject> {
    const key = keyOf(ref);
    const current = this.objects.get(key);
    if (!current) throw notFound(key);
    this.write({ verb: "delete", key });
    this.objects.delete(key);
    this.react({ verb: "delete", key }, this);
    return current;
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    const o = obj as unknown as Obj;
    const key = keyOf({ kind: o.kind ?? "", namespace: o.metadata.namespace, name: o.metadata.name });
    this.write({ verb: "create", key, body: obj });
    this.put(obj);
    this.react({ verb: "create", key, body: obj }, this);
    return obj;
  }

  /** Console of a pod's container, as `kubectl logs` shows it (tests set it); default: a started CAS. */
  readonly logs = new Map<string, string>();

  async podLogs(pod: { name: string; namespace: string }, options: { container?: string } = {}): Promise<string> {
    return this.logs.get(`${pod.namespace}/${pod.name}/${options.container ?? ""}`) ?? "CAS key hash fake\n";
  }

  async apply<T extends KubeObject>(obj: T): Promise<T> {
    const o = obj as unknown as Obj;
    const key = keyOf({ kind: o.kind ?? "", namespace: o.metadata.namespace, name: o.metadata.name });
    this.write({ verb: "apply", key, body: obj });
    this.put(obj);
    return obj;
  }
}

/** A node as the local cluster makes them: zone, SGX/LAS labels, Ready, optionally registered for backup. */
export function node(
  name: string,
  zone: string,
  opts: { registeredFor?: string; unschedulable?: boolean; labels?: Record<string, string>; ready?: boolean } = {},
) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "topology.kubernetes.io/zone": zone,
        "sgx.intel.com/capable": "true",
        "las.scontain.com/capable": "true",
        "las.scontain.com/ok": "true",
        ...opts.labels,
        ...(opts.registeredFor ? { [opts.registeredFor]: "true" } : {}),
      },
    },
    spec: opts.unschedulable ? { unschedulable: true } : {},
    status: { conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }] },
  };
}

export function casPod(namespace: string, name: string, nodeName: string, image: string, uid = "uid-1") {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${name}-0`, namespace, uid },
    spec: {
      nodeName,
      containers: [
        { name: "cas", image },
        { name: "audit", image: "busybox" },
      ],
    },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  };
}

export function healthyCas(namespace: string, name: string, image: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    metadata: { name, namespace, generation: 1, annotations: {} as Record<string, string> },
    spec: {
      image,
      "backup-controller": { enabled: true, session: "cas-owner/primary-backup/register" },
      ...extra,
    },
    status: {
      phase: "HEALTHY",
      state: "HEALTHY",
      provisioned: "Yes",
      attestable: "Yes",
      version: image.slice(image.lastIndexOf(":") + 1),
      migrationNodeRatio: "3/3",
      numMigratableNodes: 3,
      desiredNumMigratableNodes: 3,
      observedGeneration: 1,
    },
  };
}
