// What a CAS pod on a KWOK node asks of its simulated runtime (pure): read from the pod the way a kubelet would read
// it — the `cas` container's image tag (= simulator version), ports, snapshot settings (the snapshot mount; the
// stand-in's own variables on pods tests make by hand: the operator passes none), mounts, and which volume backs each
// mount (a PVC outlives the pod; an emptyDir dies with it).
import type { V1Container, V1Pod, V1Volume } from "@kubernetes/client-node";

import {
  APP_NAME_LABEL,
  CAS_APP,
  CAS_CONTAINER,
  DATABASE_VOLUME,
  DEFAULT_AUDIT_DIR,
  DEFAULT_CLIENT_PORT,
  DEFAULT_DATABASE_DIR,
  DEFAULT_ENCLAVE_PORT,
  DEFAULT_SNAPSHOT_DIR,
  INSTANCE_LABEL,
  SNAPSHOTS_VOLUME,
} from "./cas-names.ts";

export { AUDIT_CONTAINER, CAS_CONTAINER, INSTANCE_LABEL } from "./cas-names.ts";
export const CAS_APP_SELECTOR = `${APP_NAME_LABEL}=${CAS_APP}`;
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
const AUDIT_VOLUME = "audit-log";

/** Where a mount's bytes live: a PVC (kept across pods) or the pod itself (emptyDir and anything else). */
export type VolumeBacking = { readonly kind: "pvc"; readonly claim: string } | { readonly kind: "pod" };

export interface MountPlan {
  readonly mountPath: string;
  readonly backing: VolumeBacking;
}

export interface CasPodPlan {
  readonly namespace: string;
  readonly pod: string;
  readonly uid: string;
  readonly node: string;
  /** The CAS instance name (label app.kubernetes.io/instance; falls back to the pod name without `-0`). */
  readonly instance: string;
  /** Simulator version = tag of the `cas` container's image. */
  readonly version: string;
  readonly clientPort: number;
  readonly enclavePort: number;
  readonly database: MountPlan;
  /** Undefined when snapshots are off (no snapshot mount and no CAS_DATABASE_SNAPSHOTS_DIRECTORY). */
  readonly snapshots: (MountPlan & { readonly intervalMs: number }) | undefined;
  readonly auditDir: string;
  /** DNS names clients may use for the CAS: Service and pod names (the simulator puts them in its certificate). */
  readonly serverNames: readonly string[];
}

export type PlanOutcome =
  | { readonly run: true; readonly plan: CasPodPlan }
  | { readonly run: false; readonly why: string };

/** "6.0.6" from "registry/scone.cloud/cas:6.0.6" (digest dropped); undefined without a tag. */
export function imageTag(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const withoutDigest = image.split("@")[0] ?? "";
  const lastPart = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  const colon = lastPart.indexOf(":");
  return colon < 0 ? undefined : lastPart.slice(colon + 1) || undefined;
}

/** Go/Kubernetes duration ("60s", "1m30s", "500ms", "2h") → milliseconds; undefined when malformed or zero. */
export function durationMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text.trim()) return undefined;
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] as string] ?? 0), 0);
  return ms > 0 ? Math.round(ms) : undefined;
}

const envOf = (c: V1Container, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;

const portOf = (c: V1Container, name: string, fallback: number): number =>
  c.ports?.find((p) => p.name === name)?.containerPort ?? fallback;

function backingOf(volumes: readonly V1Volume[], volumeName: string | undefined): VolumeBacking {
  const volume = volumes.find((v) => v.name === volumeName);
  const claim = volume?.persistentVolumeClaim?.claimName;
  return claim ? { kind: "pvc", claim } : { kind: "pod" };
}

function mountOf(pod: V1Pod, c: V1Container, volumeName: string, defaultPath: string): MountPlan {
  const mount = c.volumeMounts?.find((m) => m.name === volumeName);
  return { mountPath: mount?.mountPath ?? defaultPath, backing: backingOf(pod.spec?.volumes ?? [], mount?.name) };
}

/** Decides whether this pod gets a simulated CAS, and how. `defaultSnapshotIntervalMs` applies when no env sets it. */
export function planCasPod(pod: V1Pod, nodeIsKwok: boolean, defaultSnapshotIntervalMs: number): PlanOutcome {
  const namespace = pod.metadata?.namespace ?? "default";
  const name = pod.metadata?.name ?? "";
  const uid = pod.metadata?.uid ?? "";
  const node = pod.spec?.nodeName;
  if (!node) return { run: false, why: "not scheduled yet" };
  if (!nodeIsKwok) return { run: false, why: `node ${node} is not a KWOK node` };
  if (pod.metadata?.deletionTimestamp) return { run: false, why: "being deleted" };
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return { run: false, why: `phase ${phase}` };
  const cas = pod.spec?.containers.find((c) => c.name === CAS_CONTAINER);
  if (!cas) return { run: false, why: `no container named "${CAS_CONTAINER}"` };

  const instance = pod.metadata?.labels?.[INSTANCE_LABEL] ?? name.replace(/-0$/, "");
  const snapshotEnvDir = envOf(cas, "CAS_DATABASE_SNAPSHOTS_DIRECTORY");
  const snapshotMount = cas.volumeMounts?.find((m) => m.name === SNAPSHOTS_VOLUME);
  const snapshots =
    snapshotMount || snapshotEnvDir
      ? {
          ...mountOf(pod, cas, SNAPSHOTS_VOLUME, snapshotEnvDir ?? DEFAULT_SNAPSHOT_DIR),
          intervalMs: durationMs(envOf(cas, "CAS_DATABASE_SNAPSHOTS_INTERVAL")) ?? defaultSnapshotIntervalMs,
        }
      : undefined;
  const auditMount = cas.volumeMounts?.find((m) => m.name === AUDIT_VOLUME);
  return {
    run: true,
    plan: {
      namespace,
      pod: name,
      uid,
      node,
      instance,
      version: imageTag(cas.image) ?? "6.0.6",
      clientPort: portOf(cas, "client", DEFAULT_CLIENT_PORT),
      enclavePort: portOf(cas, "enclave", DEFAULT_ENCLAVE_PORT),
      database: mountOf(pod, cas, DATABASE_VOLUME, DEFAULT_DATABASE_DIR),
      snapshots,
      auditDir: auditMount?.mountPath ?? DEFAULT_AUDIT_DIR,
      serverNames: [
        instance,
        `${instance}.${namespace}`,
        `${instance}.${namespace}.svc`,
        `${instance}.${namespace}.svc.cluster.local`,
        name,
        `${name}.${instance}.${namespace}.svc.cluster.local`,
        "localhost",
      ],
    },
  };
}

/** Two plans need the same simulator process (nothing a restart would change). */
export function samePlan(a: CasPodPlan, b: CasPodPlan): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
