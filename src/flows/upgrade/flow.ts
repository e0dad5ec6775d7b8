// `scone cas upgrade NAME -n NS --to-version VERSION [--force]`, in upstream's order (§10.4): the backup controller first
// (session suffix /upgrade; with --backup-mrenclave the backup policy admits the new CLI, backup-policy.ts; image,
// BACKUP_CAS_IMAGE), wait until every migration node holds a registered backup of
// the new version and CAS is HEALTHY, then the CAS image (and the safety service image when set), wait HEALTHY.
// Everything goes through the CAS resource: the operator's CAS controller rolls the images out and holds the CAS image
// back while that is unsafe (condition UpgradeBlocked) — this flow waits for it and reports its reason, never
// bypassing it. Steps observe the resource, so a killed run is continued by the next.
import type { V1Deployment, V1EnvVar } from "@kubernetes/client-node";
import { deploymentRolledOut } from "../../operator/cas/upgrade.ts";
import type { CAS } from "../../resources/cas.ts";
import { describeStatus, isHealthy, migrationComplete, statusIsCurrent } from "../status/health.ts";
import {
  type CasId,
  casLabel,
  casRef,
  DAY2_FIELD_MANAGER,
  type DayTwoKube,
  podRunsImage,
  readCas,
} from "../status/observe.ts";
import { notYet, reached, waitUntil } from "../status/wait.ts";
import { runSteps, type Step, type StepRecord, type StepsProgress } from "../steps.ts";
import { admitsOnly, BACKUP_POLICY_SESSION, MRENCLAVE_PATTERN, withCliMrenclave } from "./backup-policy.ts";
import { backupControllerAtTarget, casAtTarget, checkUpgrade, type UpgradeCheck } from "./plan.ts";

export interface UpgradeOptions extends CasId {
  readonly to: string;
  readonly force: boolean;
  /** MRENCLAVE of the SCONE CLI in the new backup-controller image, when it differs from the policy's (step b). */
  readonly backupMrenclave?: string;
  /** Per wait (migration, CAS HEALTHY); default 15 min. */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export class UpgradeRefusedError extends Error {
  override readonly name = "UpgradeRefusedError";
}

/** The owner's session calls on the CAS (attested, owner identity), for the backup-policy step. */
export interface OwnerSessions {
  readSession(name: string): Promise<{ session: string; hash: string }>;
  updateSession(session: string, predecessor: string): Promise<{ hash: string }>;
}

export interface UpgradePorts {
  /** Opens the owner's connection to the CAS; needed only with backupMrenclave. */
  openOwnerSessions?(): Promise<{ client: OwnerSessions; close(): Promise<void> }>;
}

interface UpgradeContext {
  readonly kube: DayTwoKube;
  readonly options: UpgradeOptions;
  readonly ports: UpgradePorts;
  check?: Extract<UpgradeCheck, { action: "upgrade" }>;
  owner?: { client: OwnerSessions; close(): Promise<void> };
}

type UpgradeStep = Step<UpgradeContext>;

const REGISTER_SUFFIX = "/register";
const UPGRADE_SUFFIX = "/upgrade";

const planned = (ctx: UpgradeContext) => {
  if (!ctx.check) throw new Error("internal: the upgrade was not checked");
  return ctx.check;
};

async function mustRead(ctx: UpgradeContext): Promise<CAS> {
  const cas = await readCas(ctx.kube, ctx.options);
  if (!cas) throw new Error(`${casLabel(ctx.options)} disappeared during the upgrade`);
  return cas;
}

const patchCas = (ctx: UpgradeContext, patch: unknown) =>
  ctx.kube.patch(casRef(ctx.options), patch, "merge", { fieldManager: DAY2_FIELD_MANAGER });

const waitOptions = (ctx: UpgradeContext) => ({
  timeoutMs: ctx.options.timeoutMs ?? 900_000,
  pollMs: ctx.options.pollMs ?? 1000,
});

const checkStep: UpgradeStep = {
  name: "preconditions",
  title: "Check the upgrade preconditions",
  done: async () => false,
  async run(ctx) {
    const check = checkUpgrade({
      cas: await readCas(ctx.kube, ctx.options),
      to: ctx.options.to,
      force: ctx.options.force,
    });
    if (check.action === "refuse") {
      throw new UpgradeRefusedError(`${casLabel(ctx.options)} cannot be upgraded: ${check.reasons.join("; ")}`);
    }
    ctx.check = check;
    // Reach the owner before the first change: a missing identity must not leave the upgrade half-applied.
    if (ctx.options.backupMrenclave) await ownerSessions(ctx);
    const forced = check.forced.length > 0 ? ` (forced: ${check.forced.join("; ")})` : "";
    return `${check.from} → ${ctx.options.to}${check.resuming ? ", continuing an upgrade in progress" : ""}${forced}`;
  },
};

const sessionStep: UpgradeStep = {
  name: "backup-controller-session",
  title: "Switch the backup controller session to /upgrade",
  async done(ctx) {
    const session = (await mustRead(ctx)).spec?.["backup-controller"]?.session ?? "";
    return session.endsWith(REGISTER_SUFFIX) ? false : `session ${session}`;
  },
  async run(ctx) {
    const session = (await mustRead(ctx)).spec?.["backup-controller"]?.session ?? "";
    const next = `${session.slice(0, -REGISTER_SUFFIX.length)}${UPGRADE_SUFFIX}`;
    await patchCas(ctx, { spec: { "backup-controller": { session: next } } });
    return `session ${next}`;
  },
};

async function ownerSessions(ctx: UpgradeContext): Promise<OwnerSessions> {
  if (!ctx.owner) {
    if (!ctx.ports.openOwnerSessions)
      throw new UpgradeRefusedError(
        "--backup-mrenclave needs the CAS owner's identity, which this caller cannot reach",
      );
    ctx.owner = await ctx.ports.openOwnerSessions();
  }
  return ctx.owner.client;
}

const backupPolicyStep: UpgradeStep = {
  name: "backup-policy",
  title: "Admit the new backup controller's CLI in the backup policy",
  async done(ctx) {
    const mrenclave = ctx.options.backupMrenclave;
    if (!mrenclave) return "the backup policy keeps its MRENCLAVE (no --backup-mrenclave)";
    const current = await (await ownerSessions(ctx)).readSession(BACKUP_POLICY_SESSION);
    return admitsOnly(current.session, mrenclave) ? `${BACKUP_POLICY_SESSION} admits ${mrenclave}` : false;
  },
  async run(ctx) {
    const mrenclave = ctx.options.backupMrenclave ?? "";
    const owner = await ownerSessions(ctx);
    const current = await owner.readSession(BACKUP_POLICY_SESSION);
    // The current hash as predecessor: a concurrent change makes CAS refuse the update instead of losing it.
    const { hash } = await owner.updateSession(withCliMrenclave(current.session, mrenclave), current.hash);
    return `${BACKUP_POLICY_SESSION} admits ${mrenclave} (${hash.slice(0, 12)}…, predecessor ${current.hash.slice(0, 12)}…)`;
  },
};

const backupControllerStep: UpgradeStep = {
  name: "backup-controller-image",
  title: "Point the backup controller at the new version",
  async done(ctx) {
    const cas = await mustRead(ctx);
    const t = planned(ctx).targets;
    return backupControllerAtTarget(cas, t) ? `backup controller ${t.backupControllerImage}` : false;
  },
  async run(ctx) {
    const t = planned(ctx).targets;
    const env: V1EnvVar[] = t.backupControllerEnv;
    await patchCas(ctx, { spec: { "backup-controller": { image: t.backupControllerImage, env } } });
    return `${t.backupControllerImage}, BACKUP_CAS_IMAGE=${t.casImage}`;
  },
};

const migrationStep: UpgradeStep = {
  name: "wait-migration",
  title: "Wait for backups of the new version on every migration node",
  async done(ctx) {
    return casAtTarget(await mustRead(ctx), planned(ctx).targets) ? "the CAS image was switched already" : false;
  },
  async run(ctx) {
    const t = planned(ctx).targets;
    const name = `${ctx.options.name}-backup-controller`;
    return waitUntil(
      `the backup controller of ${casLabel(ctx.options)} to register backups of ${ctx.options.to}`,
      async () => {
        const deployment = await ctx.kube.tryGet<V1Deployment & { metadata: { name: string } }>({
          apiVersion: "apps/v1",
          kind: "Deployment",
          namespace: ctx.options.namespace,
          name,
        });
        if (!deploymentRolledOut(deployment, t.backupControllerImage)) {
          return notYet(`Deployment ${name} does not run ${t.backupControllerImage} yet`);
        }
        const cas = await mustRead(ctx);
        const ratio = cas.status?.migrationNodeRatio;
        if (!statusIsCurrent(cas) || !migrationComplete(ratio)) return notYet(describeStatus(cas));
        if (!ctx.options.force && !isHealthy(cas)) return notYet(describeStatus(cas));
        return reached(`migration ${ratio}`);
      },
      waitOptions(ctx),
    );
  },
};

const casImageStep: UpgradeStep = {
  name: "cas-image",
  title: "Switch CAS to the new image",
  async done(ctx) {
    const t = planned(ctx).targets;
    return casAtTarget(await mustRead(ctx), t) ? `CAS image ${t.casImage}` : false;
  },
  async run(ctx) {
    const t = planned(ctx).targets;
    const spec: Record<string, unknown> = { image: t.casImage };
    if (t.safetyServiceImage) spec.safetyService = { image: t.safetyServiceImage };
    await patchCas(ctx, { spec });
    return t.safetyServiceImage ? `${t.casImage}, safety service ${t.safetyServiceImage}` : t.casImage;
  },
};

const healthyStep: UpgradeStep = {
  name: "wait-healthy",
  title: "Wait until CAS runs the new version and is HEALTHY",
  done: async () => false,
  async run(ctx) {
    const t = planned(ctx).targets;
    return waitUntil(
      `${casLabel(ctx.options)} to run ${t.casImage} and be HEALTHY`,
      async () => {
        const seen = await podRunsImage(ctx.kube, ctx.options, t.casImage, describeStatus);
        if (!seen.ok) return notYet(seen.seen);
        const version = seen.cas.status?.version;
        if (version && version !== "unknown" && version !== ctx.options.to) {
          return notYet(`CAS reports version ${version}`);
        }
        return isHealthy(seen.cas)
          ? reached(`HEALTHY, version ${version ?? ctx.options.to}`)
          : notYet(describeStatus(seen.cas));
      },
      waitOptions(ctx),
    );
  },
};

export const UPGRADE_STEPS: readonly UpgradeStep[] = [
  checkStep,
  sessionStep,
  backupPolicyStep,
  backupControllerStep,
  migrationStep,
  casImageStep,
  healthyStep,
];

export interface UpgradeOutcome {
  readonly ok: boolean;
  readonly steps: readonly StepRecord[];
  readonly from?: string;
  readonly to: string;
  readonly error?: string;
  readonly refused?: boolean;
}

export async function runUpgrade(
  kube: DayTwoKube,
  options: UpgradeOptions,
  progress?: StepsProgress,
  ports: UpgradePorts = {},
): Promise<UpgradeOutcome> {
  if (options.backupMrenclave !== undefined && !MRENCLAVE_PATTERN.test(options.backupMrenclave)) {
    const error = `backupMrenclave ${options.backupMrenclave}: expected 64 lower-case hex digits (the MRENCLAVE of the SCONE CLI in the new backup-controller image)`;
    return { ok: false, steps: [], to: options.to, error, refused: true };
  }
  const ctx: UpgradeContext = { kube, options, ports };
  const result = await runSteps(UPGRADE_STEPS, ctx, progress ? { progress } : {}).finally(() =>
    ctx.owner?.close().catch(() => undefined),
  );
  const base = { steps: result.steps, to: options.to, ...(ctx.check ? { from: ctx.check.from } : {}) };
  if (result.ok) return { ok: true, ...base };
  const refused = result.error instanceof UpgradeRefusedError;
  const error = result.error instanceof Error ? result.error.message : String(result.error);
  const hint = refused
    ? ""
    : `; rerun scone cas upgrade ${options.name} -n ${options.namespace} --to-version ${options.to} to continue`;
  return { ok: false, ...base, error: `${error}${hint}`, ...(refused ? { refused: true } : {}) };
}
