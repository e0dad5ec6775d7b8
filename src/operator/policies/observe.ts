// What the policy reconcilers read: the policy (cache, or the API server before the cache's first list), the status
// this operator last gave it (the cache may lag behind our own write), when its retry is due, and the policy that
// registered the version after it — found through an index of the predecessors statuses name, not a scan.
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject, TypeRef } from "../../kube/types.ts";
import type { PolicyStatus } from "../../resources/policies.ts";
import { POLICY_STATE } from "../../resources/policy-conditions.ts";
import type { ReconcileContext, ReconcileRequest } from "../../runtime/controller.ts";
import type { OperatorContext } from "../wiring.ts";
import {
  type AnyPolicy,
  type PolicyKindName,
  type PolicyLook,
  parsePolicyKey,
  pickSuccessor,
  type Seen,
} from "./plan.ts";

/** A policy as read for a reconcile: its spec is there (the CRD requires it). */
export type Loaded<T extends AnyPolicy> = T & { spec: NonNullable<T["spec"]> };

export interface PolicyCaches {
  readonly signed: Informer<KubeObject>;
  readonly encrypted: Informer<KubeObject>;
}

export const cacheOf = (c: PolicyCaches, kind: PolicyKindName): Informer<KubeObject> =>
  kind === "EncryptedPolicy" ? c.encrypted : c.signed;

export const allPolicies = (c: PolicyCaches): AnyPolicy[] => [
  ...(c.signed.list() as AnyPolicy[]),
  ...(c.encrypted.list() as AnyPolicy[]),
];

interface Memo {
  readonly uid: string;
  readonly generation: number | undefined;
  readonly status: PolicyStatus;
}

/**
 * The controllers' memory (lost on restart, which costs at most one write or one early retry), by policyKey: the
 * status each policy was last given by us, when a retry is due, and the policies by the predecessor their status
 * names (ours, or the cached object's) — a superset: each candidate is checked in full.
 */
export class PolicyMemory {
  private readonly memos = new Map<string, Memo>();
  private readonly byPredecessor = new Map<string, Set<string>>();
  private readonly retries = new Map<string, number>();

  /** The status we last wrote for this very object and generation, else the object's own. */
  statusOf(key: string, o: AnyPolicy): PolicyStatus | undefined {
    const memo = this.memos.get(key);
    if (memo && memo.uid === o.metadata?.uid && memo.generation === o.metadata?.generation) return memo.status;
    return o.status;
  }

  remember(key: string, o: AnyPolicy, status: PolicyStatus): void {
    this.memos.set(key, { uid: o.metadata?.uid ?? "", generation: o.metadata?.generation, status });
    this.index(key, status);
  }

  /** A policy that is gone: nothing of it is kept. */
  forget(key: string): void {
    this.unindex(key, this.memos.get(key)?.status);
    this.memos.delete(key);
    this.retries.delete(key);
  }

  index(key: string, status: PolicyStatus | undefined): void {
    const hash = status?.predecessor;
    if (!hash) return;
    let keys = this.byPredecessor.get(hash);
    if (!keys) {
      keys = new Set();
      this.byPredecessor.set(hash, keys);
    }
    keys.add(key);
  }

  unindex(key: string, status: PolicyStatus | undefined): void {
    const hash = status?.predecessor;
    const keys = hash ? this.byPredecessor.get(hash) : undefined;
    if (!hash || !keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byPredecessor.delete(hash);
  }

  /** The keys of the policies whose status names `hash` as predecessor. */
  namingPredecessor(hash: string): readonly string[] {
    return [...(this.byPredecessor.get(hash) ?? [])];
  }

  retryAt(key: string): number | undefined {
    return this.retries.get(key);
  }

  setRetry(key: string, at: number | undefined): void {
    if (at === undefined) this.retries.delete(key);
    else this.retries.set(key, at);
  }
}

export interface ObserveDeps {
  readonly ctx: OperatorContext;
  readonly caches: PolicyCaches;
  readonly memory: PolicyMemory;
  readonly now: () => number;
}

/** The policy the request names, unless it is gone or being deleted (the CAS keeps its session either way). */
export async function readPolicy<T extends AnyPolicy>(
  d: ObserveDeps,
  type: TypeRef & { kind: PolicyKindName },
  req: ReconcileRequest,
  rctx: ReconcileContext,
): Promise<Loaded<T> | undefined> {
  const informer = cacheOf(d.caches, type.kind);
  const cached = informer.hasSynced()
    ? informer.get(req.namespace ?? "", req.name)
    : await d.ctx.client.tryGet<KubeObject>(
        { ...type, name: req.name, ...(req.namespace ? { namespace: req.namespace } : {}) },
        { signal: rctx.signal },
      );
  const o = cached as T | undefined;
  return o && !o.metadata?.deletionTimestamp && o.spec ? (o as Loaded<T>) : undefined;
}

/** The policies that registered the version after `hash` (candidates from the index, as we last saw them). */
function successorOf(d: ObserveDeps, o: AnyPolicy, hash: string): Seen | undefined {
  const candidates: Seen[] = [];
  for (const key of d.memory.namingPredecessor(hash)) {
    const { kind, namespace, name } = parsePolicyKey(key);
    const policy = cacheOf(d.caches, kind).get(namespace, name) as AnyPolicy | undefined;
    if (policy) candidates.push({ policy, status: d.memory.statusOf(key, policy) });
  }
  return pickSuccessor(o, hash, candidates);
}

/** Observe one policy: its effective status, its retry time, and (only a Synced one can be superseded) its successor. */
export function observePolicy(d: ObserveDeps, key: string, o: AnyPolicy): PolicyLook {
  const status = d.memory.statusOf(key, o);
  const hash = status?.state === POLICY_STATE.Synced ? status.hash : undefined;
  return {
    generation: o.metadata?.generation,
    status,
    successor: hash ? successorOf(d, o, hash) : undefined,
    retryAt: d.memory.retryAt(key),
    now: d.now(),
  };
}
