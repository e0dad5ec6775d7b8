// The thin shell around the planner: read what the cluster has, plan, and (unless only reporting) run the steps
// in order, with upstream's waits: CRDs Established before anything uses them, the operator's webhooks serving
// (caBundle set) before LAS/SGXPlugin are written, and with --wait the operator Deployment Available.
// Before the CRDs and the operator change, the operator image is proven pullable (pull-check.ts); a takeover of an
// existing install waits for the new Deployment and, if it does not become Available, puts back what the operator
// phase removed or changed (rollback.ts).

import {
  DEPLOYMENT_NAME,
  mutatingWebhookConfigurationName,
  validatingWebhookConfigurationName,
} from "../../install/names.ts";
import { isForeign, upstreamTakeoverSteps } from "../../install/takeover.ts";
import type { KubeClient } from "../../kube/client.ts";
import { KubeApiError, NotFoundError } from "../../kube/errors.ts";
import { registerResource } from "../../kube/resources.ts";
import type { KubeObject, ObjectRef } from "../../kube/types.ts";
import { sconeResourceTypes } from "../../resources/crds.ts";
import { notYet, reached, waitUntil } from "../status/wait.ts";
import {
  type DesiredInstall,
  desiredInstall,
  type InstallPhase,
  LAS_REF,
  SGXPLUGIN_NAME,
  SGXPLUGIN_TYPE,
} from "./desired.ts";
import { requireMonitoringCrds } from "./monitoring-crds.ts";
import type { InstallFlowOptions } from "./options.ts";
import {
  describeRef,
  isWrite,
  type Observed,
  type PlanInput,
  type PlanStep,
  planInstall,
  refKey,
  refOfObject,
} from "./plan.ts";
import { deploymentImage, runPullCheck } from "./pull-check.ts";
import { describeRollback, isTakeover, restoreOperatorPhase, rollbackPlan } from "./rollback.ts";
import { withdrawnObjects } from "./withdrawn.ts";

export const INSTALL_FIELD_MANAGER = "scone-install";
const VAULT_CRD = "vaults.services.scone.cloud";
const CRD_API = "apiextensions.k8s.io/v1";
const POLL_MS = 500;

export interface InstallProgress {
  /** A step ran (or, in report mode, was planned). */
  step(step: PlanStep, done: boolean): void;
  /** Something the user should know (never carries a secret). */
  warn(message: string): void;
  /** A wait began. */
  waiting(what: string): void;
  /** The pull check of the operator image was planned, skipped or passed. */
  pullCheck(check: PullCheckOutcome): void;
}

/** planned: report mode (or not reached); "not needed": the Deployment is not written. */
export interface PullCheckOutcome {
  readonly image: string;
  readonly state: "planned" | "skipped" | "pulled" | "not needed";
  /** pulled: the node the pull-check pod ran on. */
  readonly node?: string;
}

export interface InstallOutcome {
  readonly mode: InstallFlowOptions["mode"];
  readonly steps: readonly PlanStep[];
  readonly warnings: readonly string[];
  /** Whether anything differs from the desired state (before running the steps). */
  readonly differs: boolean;
  /** Absent when no operator Deployment is installed (--local-operator). */
  readonly pullCheck?: PullCheckOutcome;
}

/** The kind is not served (its CRD is absent): for our purposes the object is not there. */
function isUnservedKind(e: unknown): boolean {
  return e instanceof Error && /does not serve kind/.test(e.message);
}

async function tryRead(client: KubeClient, ref: ObjectRef): Promise<KubeObject | undefined> {
  try {
    return await client.tryGet(ref);
  } catch (e) {
    if (isUnservedKind(e)) return undefined;
    throw e;
  }
}

async function tryList(client: KubeClient, type: { apiVersion: string; kind: string }): Promise<KubeObject[]> {
  try {
    return (await client.list(type)).items;
  } catch (e) {
    if (e instanceof NotFoundError || isUnservedKind(e)) return [];
    throw e;
  }
}

export async function observeAll(
  client: KubeClient,
  refs: readonly ObjectRef[],
): Promise<Map<string, KubeObject | undefined>> {
  const observed = new Map<string, KubeObject | undefined>();
  // A handful of GETs in parallel: a report on a remote cluster should not take one round trip per object.
  const found = await Promise.all(refs.map((r) => tryRead(client, r)));
  for (const [i, r] of refs.entries()) observed.set(refKey(r), found[i]);
  return observed;
}

/** Reads the cluster and plans; no writes. */
export async function planAgainstCluster(
  client: KubeClient,
  o: InstallFlowOptions,
): Promise<{ desired: DesiredInstall; input: PlanInput; steps: PlanStep[]; warnings: string[]; before: Observed }> {
  for (const t of sconeResourceTypes) registerResource(t);
  const warnings: string[] = [];
  const [existingLas, sgxPlugins, vaultCrd] = await Promise.all([
    tryRead(client, LAS_REF),
    o.onlyOperator || !o.sgxPlugin ? Promise.resolve([]) : tryList(client, SGXPLUGIN_TYPE),
    tryRead(client, { apiVersion: CRD_API, kind: "CustomResourceDefinition", name: VAULT_CRD }),
  ]);
  const existingDcapKey = (existingLas as { spec?: { dcapKey?: string } } | undefined)?.spec?.dcapKey;
  const desired = desiredInstall(o, existingDcapKey ? { existingDcapKey } : {});
  warnings.push(...desired.warnings);
  if (vaultCrd && isForeign(vaultCrd) && vaultCrd.metadata?.labels?.["app.kubernetes.io/part-of"] !== "scone") {
    // Upstream 6.x refuses to install while this CRD exists; scone still serves Vault, so it takes the CRD over.
    warnings.push(
      `${VAULT_CRD} exists (an upstream install of 6.0.0 or older): scone keeps supporting Vault and takes the CRD over; upstream 6.x installers refuse to run while it exists`,
    );
  }

  const takeover = o.localOperator ? [] : upstreamTakeoverSteps(o.namespace);
  const withdrawn = withdrawnObjects(
    o,
    desired.items.map((d) => d.object),
  );
  const inClusterOperator: ObjectRef = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: o.namespace,
    name: DEPLOYMENT_NAME,
  };
  const refs = [
    ...desired.items.map((d) => refOfObject(d.object)),
    ...desired.required.map((r) => r.ref),
    ...takeover.map((t) => t.ref),
    ...withdrawn.map((w) => w.ref),
    ...(o.localOperator ? [inClusterOperator] : []),
  ];
  const observed = await observeAll(client, refs);
  if (o.localOperator && observed.get(refKey(inClusterOperator))) {
    warnings.push(
      `${describeRef(inClusterOperator)} exists, but --local-operator sends the webhooks to ${o.localOperator.host}:${o.localOperator.port}: delete it (kubectl -n ${o.namespace} delete deployment ${DEPLOYMENT_NAME}) unless you mean to go back to it`,
    );
  }

  const deletions: NonNullable<PlanInput["deletions"]>[number][] = [];
  const patches: NonNullable<PlanInput["patches"]>[number][] = [];
  for (const t of takeover) {
    const obj = observed.get(refKey(t.ref));
    if (!obj) continue;
    if (t.action.type === "delete" && isForeign(obj)) deletions.push({ phase: "operator", object: obj, reason: t.why });
    if (t.action.type === "patch" && obj.metadata?.annotations?.["cert-manager.io/inject-ca-from"] !== undefined)
      patches.push({ phase: "operator", ref: t.ref, mergePatch: t.action.mergePatch, reason: t.why });
  }
  for (const w of withdrawn) {
    const obj = observed.get(refKey(w.ref));
    if (obj && !isForeign(obj)) deletions.push({ phase: "operator", object: obj, reason: w.reason });
  }
  for (const p of sgxPlugins) {
    if (p.metadata?.name !== SGXPLUGIN_NAME) {
      deletions.push({
        phase: "sgxplugin",
        object: { ...SGXPLUGIN_TYPE, metadata: { name: p.metadata?.name ?? "" } },
        reason: `only one SGX plugin runs per cluster: "${SGXPLUGIN_NAME}" replaces it (as upstream)`,
      });
    }
  }
  // Every object as it was, for a rollback; then what is deleted first is created afresh, so the plan says so.
  const before: Observed = new Map(observed);
  for (const d of deletions) observed.set(refKey(refOfObject(d.object)), undefined);
  const input: PlanInput = {
    desired: desired.items,
    observed,
    forceUpdate: o.mode === "update",
    required: desired.required,
    deletions,
    patches,
  };
  return { desired, input, steps: planInstall(input), warnings, before };
}

// ---- waits ----

async function until<T>(
  what: string,
  timeoutSeconds: number,
  probe: () => Promise<T | undefined>,
  hint: string,
): Promise<T> {
  const observe = async () => {
    const v = await probe();
    return v === undefined ? notYet(hint) : reached(v);
  };
  return waitUntil(what, observe, { timeoutMs: timeoutSeconds * 1000, pollMs: POLL_MS });
}

type WithConditions = KubeObject & { status?: { conditions?: { type?: string; status?: string }[] } };
const conditionTrue = (o: WithConditions | undefined, type: string) =>
  o?.status?.conditions?.some((c) => c.type === type && c.status === "True") === true;

export async function waitForCrdsEstablished(client: KubeClient, names: readonly string[], timeoutSeconds: number) {
  for (const name of names) {
    await until(
      `CRD ${name} to be Established`,
      timeoutSeconds,
      async () => {
        const crd = await client.tryGet<WithConditions>({
          apiVersion: CRD_API,
          kind: "CustomResourceDefinition",
          name,
        });
        return conditionTrue(crd, "Established") ? true : undefined;
      },
      "check 'kubectl get crd NAME -o yaml' (status.conditions)",
    );
  }
}

type RolloutView = WithConditions & {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number };
};

/**
 * The Deployment's current template runs on every replica and is available (kubectl rollout status). The Available
 * condition alone is not enough: with maxUnavailable 1 (the operator's strategy, for its ReadWriteOnce backup claim)
 * a one-replica Deployment is "Available" with no pod at all.
 */
export function rolloutComplete(d: RolloutView | undefined): boolean {
  if (!d || !conditionTrue(d, "Available")) return false;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.availableReplicas ?? 0) >= want &&
    (s.replicas ?? 0) <= (s.updatedReplicas ?? 0)
  );
}

export async function waitForDeploymentAvailable(client: KubeClient, ref: ObjectRef, timeoutSeconds: number) {
  await until(
    `${describeRef(ref)} to be Available`,
    timeoutSeconds,
    async () => (rolloutComplete(await client.tryGet<RolloutView>(ref)) ? true : undefined),
    `check 'kubectl -n ${ref.namespace} describe deployment ${ref.name}' and its pods (image pull secret, node capacity; a Pending pod may wait for its backup claim: 'kubectl -n ${ref.namespace} get pvc' — without a default StorageClass pass --backup-storage-class)`,
  );
}

type WebhookConfiguration = KubeObject & { webhooks?: { clientConfig?: { caBundle?: string } }[] };

/** The operator fills caBundle once it serves the webhooks; until then the API server cannot call them. */
export async function waitForWebhooksServed(client: KubeClient, namespace: string, timeoutSeconds: number) {
  const configs = [
    { kind: "MutatingWebhookConfiguration", name: mutatingWebhookConfigurationName(namespace) },
    { kind: "ValidatingWebhookConfiguration", name: validatingWebhookConfigurationName(namespace) },
  ];
  for (const c of configs) {
    await until(
      `the operator to serve its webhooks (caBundle of ${c.name})`,
      timeoutSeconds,
      async () => {
        const cfg = await client.tryGet<WebhookConfiguration>({ apiVersion: "admissionregistration.k8s.io/v1", ...c });
        const hooks = cfg?.webhooks ?? [];
        return hooks.length > 0 && hooks.every((h) => (h.clientConfig?.caBundle ?? "") !== "") ? true : undefined;
      },
      `is the operator running? (kubectl -n ${namespace} get pods -l control-plane=controller-manager — a Pending pod may wait for its backup claim, 'kubectl -n ${namespace} get pvc'; with --local-operator, start 'scone operator -n ${namespace}')`,
    );
  }
}

const isWebhookUnavailable = (e: unknown) =>
  e instanceof KubeApiError && /failed calling webhook|no endpoints available|connection refused/i.test(e.message);

// ---- running the steps ----

export interface ExecuteOptions {
  readonly progress: InstallProgress;
}

async function runStep(client: KubeClient, step: PlanStep): Promise<void> {
  const opts = { fieldManager: INSTALL_FIELD_MANAGER };
  switch (step.action) {
    case "create":
    case "update": {
      if (!step.apply) throw new Error(`${describeRef(step.ref)}: nothing to apply`);
      if (step.mergePatchFirst !== undefined) await client.patch(step.ref, step.mergePatchFirst, "merge", opts);
      if (step.recreate) await client.deleteIfExists(step.ref);
      // force: the installer owns these fields, also when helm or kubectl set them before.
      await client.apply(step.apply, { ...opts, force: true });
      return;
    }
    case "delete":
      await client.deleteIfExists(step.ref);
      return;
    case "patch":
      await client.patch(step.ref, step.mergePatch, "merge", opts);
      return;
    default:
      return;
  }
}

/** Runs a step; LAS/SGXPlugin writes are retried while the webhooks are not reachable yet (bounded). */
async function runStepRetrying(client: KubeClient, step: PlanStep, retryUntil: number | undefined): Promise<void> {
  for (;;) {
    try {
      await runStep(client, step);
      return;
    } catch (e) {
      if (retryUntil === undefined || !isWebhookUnavailable(e) || Date.now() >= retryUntil) {
        if (isWebhookUnavailable(e)) {
          throw new Error(
            `${describeRef(step.ref)}: the API server could not call the operator's admission webhooks; is the operator running? (${e instanceof Error ? e.message : String(e)})`,
          );
        }
        throw e;
      }
      await Bun.sleep(POLL_MS * 2);
    }
  }
}

const CR_PHASES: readonly InstallPhase[] = ["sgxplugin", "las"];
/** Phases that run before the pull check: the pod needs the namespace and the pull secrets. */
const BEFORE_PULL_CHECK: readonly InstallPhase[] = ["namespaces", "pull-secrets"];

/** What the pull check will do (pure): only when the operator Deployment is written. */
export function plannedPullCheck(
  o: Pick<InstallFlowOptions, "pullCheck">,
  deployment: KubeObject | undefined,
  steps: readonly PlanStep[],
): PullCheckOutcome | undefined {
  if (!deployment) return undefined;
  const image = deploymentImage(deployment);
  const key = refKey(refOfObject(deployment));
  const written = steps.some((s) => refKey(s.ref) === key && (s.action === "create" || s.action === "update"));
  if (!written) return { image, state: "not needed" };
  return { image, state: o.pullCheck ? "planned" : "skipped" };
}

/** A simulated (KWOK) node "runs" any image: a pull check there proves nothing, and the user should know. */
async function simulatedNodeWarning(client: KubeClient, node: string | undefined): Promise<string | undefined> {
  if (!node) return undefined;
  const obj = await client.tryGet({ apiVersion: "v1", kind: "Node", name: node }).catch(() => undefined);
  if (obj?.metadata?.annotations?.["kwok.x-k8s.io/node"] === undefined) return undefined;
  return `the pull-check pod ran on the simulated (KWOK) node ${node}, which "runs" any image: the check proves nothing there (place the operator on real nodes with --operator-node-selector)`;
}

/** Plans, then (unless mode is report) runs the steps. Throws on the first failed step. */
export async function runInstall(
  client: KubeClient,
  o: InstallFlowOptions,
  { progress }: ExecuteOptions,
): Promise<InstallOutcome> {
  if (o.monitoring) await requireMonitoringCrds(client);
  const { desired, steps, warnings, before } = await planAgainstCluster(client, o);
  for (const w of warnings) progress.warn(w);
  const differs = steps.some((s) => s.action !== "unchanged");
  const deployment = desired.items.find((d) => d.object.kind === "Deployment")?.object;
  let pullCheck = plannedPullCheck(o, deployment, steps);
  const outcome = (): InstallOutcome => ({
    mode: o.mode,
    steps,
    warnings,
    differs,
    ...(pullCheck ? { pullCheck } : {}),
  });
  if (o.mode === "report") {
    if (pullCheck && pullCheck.state !== "not needed") progress.pullCheck(pullCheck);
    for (const s of steps) progress.step(s, false);
    return outcome();
  }

  const crdNames = desired.items
    .filter((d) => d.object.kind === "CustomResourceDefinition")
    .map((d) => d.object.metadata?.name ?? "");
  const hasWebhooks = desired.items.some((d) => d.object.kind === "MutatingWebhookConfiguration");
  // A takeover must not leave the old operator deleted behind a new one that never runs: wait, and roll back.
  const rollback = isTakeover(steps) ? rollbackPlan(steps, before) : undefined;
  let webhooksChecked = false;
  let lastPhase: InstallPhase | undefined;
  let guarded = false;

  const afterPhase = async (phase: InstallPhase) => {
    if (phase === "crds") {
      // Checked on every run (a few GETs): a CRD someone else changed may not be served yet.
      if (steps.some((s) => s.phase === "crds" && isWrite(s))) progress.waiting("CRDs to be Established");
      await waitForCrdsEstablished(client, crdNames, o.timeoutSeconds);
    }
    if (phase === "operator" && (o.wait || rollback) && deployment) {
      progress.waiting(`${describeRef(refOfObject(deployment))} to be Available`);
      await waitForDeploymentAvailable(client, refOfObject(deployment), o.timeoutSeconds);
    }
  };

  const checkImage = async () => {
    if (!deployment || pullCheck?.state !== "planned") return;
    progress.waiting(`the pull check of ${pullCheck.image}`);
    const { node } = await runPullCheck(client, deployment, o.timeoutSeconds);
    pullCheck = { image: pullCheck.image, state: "pulled", ...(node ? { node } : {}) };
    progress.pullCheck(pullCheck);
    const simulated = await simulatedNodeWarning(client, node);
    if (simulated) {
      warnings.push(simulated);
      progress.warn(simulated);
    }
  };
  if (pullCheck?.state === "skipped") progress.pullCheck(pullCheck);

  try {
    for (const step of steps) {
      if (lastPhase !== undefined && step.phase !== lastPhase) {
        await afterPhase(lastPhase);
        if (lastPhase === "operator") guarded = false;
      }
      if (!BEFORE_PULL_CHECK.includes(step.phase)) await checkImage();
      if (rollback && step.phase === "operator") guarded = true;
      lastPhase = step.phase;
      if (step.action === "missing") progress.warn(`${describeRef(step.ref)} is missing: ${step.reason ?? ""}`);
      if (!isWrite(step)) {
        progress.step(step, false);
        continue;
      }
      let retryUntil: number | undefined;
      if (CR_PHASES.includes(step.phase) && hasWebhooks) {
        if (!webhooksChecked) {
          progress.waiting("the operator to serve its admission webhooks");
          await waitForWebhooksServed(client, o.namespace, o.timeoutSeconds);
          webhooksChecked = true;
        }
        retryUntil = Date.now() + o.timeoutSeconds * 1000;
      }
      await runStepRetrying(client, step, retryUntil);
      progress.step(step, true);
    }
    if (lastPhase !== undefined) await afterPhase(lastPhase);
  } catch (e) {
    if (!guarded || !rollback) throw e;
    const why = e instanceof Error ? e.message : String(e);
    progress.warn("the new operator did not become Available: restoring what the install removed or changed");
    const failed = await restoreOperatorPhase(client, rollback, o.timeoutSeconds);
    const left = failed.map((f) => `${describeRef(f.action.ref)}: ${f.error}`).join("; ");
    throw new Error(
      `the operator (${pullCheck?.image ?? "its image"}) did not become Available: ${why}. ${
        failed.length === 0
          ? `The previous operator was restored: ${describeRollback(rollback)}`
          : `Restoring the previous operator failed for ${left} (the rest: ${describeRollback(rollback.filter((a) => !failed.some((f) => f.action === a)))})`
      }`,
    );
  }
  return outcome();
}
