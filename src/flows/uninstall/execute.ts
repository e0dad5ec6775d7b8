// The thin shell around the uninstall planner: read what the cluster has, plan, refuse before any write when
// SCONE resources exist (unless --force), and (unless only reporting) delete phase by phase, waiting until the
// LAS/SGXPlugin and the CRDs are gone before the operator that runs their finalizers is removed.
import type { KubeClient } from "../../kube/client.ts";
import { NotFoundError } from "../../kube/errors.ts";
import { registerResource } from "../../kube/resources.ts";
import type { KubeObject, ObjectRef } from "../../kube/types.ts";
import { sconeResourceTypes } from "../../resources/crds.ts";
import { observeAll } from "../install/execute.ts";
import { describeRef } from "../install/plan.ts";
import { notYet, reached, waitUntil } from "../status/wait.ts";
import {
  isDeletion,
  planUninstall,
  refusalMessage,
  type UninstallPhase,
  type UninstallPlan,
  type UninstallStep,
  uninstallTargets,
} from "./plan.ts";

export interface UninstallOptions {
  /** Operator namespace (-n, default scone-system). */
  readonly namespace: string;
  /** Delete the CRDs too (and with them every SCONE resource). */
  readonly crds: boolean;
  /** Go on although SCONE resources exist. */
  readonly force: boolean;
  /** "report": only say what would be removed; "delete": remove it (--yes). */
  readonly mode: "report" | "delete";
  readonly timeoutSeconds: number;
}

export interface UninstallProgress {
  step(step: UninstallStep, done: boolean): void;
  waiting(what: string): void;
}

/** The run refused before any write; the message names the resources and the flag. */
export class UninstallRefused extends Error {
  override name = "UninstallRefused";
}

const POLL_MS = 500;

async function listAll(client: KubeClient, type: { apiVersion: string; kind: string }): Promise<KubeObject[]> {
  try {
    return (await client.list(type)).items;
  } catch (e) {
    // No CRD (never installed, or removed by an earlier --crds): no resources of that kind.
    if (e instanceof NotFoundError || (e instanceof Error && /does not serve kind/.test(e.message))) return [];
    throw e;
  }
}

export async function planUninstallAgainstCluster(client: KubeClient, o: UninstallOptions): Promise<UninstallPlan> {
  for (const t of sconeResourceTypes) registerResource(t);
  const refs = uninstallTargets(o.namespace, o.crds).map((t) => t.ref);
  const [observed, lists] = await Promise.all([
    observeAll(client, refs),
    Promise.all(sconeResourceTypes.map((t) => listAll(client, t))),
  ]);
  return planUninstall({ namespace: o.namespace, observed, resources: lists.flat(), crds: o.crds, force: o.force });
}

async function waitGone(client: KubeClient, refs: readonly ObjectRef[], timeoutSeconds: number): Promise<void> {
  const observe = async () => {
    const left = (await Promise.all(refs.map(async (r) => ((await client.tryGet(r)) ? r : undefined)))).filter(
      (r): r is ObjectRef => r !== undefined,
    );
    if (left.length === 0) return reached(true);
    const first = left[0];
    return notYet(
      `${left.map(describeRef).join(", ")} still there: their finalizers wait for the operator; is it running? (kubectl get ${first?.kind.toLowerCase()} ${first?.name} -o yaml shows what is left)`,
    );
  };
  await waitUntil("the resources to be deleted", observe, { timeoutMs: timeoutSeconds * 1000, pollMs: POLL_MS });
}

/** Phases whose deletions finish only once the operator ran the finalizers: waited for before the next phase. */
const WAITED: readonly UninstallPhase[] = ["node-agents", "crds"];

export async function runUninstall(
  client: KubeClient,
  o: UninstallOptions,
  progress: UninstallProgress,
): Promise<UninstallPlan> {
  const plan = await planUninstallAgainstCluster(client, o);
  if (o.mode === "report") {
    for (const s of plan.steps) progress.step(s, false);
    return plan;
  }
  if (plan.refused) throw new UninstallRefused(refusalMessage(plan, o.crds));
  let pending: ObjectRef[] = [];
  let lastPhase: UninstallPhase | undefined;
  const settle = async () => {
    if (pending.length === 0) return;
    progress.waiting(pending.map(describeRef).join(", "));
    await waitGone(client, pending, o.timeoutSeconds);
    pending = [];
  };
  for (const s of plan.steps) {
    if (s.phase !== lastPhase) await settle();
    lastPhase = s.phase;
    if (!isDeletion(s)) {
      progress.step(s, false);
      continue;
    }
    // Background: the API server removes what the object owns (the LAS's DaemonSet, the operator's ReplicaSet).
    await client.deleteIfExists(s.ref, { propagationPolicy: "Background" });
    if (WAITED.includes(s.phase)) pending.push(s.ref);
    progress.step(s, true);
  }
  await settle();
  return plan;
}
