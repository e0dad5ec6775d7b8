// `scone cas restore --from BACKUP NEWNAME -n NS`: a new CAS from a backup (upstream `--cas-database-recovery`,
// §10.2 step 13). The backup is fetched and verified BEFORE anything is created: a corrupted or incomplete set is
// refused with every problem and the cluster is left untouched. Then: create CAS NEWNAME with the cas-recovery image
// (annotated with the backup id, so a rerun recognises its own CAS), place the snapshot in the pod as
// /etc/cas/db/last-snapshot-db and last-snapshot-cas.key-store, `restart-cas`, wait until the CAS runs the restored
// database, enable the backup controller (upstream's post-provisioning patch, §10.2 step 12, which its recovery runs
// too) and wait until it registered the CAS on every migration node, switch the image back to cas, and wait for
// HEALTHY.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { RestoreSource } from "../../backup/restore-source.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { CAS } from "../../resources/cas.ts";
import {
  BACKUP_CONTROLLER_SESSION,
  backupControllerImage,
  casImage,
  casRecoveryImage,
  imageChoice,
  renderProvisioningManifest,
} from "../provision/templates.ts";
import { describeStatus, migrationComplete, statusIsCurrent } from "../status/health.ts";
import {
  type CasId,
  casLabel,
  casRef,
  DAY2_FIELD_MANAGER,
  type DayTwoKube,
  databaseClaimName,
  isPodReady,
  type PodExec,
  podName,
  podRunsImage,
  readCas,
  readPod,
} from "../status/observe.ts";
import { notYet, reached, waitUntil } from "../status/wait.ts";
import { runSteps, type Step, type StepRecord, type StepsProgress } from "../steps.ts";
import {
  checkRestoreTarget,
  DATABASE_DIR,
  KEY_STORE_FILE,
  parseSha256sum,
  RECOVERY_FILES,
  RESTORED_FROM_ANNOTATION,
  randomNonce,
  restoreProgress,
} from "./plan.ts";
import { writeTar } from "./tar-writer.ts";

export interface RestorePorts {
  readonly kube: DayTwoKube;
  readonly exec: PodExec;
  /** Fetches and verifies the backup (src/backup resolveRestoreSource); throws for a bad or missing one. */
  resolveSource(from: string): Promise<RestoreSource>;
}

export interface RestoreOptions extends CasId {
  readonly from: string;
  /** SCONE version of the new CAS (default: the backed-up CAS's version, else `defaultVersion`). */
  readonly version?: string;
  readonly defaultVersion: string;
  readonly imageRepo?: string;
  readonly imagePrefix?: string;
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  /** The command that continues an interrupted restore (default: scone cas restore --from FROM NAME -n NS). */
  readonly rerun?: string;
}

export class RestoreRefusedError extends Error {
  override readonly name = "RestoreRefusedError";
}

interface RestoreContext {
  readonly ports: RestorePorts;
  readonly options: RestoreOptions;
  source?: RestoreSource;
}

type RestoreStep = Step<RestoreContext>;

const source = (ctx: RestoreContext): RestoreSource => {
  if (!ctx.source) throw new Error("internal: the backup was not fetched");
  return ctx.source;
};

const versionOf = (ctx: RestoreContext): string =>
  ctx.options.version ?? source(ctx).manifest.cas.version ?? ctx.options.defaultVersion;

const images = (ctx: RestoreContext) => {
  const choice = imageChoice({ ...ctx.options, version: versionOf(ctx) });
  return { recovery: casRecoveryImage(choice), cas: casImage(choice), backupController: backupControllerImage(choice) };
};

const waitOptions = (ctx: RestoreContext) => ({
  timeoutMs: ctx.options.timeoutMs ?? 600_000,
  pollMs: ctx.options.pollMs ?? 1000,
});

async function podHashes(ctx: RestoreContext): Promise<Record<string, string>> {
  const files = [KEY_STORE_FILE, ...Object.values(RECOVERY_FILES)].map((f) => `${DATABASE_DIR}/${f}`);
  const result = await ctx.ports.exec({
    namespace: ctx.options.namespace,
    pod: podName(ctx.options),
    container: "cas",
    command: ["sha256sum", ...files],
    timeoutMs: 60_000,
  });
  // Missing files make sha256sum exit 1 while it still prints the others.
  return parseSha256sum(new TextDecoder().decode(result.stdout));
}

/** Restored: the CAS reports itself provisioned (a recovery CAS starts unprovisioned), or runs the backup's key store. */
async function isRestored(ctx: RestoreContext): Promise<boolean> {
  const cas = await readCas(ctx.ports.kube, ctx.options);
  if (cas?.status?.provisioned === "Yes" && cas.metadata.annotations?.[RESTORED_FROM_ANNOTATION]) return true;
  const pod = await readPod(ctx.ports.kube, ctx.options);
  if (!isPodReady(pod)) return false;
  return restoreProgress(await podHashes(ctx), source(ctx).manifest) === "restored";
}

const fetchStep: RestoreStep = {
  name: "fetch-verify",
  title: "Fetch the backup and verify its checksums",
  done: async () => false,
  async run(ctx) {
    ctx.source = await ctx.ports.resolveSource(ctx.options.from);
    const m = ctx.source.manifest;
    return `${m.id} of ${m.cas.namespace}/${m.cas.name} (version ${m.cas.version ?? "unknown"}) from ${ctx.source.location}`;
  },
};

const targetStep: RestoreStep = {
  name: "check-target",
  title: "Check that the new CAS and its database volume do not exist",
  done: async () => false,
  async run(ctx) {
    const claimName = databaseClaimName(ctx.options);
    const [cas, claim] = await Promise.all([
      readCas(ctx.ports.kube, ctx.options),
      ctx.ports.kube.tryGet<V1PersistentVolumeClaim & KubeObject>({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: ctx.options.namespace,
        name: claimName,
      }),
    ]);
    const check = checkRestoreTarget({ cas, claim, claimName, backupId: source(ctx).manifest.id });
    if (check.action === "refuse") throw new RestoreRefusedError(check.reason);
    return check.action === "resume" ? check.why : `${casLabel(ctx.options)} is free`;
  },
};

const createStep: RestoreStep = {
  name: "create-cas",
  title: "Create the new CAS with the recovery image",
  async done(ctx) {
    return (await readCas(ctx.ports.kube, ctx.options)) ? `${casLabel(ctx.options)} exists` : false;
  },
  async run(ctx) {
    const manifest = renderProvisioningManifest({
      name: ctx.options.name,
      namespace: ctx.options.namespace,
      image: images(ctx).recovery,
      nonce: randomNonce(),
    }).object;
    manifest.metadata.annotations = {
      ...manifest.metadata.annotations,
      [RESTORED_FROM_ANNOTATION]: source(ctx).manifest.id,
    };
    await ctx.ports.kube.create(manifest as CAS & KubeObject, { fieldManager: DAY2_FIELD_MANAGER });
    return `image ${images(ctx).recovery}`;
  },
};

const podStep: RestoreStep = {
  name: "wait-pod",
  title: "Wait for the new CAS pod",
  async done(ctx) {
    return (await isRestored(ctx)) ? "the CAS runs the restored database" : false;
  },
  async run(ctx) {
    return waitUntil(
      `pod ${podName(ctx.options)} to be Ready`,
      async () => {
        const pod = await readPod(ctx.ports.kube, ctx.options);
        if (!pod) return notYet("no pod yet (is the operator running?)");
        if (!isPodReady(pod)) return notYet(`phase ${pod.status?.phase ?? "-"}`);
        // Ready is the pod's word; the CAS has started once its console names its key (what upstream reads too).
        const log = await ctx.ports.kube
          .podLogs({ namespace: ctx.options.namespace, name: podName(ctx.options) }, { container: "cas" })
          .catch(() => "");
        return log.includes("CAS key hash")
          ? reached(`on ${pod.spec?.nodeName ?? "?"}`)
          : notYet('the CAS has not started yet (no "CAS key hash" on its console)');
      },
      waitOptions(ctx),
    );
  },
};

const placeStep: RestoreStep = {
  name: "place-snapshot",
  title: "Place the snapshot files in the pod",
  async done(ctx) {
    if (await isRestored(ctx)) return "the CAS runs the restored database";
    const progress = restoreProgress(await podHashes(ctx), source(ctx).manifest);
    return progress === "files-placed" ? "the recovery files are in place" : false;
  },
  async run(ctx) {
    const dir = source(ctx).dir;
    const files = await Promise.all(
      (Object.keys(RECOVERY_FILES) as (keyof typeof RECOVERY_FILES)[]).map(async (f) => ({
        name: RECOVERY_FILES[f],
        data: new Uint8Array(await readFile(join(dir, f))),
        mtime: Math.floor(Date.now() / 1000),
      })),
    );
    const archive = writeTar(files);
    const result = await ctx.ports.exec({
      namespace: ctx.options.namespace,
      pod: podName(ctx.options),
      container: "cas",
      // `head -c` ends the input after the archive: not every exec path closes stdin (v4 has no close signal), and
      // tar would wait for end of file forever.
      command: ["sh", "-c", `head -c ${archive.length} | tar -xf - -C ${DATABASE_DIR}`],
      stdin: archive,
      timeoutMs: 120_000,
    });
    if (result.exitCode !== 0) {
      throw new Error(
        `tar in ${podName(ctx.options)} exited ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}`,
      );
    }
    const progress = restoreProgress(await podHashes(ctx), source(ctx).manifest);
    if (progress !== "files-placed") {
      throw new Error(`the files in ${podName(ctx.options)}:${DATABASE_DIR} do not match the backup after copying`);
    }
    return `${Object.values(RECOVERY_FILES).join(", ")} in ${DATABASE_DIR}`;
  },
};

const restartStep: RestoreStep = {
  name: "restart-cas",
  title: "Restart CAS on the snapshot",
  async done(ctx) {
    return (await isRestored(ctx)) ? "the CAS runs the restored database" : false;
  },
  async run(ctx) {
    const result = await ctx.ports.exec({
      namespace: ctx.options.namespace,
      pod: podName(ctx.options),
      container: "cas",
      command: ["bash", "restart-cas"],
      timeoutMs: 120_000,
    });
    if (result.exitCode !== 0) {
      throw new Error(
        `restart-cas in ${podName(ctx.options)} exited ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}`,
      );
    }
    await waitUntil(
      `${casLabel(ctx.options)} to run the restored database`,
      async () => ((await isRestored(ctx)) ? reached(true) : notYet("the CAS is not provisioned yet")),
      waitOptions(ctx),
    );
  },
};

/** The backup-controller part of upstream's cas_patch_probes_and_backup.json (templates.ts postProvisioningPatch). */
const backupControllerSpec = (ctx: RestoreContext) => ({
  enabled: true,
  session: BACKUP_CONTROLLER_SESSION,
  image: images(ctx).backupController,
});

/**
 * The restored CAS is provisioned (its database is the backup's), so nothing else turns its backup controller on:
 * without it no node is registered for it, and the pod that replaces the recovery pod (the image switch) opens its
 * key store only on a registered node. Upstream's recovery runs the same patch as a provisioning (§10.2 step 12).
 */
const backupControllerStep: RestoreStep = {
  name: "backup-controller",
  title: "Enable the backup controller and wait until it registered the CAS on the migration nodes",
  async done(ctx) {
    const cas = await readCas(ctx.ports.kube, ctx.options);
    const bc = cas?.spec?.["backup-controller"];
    const want = backupControllerSpec(ctx);
    const enabled = bc?.enabled === true && bc.session === want.session && bc.image === want.image;
    const ratio = cas?.status?.migrationNodeRatio;
    return cas && enabled && statusIsCurrent(cas) && migrationComplete(ratio) ? `migration ${ratio}` : false;
  },
  async run(ctx) {
    await ctx.ports.kube.patch(
      casRef(ctx.options),
      { spec: { "backup-controller": backupControllerSpec(ctx) } },
      "merge",
      {
        fieldManager: DAY2_FIELD_MANAGER,
      },
    );
    return waitUntil(
      `the backup controller of ${casLabel(ctx.options)} to register it on every migration node`,
      async () => {
        const cas = await readCas(ctx.ports.kube, ctx.options);
        if (!cas) return notYet("the CAS is gone");
        const ratio = cas.status?.migrationNodeRatio;
        return statusIsCurrent(cas) && migrationComplete(ratio)
          ? reached(`migration ${ratio}`)
          : notYet(describeStatus(cas));
      },
      waitOptions(ctx),
    );
  },
};

const imageStep: RestoreStep = {
  name: "cas-image",
  title: "Switch the image back from cas-recovery to cas",
  async done(ctx) {
    const cas = await readCas(ctx.ports.kube, ctx.options);
    return cas?.spec?.image === images(ctx).cas ? `image ${images(ctx).cas}` : false;
  },
  async run(ctx) {
    await ctx.ports.kube.patch(casRef(ctx.options), { spec: { image: images(ctx).cas } }, "merge", {
      fieldManager: DAY2_FIELD_MANAGER,
    });
    return images(ctx).cas;
  },
};

const READY_PHASES = new Set(["HEALTHY", "Provisioned"]);

const healthyStep: RestoreStep = {
  name: "wait-healthy",
  title: "Wait until the restored CAS is HEALTHY",
  done: async () => false,
  async run(ctx) {
    const image = images(ctx).cas;
    return waitUntil(
      `${casLabel(ctx.options)} to be HEALTHY on ${image}`,
      async () => {
        const seen = await podRunsImage(ctx.ports.kube, ctx.options, image, describeStatus);
        if (!seen.ok) return notYet(seen.seen);
        const phase = seen.cas.status?.phase ?? "";
        return statusIsCurrent(seen.cas) && seen.cas.status?.provisioned === "Yes" && READY_PHASES.has(phase)
          ? reached(`phase ${phase}`)
          : notYet(describeStatus(seen.cas));
      },
      waitOptions(ctx),
    );
  },
};

export const RESTORE_STEPS: readonly RestoreStep[] = [
  fetchStep,
  targetStep,
  createStep,
  podStep,
  placeStep,
  restartStep,
  backupControllerStep,
  imageStep,
  healthyStep,
];

export interface RestoreOutcome {
  readonly ok: boolean;
  readonly steps: readonly StepRecord[];
  readonly backupId?: string;
  readonly error?: string;
  /** Refused before anything was created (bad backup, name taken). */
  readonly refused?: boolean;
  /** The failed step's error itself, for the CLI's --verbose cause chain (not part of -o json). */
  readonly cause?: unknown;
}

export async function runRestore(
  ports: RestorePorts,
  options: RestoreOptions,
  progress?: StepsProgress,
): Promise<RestoreOutcome> {
  const ctx: RestoreContext = { ports, options };
  try {
    const result = await runSteps(RESTORE_STEPS, ctx, progress ? { progress } : {});
    const base = { steps: result.steps, ...(ctx.source ? { backupId: ctx.source.manifest.id } : {}) };
    if (result.ok) return { ok: true, ...base };
    const error = result.error instanceof Error ? result.error.message : String(result.error);
    const failedAt = result.steps[result.steps.length - 1]?.name;
    const refused = failedAt === "fetch-verify" || result.error instanceof RestoreRefusedError;
    const hint = refused
      ? ""
      : `; rerun ${options.rerun ?? `scone cas restore --from ${options.from} ${options.name} -n ${options.namespace}`} to continue`;
    return {
      ok: false,
      ...base,
      error: `${error}${hint}`,
      ...(refused ? { refused: true } : {}),
      cause: result.error,
    };
  } finally {
    await ctx.source?.cleanup();
  }
}
