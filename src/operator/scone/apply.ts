// The Scone reconciler's effects: apply the stack (SGXPlugin, LAS, an unprovisioned CAS once, the backup
// credentials copy), place the operator Deployment, remove the CAS (never its PVCs or backups) and uninstall.
// Each throws a StepError naming the step that failed; decisions come from plan.ts.
import type { V1Deployment, V1Secret } from "@kubernetes/client-node";
import { DEPLOYMENT_NAME } from "../../install/names.ts";
import { secretsForbiddenHint } from "../../install/rbac.ts";
import type { Informer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Scone } from "../../resources/scone.ts";
import { SCONE_EVENT_REASON } from "../../resources/scone-conditions.ts";
import type { ReconcileContext } from "../../runtime/controller.ts";
import { applyOwned, refOfObject } from "../reconcile-kit.ts";
import type { OperatorContext } from "../wiring.ts";
import { PLACEMENT_FIELD_MANAGER } from "./operator-placement.ts";
import { planPlacement, type Stateful, uninstalledMessage } from "./plan.ts";
import {
  effectiveSpec,
  renderStack,
  renderUnprovisionedCas,
  SECRET_TYPE,
  STACK_CAS_TYPE,
  STACK_LAS_TYPE,
  STACK_NAMES,
  STACK_SGXPLUGIN_TYPE,
} from "./render.ts";
import type { Placement } from "./status.ts";
import { nodeAgentVersion } from "./upgrade.ts";

const DEPLOYMENT_TYPE = { apiVersion: "apps/v1", kind: "Deployment" } as const;

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const isOwnedBy = (o: KubeObject | undefined, uid: string | undefined): boolean =>
  !!o && !!uid && (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid);

/** The error of one step, naming what the step was. */
class StepError extends Error {
  constructor(step: string, cause: unknown) {
    super(`${step}: ${errorText(cause)}`);
  }
}

async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw new StepError(what, e);
  }
}

/** The caches the stack reads: the stack kinds are cached whole (one of each per cluster). */
export interface StackCaches {
  readonly scones: Informer<KubeObject>;
  readonly las: Informer<KubeObject>;
  readonly plugins: Informer<KubeObject>;
  readonly cas: Informer<KubeObject>;
  /** The stack's Secret, in the operator's namespace (the only one where it may read Secrets by default). */
  readonly secrets: Informer<KubeObject>;
}

export interface StackSettings {
  readonly newNonce: () => string;
  readonly imageRepo?: string;
  readonly imagePrefix?: string;
}

/** What the effects need: the operator's client and kit, its namespace, the caches and the settings. */
export interface StackDeps {
  readonly ctx: OperatorContext;
  readonly caches: StackCaches;
  readonly settings: StackSettings;
}

const namespaceOf = (d: StackDeps) => d.ctx.operatorNamespace;
export const stackCas = (d: StackDeps): Stateful | undefined =>
  d.caches.cas.get(namespaceOf(d), STACK_NAMES.cas) as Stateful | undefined;

/** The copy source named by spec.backup.s3Creds; a clear error when missing or not readable. */
async function readBackupCredentials(d: StackDeps, scone: Scone): Promise<V1Secret | undefined> {
  const s3 = effectiveSpec(scone).backup?.s3Creds;
  if (!s3) return undefined;
  return step("spec.backup.s3Creds", async () => {
    const found = await d.ctx.client
      .tryGet<V1Secret>({ ...SECRET_TYPE, namespace: s3.namespace, name: s3.secret })
      .catch((err: unknown) => {
        const hint = secretsForbiddenHint(err, namespaceOf(d));
        throw hint ? new Error(hint) : err;
      });
    if (!found) throw new Error(`Secret ${s3.namespace}/${s3.secret} not found; create it or remove s3Creds`);
    return found;
  });
}

/** The credentials copy once s3Creds is gone. */
async function dropBackupCredentialsCopy(d: StackDeps, scone: Scone, rctx: ReconcileContext): Promise<void> {
  const copy = d.caches.secrets.get(namespaceOf(d), STACK_NAMES.backupCredentials);
  if (!copy || !isOwnedBy(copy, scone.metadata.uid)) return;
  await d.ctx.client.deleteIfExists(refOfObject(copy), { signal: rctx.signal });
  rctx.actions.push(`delete Secret ${namespaceOf(d)}/${STACK_NAMES.backupCredentials}`);
}

/** Places the operator Deployment (spec.operatorNodeSelector) when it runs in the cluster. */
export async function placeOperator(d: StackDeps, scone: Scone, rctx: ReconcileContext): Promise<Placement> {
  const namespace = namespaceOf(d);
  const deployment = await d.ctx.client.tryGet<V1Deployment>({ ...DEPLOYMENT_TYPE, namespace, name: DEPLOYMENT_NAME });
  const plan = planPlacement(effectiveSpec(scone).operatorNodeSelector, deployment, `${namespace}/${DEPLOYMENT_NAME}`);
  const body = plan.body;
  if (body) {
    await step(`operatorNodeSelector: Deployment ${namespace}/${DEPLOYMENT_NAME} refused it`, () =>
      d.ctx.client.apply(body, { force: true, fieldManager: PLACEMENT_FIELD_MANAGER, signal: rctx.signal }),
    );
    rctx.actions.push(`set node selector of Deployment ${namespace}/${DEPLOYMENT_NAME}`);
  }
  return plan.placement;
}

/** Removes the stack's CAS resource (never its PVCs or backups) and says so. */
export async function removeCas(d: StackDeps, scone: Scone, why: string, rctx: ReconcileContext): Promise<boolean> {
  const namespace = namespaceOf(d);
  const cas = stackCas(d);
  if (!isOwnedBy(cas, scone.metadata.uid) || cas?.metadata?.deletionTimestamp) return false;
  const ref = { ...STACK_CAS_TYPE, namespace, name: STACK_NAMES.cas };
  if (!(await d.ctx.client.deleteIfExists(ref, { signal: rctx.signal }))) return false;
  rctx.actions.push(`delete CAS ${namespace}/${STACK_NAMES.cas}`);
  d.ctx.kit.events.record(
    scone,
    "Normal",
    "CasRemoved",
    `CAS ${namespace}/${STACK_NAMES.cas} removed (${why}); its PVCs (the CAS database, snapshots) and backups are kept`,
  );
  return true;
}

export interface DeployResult {
  readonly placement: Placement;
  /** Not done, not failed: the CAS owner upgrades the CAS first. */
  readonly waitingFor?: string;
}

/** Applies the whole stack; throws a StepError naming the step that failed. */
export async function deployStack(d: StackDeps, scone: Scone, rctx: ReconcileContext): Promise<DeployResult> {
  const namespace = namespaceOf(d);
  const { imageRepo, imagePrefix } = d.settings;
  const spec = effectiveSpec(scone);
  const agents = nodeAgentVersion(scone, spec.serviceVersion, stackCas(d)?.status, {
    namespace,
    name: STACK_NAMES.cas,
  });
  const existingLas = d.caches.las.get(STACK_NAMES.las) as (KubeObject & { spec?: { dcapKey?: string } }) | undefined;
  const backupCredentials = await readBackupCredentials(d, scone);
  const renderOpts = {
    namespace,
    casNonce: "",
    ...(imageRepo ? { imageRepo } : {}),
    ...(imagePrefix ? { imagePrefix } : {}),
    ...(d.ctx.imageMirror?.imageDigests ? { imageDigests: d.ctx.imageMirror.imageDigests } : {}),
    ...(existingLas?.spec?.dcapKey ? { existingDcapKey: existingLas.spec.dcapKey } : {}),
    ...(backupCredentials ? { backupCredentials } : {}),
    nodeAgentVersion: agents.version,
  };
  await step("applying SGXPlugin, LAS", () => applyOwned(d.ctx.kit, scone, renderStack(scone, renderOpts), rctx));
  if (!backupCredentials) await dropBackupCredentialsCopy(d, scone, rctx);
  if (spec.skipCas) await removeCas(d, scone, "skipCas is set", rctx);
  else if (!stackCas(d)) {
    const cas = renderUnprovisionedCas(scone, { ...renderOpts, casNonce: d.settings.newNonce() });
    await step(`creating CAS ${namespace}/${STACK_NAMES.cas}`, () => applyOwned(d.ctx.kit, scone, [cas], rctx));
    d.ctx.kit.events.record(
      scone,
      "Normal",
      SCONE_EVENT_REASON.CasCreated,
      `unprovisioned CAS ${namespace}/${STACK_NAMES.cas} created`,
    );
  }
  const placement = await placeOperator(d, scone, rctx);
  return agents.waitingFor ? { placement, waitingFor: agents.waitingFor } : { placement };
}

/** Deletes what the stack owns (never the CAS database PVCs, snapshots or the backup bucket) and says so. */
export async function uninstallStack(d: StackDeps, scone: Scone, rctx: ReconcileContext): Promise<void> {
  const namespace = namespaceOf(d);
  const uid = scone.metadata.uid;
  const removed: string[] = [];
  for (const [ref, obj] of [
    [{ ...STACK_LAS_TYPE, name: STACK_NAMES.las }, d.caches.las.get(STACK_NAMES.las)],
    [{ ...STACK_SGXPLUGIN_TYPE, name: STACK_NAMES.sgxPlugin }, d.caches.plugins.get(STACK_NAMES.sgxPlugin)],
    [
      { ...SECRET_TYPE, namespace, name: STACK_NAMES.backupCredentials },
      d.caches.secrets.get(namespace, STACK_NAMES.backupCredentials),
    ],
  ] as const) {
    if (isOwnedBy(obj, uid) && (await d.ctx.client.deleteIfExists(ref, { signal: rctx.signal })))
      removed.push(`${ref.kind} ${ref.name}`);
  }
  const casRemoved = await removeCas(d, scone, "the stack is deleted", rctx);
  rctx.actions.push(...removed.map((r) => `delete ${r}`));
  const all = [...removed, ...(casRemoved ? [`CAS ${namespace}/${STACK_NAMES.cas}`] : [])];
  d.ctx.kit.events.record(scone, "Normal", SCONE_EVENT_REASON.Uninstalled, uninstalledMessage(all));
}
