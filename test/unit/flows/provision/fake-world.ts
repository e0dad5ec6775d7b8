// An in-memory cluster for the provisioning flow's unit tests: objects by kind/namespace/name, server-side apply as a
// replace, JSON patches (add/replace), pod logs from a function. It counts writes per object, so a test can assert
// that a rerun writes nothing.

import type { ProvisionKube } from "../../../../src/flows/provision/context.ts";
import { NotFoundError } from "../../../../src/kube/errors.ts";
import type { KubeObject, ObjectRef } from "../../../../src/kube/types.ts";

const keyOf = (ref: { kind?: string; namespace?: string; name?: string }) =>
  `${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;

function notFound(ref: ObjectRef): NotFoundError {
  return new NotFoundError(
    {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: `${ref.kind} ${ref.name} not found`,
      reason: "NotFound",
      code: 404,
    } as never,
    { method: "GET", path: keyOf(ref) },
  );
}

function applyJsonPatch(doc: unknown, ops: readonly { op: string; path: string; value?: unknown }[]): unknown {
  const copy = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const keys = op.path.split("/").slice(1);
    const last = keys.pop() as string;
    let at: Record<string, unknown> = copy;
    for (const k of keys) {
      const next = at[k];
      if (typeof next !== "object" || next === null) throw new Error(`json patch: ${op.path}: parent missing`);
      at = next as Record<string, unknown>;
    }
    if (op.op === "replace" && !(last in at)) throw new Error(`json patch: replace ${op.path}: missing`);
    if (op.op !== "add" && op.op !== "replace") throw new Error(`json patch: op ${op.op} not supported`);
    at[last] = structuredClone(op.value);
  }
  return copy;
}

export class FakeKube implements ProvisionKube {
  readonly objects = new Map<string, KubeObject>();
  readonly writes: string[] = [];
  logs: () => string = () => "";

  put(obj: KubeObject): void {
    this.objects.set(keyOf({ kind: obj.kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name }), obj);
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T> {
    const found = this.objects.get(keyOf(ref));
    if (!found) throw notFound(ref);
    return structuredClone(found) as T;
  }

  async tryGet<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const found = this.objects.get(keyOf(ref));
    return found ? (structuredClone(found) as T) : undefined;
  }

  async apply<T extends KubeObject>(obj: T): Promise<T> {
    this.writes.push(
      `apply ${keyOf({ kind: obj.kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name })}`,
    );
    this.put(structuredClone(obj));
    return structuredClone(obj);
  }

  async patch<T extends KubeObject>(ref: ObjectRef, patch: unknown, type?: string): Promise<T> {
    if (type !== "json") throw new Error(`fake: patch type ${type} not supported`);
    const current = await this.get(ref);
    const next = applyJsonPatch(current, patch as { op: string; path: string; value?: unknown }[]) as T;
    this.writes.push(`patch ${keyOf(ref)}`);
    this.put(next);
    return structuredClone(next);
  }

  async podLogs(): Promise<string> {
    return this.logs();
  }
}
