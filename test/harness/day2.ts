// What the day-2 integration tests (cas-day2, e2e) need from the cluster besides scone: zonal disks (the local cluster
// has no zones on the volumes the CAS runtime creates) and the backup controller's part — recording a registered
// backup on every SGX node (scone's node annotation) once a backup-controller rollout completes, as the real one
// does after `scone cas register-backup` on each node.
import type { V1Deployment, V1Node } from "@kubernetes/client-node";
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { imageVersion, REGISTRATION_LABEL_PREFIX, registrationLabel } from "../../src/operator/cas/nodes.ts";
import type { CAS } from "../../src/resources/cas.ts";

export const SGX_NODES = ["sgx-node-1", "sgx-node-2", "sgx-node-3"];
export const LAS_LABELS = { "las.scontain.com/capable": "true", "las.scontain.com/ok": "true" };
const MANAGER = "scone-day2-test";

import { zoneAVolume } from "./operator.ts";

export { zoneAVolume };

export const casClaims = (name: string) => [`database-${name}-0`, `database-snapshots-${name}-0`];

/**
 * Where every CAS flow test starts: the SGX nodes labelled as a healthy LAS labels them, and zonal disks in zone-a
 * (two SGX nodes there, so a move has somewhere to go) for each claim of each CAS in `names`.
 */
export async function prepareCasNodesAndVolumes(
  client: KubeClient,
  namespace: string,
  names: readonly string[],
): Promise<void> {
  for (const node of SGX_NODES)
    await client.patch({ apiVersion: "v1", kind: "Node", name: node }, { metadata: { labels: LAS_LABELS } }, "merge", {
      fieldManager: MANAGER,
    });
  for (const name of names) for (const claim of casClaims(name)) await client.create(zoneAVolume(namespace, claim));
}

/** The backup controller's registration label of this CAS at the fixtures' version (src/operator/cas/nodes.ts). */
export const registration = (namespace: string, name: string, version = "6.0.6"): string =>
  registrationLabel(namespace, name, version) ?? "";

export async function registerBackups(
  client: KubeClient,
  namespace: string,
  name: string,
  version = "6.0.6",
): Promise<void> {
  for (const node of SGX_NODES)
    await client.patch(
      { apiVersion: "v1", kind: "Node", name: node },
      { metadata: { labels: { [registration(namespace, name, version)]: "true" } } },
      "merge",
      { fieldManager: MANAGER },
    );
}

/**
 * When the backup controller Deployment's current rollout completed (its Progressing condition NewReplicaSetAvailable,
 * seconds precision), or undefined while a rollout is under way: the controller saw the latest spec, every replica
 * runs it and no pod of the previous ReplicaSet is left. `updatedReplicas >= 1 && availableReplicas >= 1` alone also
 * holds in the middle of a rollout (the old pod still available, the new one not yet), and a registration made then
 * is older than the completion the operator compares it with (src/operator/cas/upgrade.ts), and the upgrade would
 * wait for ever once the new pod took longer than the player's pause to become available (a busy machine).
 */
export function backupControllerRolloutCompleted(d: V1Deployment | undefined): string | undefined {
  const s = d?.status;
  if (!d || !s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return undefined;
  const want = d.spec?.replicas ?? 1;
  const settled = (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= want && (s.replicas ?? 0) <= want;
  const progressing = s.conditions?.find((c) => c.type === "Progressing");
  if (!settled || progressing?.status !== "True" || progressing.reason !== "NewReplicaSetAvailable") return undefined;
  const at = progressing.lastUpdateTime ?? progressing.lastTransitionTime;
  return at === undefined ? undefined : at instanceof Date ? at.toISOString() : String(at);
}

/** A backup controller played by the test; stop() resolves once no registration can follow any more. */
export interface PlayedBackupController {
  stop(): Promise<void>;
}

/**
 * Plays the backup controller of CAS namespace/name: after each completed rollout of its Deployment (a new image,
 * BACKUP_CAS_IMAGE or a restart) it registers a backup of BACKUP_CAS_IMAGE's version on every SGX node, until stopped.
 */
export function startBackupControllerPlayer(
  client: KubeClient,
  namespace: string,
  name: string,
): PlayedBackupController {
  let stopped = false;
  let seen = "";
  const loop = (async () => {
    while (!stopped) {
      const d = await client
        .tryGet<V1Deployment & KubeObject>({
          apiVersion: "apps/v1",
          kind: "Deployment",
          namespace,
          name: `${name}-backup-controller`,
        })
        .catch(() => undefined);
      const c = d?.spec?.template?.spec?.containers[0];
      const completed = backupControllerRolloutCompleted(d);
      const backupImage = c?.env?.find((e) => e.name === "BACKUP_CAS_IMAGE")?.value;
      const key = `${c?.image} ${backupImage} ${completed}`;
      if (completed !== undefined && key !== seen) {
        // Registrations must not predate the completion: it has seconds precision, and our clock may lag a little.
        await Bun.sleep(1100);
        if (stopped) break; // a clean-up may already have removed the registrations: do not put them back
        try {
          await registerBackups(client, namespace, name, imageVersion(backupImage));
          seen = key;
        } catch {
          // The next round tries again (an API server busy or restarting).
        }
      }
      await Bun.sleep(500);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** startBackupControllerPlayer for callers that need not wait for the stop. */
export function playBackupController(client: KubeClient, namespace: string, name: string): () => void {
  const player = startBackupControllerPlayer(client, namespace, name);
  return () => void player.stop();
}

/** Removes what the fixtures put on the shared nodes (labels, registrations, a cordon) for these CAS. */
export async function cleanNodes(client: KubeClient, namespace: string, names: readonly string[]): Promise<void> {
  const ours = (label: string) => names.some((n) => label.startsWith(`${REGISTRATION_LABEL_PREFIX}${n}.${namespace}-`));
  for (const node of SGX_NODES) {
    // Registrations of every version these CAS had (an upgrade adds the new one's).
    const labels = (await client.tryGet<V1Node>({ apiVersion: "v1", kind: "Node", name: node }).catch(() => undefined))
      ?.metadata?.labels;
    const registrations = Object.fromEntries(
      Object.keys(labels ?? {})
        .filter(ours)
        .map((k) => [k, null]),
    );
    await client
      .patch(
        { apiVersion: "v1", kind: "Node", name: node },
        {
          spec: { unschedulable: null },
          metadata: { labels: { "las.scontain.com/capable": null, "las.scontain.com/ok": null, ...registrations } },
        },
        "merge",
        { fieldManager: MANAGER },
      )
      .catch(() => undefined);
  }
}

/** The CAS key hash NAME-0 printed last on its console (a restarted CAS prints it again). */
export async function consoleKeyHash(client: KubeClient, namespace: string, name: string): Promise<string | undefined> {
  const log = await client.podLogs({ namespace, name: `${name}-0` }, { container: "cas" });
  return log
    .split("\n")
    .filter((l) => l.includes("CAS key hash"))
    .at(-1)
    ?.trim()
    .split(/\s+/)
    .at(-1);
}

/**
 * What a restore must have produced: the cas image again, provisioned, the original CAS's key, and its backup
 * controller on (upstream's session), so nodes get registered for it.
 */
export async function restoredFacts(client: KubeClient, namespace: string, restored: string, original: string) {
  const cas = await client.tryGet<CAS>({
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    namespace,
    name: restored,
  });
  return {
    image: cas?.spec?.image,
    provisioned: cas?.status?.provisioned,
    backupControllerSession: cas?.spec?.["backup-controller"]?.enabled
      ? cas.spec["backup-controller"].session
      : undefined,
    sameKeyHash:
      (await consoleKeyHash(client, namespace, restored)) === (await consoleKeyHash(client, namespace, original)),
  };
}

export const RESTORED_AS_EXPECTED = {
  image: "registry.scontain.com/scone.cloud/cas:6.0.6",
  provisioned: "Yes",
  backupControllerSession: "cas-owner/primary-backup/register",
  sameKeyHash: true,
} as const;
