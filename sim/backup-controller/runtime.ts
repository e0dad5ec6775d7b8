// The CAS backup controller, simulated for KWOK clusters (tests and `make demo`). The real one runs in the
// backup-controller Deployment, starts an ephemeral backup CAS on every eligible node and registers it with
// `scone cas register-backup`, then labels the node `cas-registered-<cas>.<namespace>-<version>=true` (the provider's
// procedure, SCONE-STACK.md; sim/kwok-cas/registration.ts). KWOK runs no containers, so this process does the
// registering: for every backup-controller Deployment (label app.kubernetes.io/name=bc) with an available replica,
// it labels each schedulable, Ready node matching the Deployment's SELECTOR_LABELS, for the version of the backup CAS
// image it deploys (BACKUP_CAS_IMAGE's tag). Test/demo code only.
import type { V1Deployment, V1Node } from "@kubernetes/client-node";
import { KubeClient } from "../../src/kube/client.ts";
import { SharedInformers } from "../../src/kube/shared-informers.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { imageTag } from "../kwok-cas/plan.ts";
import { backupRegistrationLabel } from "../kwok-cas/registration.ts";

const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" } as const;
const NODE = { apiVersion: "v1", kind: "Node" } as const;

const isReady = (n: V1Node): boolean =>
  (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** Nodes the backup controller would register on (pure): selector labels match, schedulable, Ready. */
const envOf = (deployment: V1Deployment, name: string): string | undefined =>
  deployment.spec?.template?.spec?.containers?.flatMap((c) => c.env ?? []).find((e) => e.name === name)?.value;

/** The version the backup controller registers: the tag of the backup CAS image it deploys. */
export const registeredVersion = (deployment: V1Deployment): string | undefined =>
  imageTag(envOf(deployment, "BACKUP_CAS_IMAGE"));

export function nodesToRegister(deployment: V1Deployment, nodes: readonly V1Node[]): string[] {
  const raw = envOf(deployment, "SELECTOR_LABELS");
  let selector: Record<string, string> = {};
  try {
    selector = raw ? (JSON.parse(raw) as Record<string, string>) : {};
  } catch {
    selector = {};
  }
  return nodes
    .filter((n) => !n.spec?.unschedulable && isReady(n))
    .filter((n) => Object.entries(selector).every(([k, v]) => n.metadata?.labels?.[k] === v))
    .map((n) => n.metadata?.name ?? "")
    .filter((name) => name !== "");
}

export interface BackupControllerSim {
  stop(): Promise<void>;
}

export async function startBackupControllerSim(opts: {
  kubeconfig: string;
  intervalMs?: number;
}): Promise<BackupControllerSim> {
  const client = await KubeClient.load({ kubeconfig: opts.kubeconfig });
  const informers = new SharedInformers(client);
  const deployments = informers.informer<V1Deployment & KubeObject>({
    type: DEPLOYMENT,
    labelSelector: "app.kubernetes.io/name=bc",
  });
  const nodes = informers.informer<V1Node & KubeObject>({ type: NODE });
  informers.start();
  await informers.waitForSync();
  let stopped = false;
  const tick = async () => {
    for (const d of deployments.list()) {
      if ((d.status?.availableReplicas ?? 0) < 1) continue;
      const instance = d.metadata?.labels?.["app.kubernetes.io/instance"];
      const namespace = d.metadata?.namespace;
      const version = registeredVersion(d);
      if (!instance || !namespace || !version) continue;
      const key = backupRegistrationLabel(namespace, instance, version);
      for (const name of nodesToRegister(d, nodes.list())) {
        const node = nodes.get(name);
        if (node?.metadata?.labels?.[key] === "true") continue;
        await client.patch({ ...NODE, name }, { metadata: { labels: { [key]: "true" } } }).catch(() => undefined);
      }
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await tick().catch(() => undefined);
      await Bun.sleep(opts.intervalMs ?? 1000);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await informers.stop();
    },
  };
}
