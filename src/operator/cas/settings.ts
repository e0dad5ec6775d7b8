// The effective settings of a CAS: its spec with the upstream defaults of §3.1 filled in (pure). Renderers, status
// and the upgrade planner read these instead of repeating `?? default` everywhere.

import { CAS_CLIENT_PORT } from "../../cas/driver/reach.ts";
import type { CAS, CASSpec } from "../../resources/cas.ts";
import { casWebhookDefaults, defaultImage, type ImageMirror } from "../../resources/defaults.ts";
import { DEFAULT_DATABASE_DIR, DEFAULT_ENCLAVE_PORT, DEFAULT_SNAPSHOT_DIR, FORCE_UPGRADE_ANNOTATION } from "./names.ts";

export interface RenderOptions {
  /** SCONE release used as tag of images that name none (upstream GLOBAL_SCONE_VERSION). */
  readonly serviceVersion: string;
  /** Namespace of the operator and of the LAS pods (LAS_NAMESPACE of the backup controller). */
  readonly operatorNamespace: string;
  /** Registry and prefix of the images a CAS names none of (the operator's mirror). */
  readonly imageMirror?: ImageMirror;
}

export interface ProbeSettings {
  readonly enabled: boolean;
  readonly failureThreshold: number;
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
}

export interface VolumeSettings {
  readonly enabled: boolean;
  readonly size: string | number;
  readonly storageClass: string;
  readonly accessModes: readonly string[];
}

export interface CasSettings {
  readonly name: string;
  readonly namespace: string;
  readonly spec: CASSpec;
  readonly image: string;
  readonly imagePullPolicy: string;
  readonly clientPort: number;
  readonly enclavePort: number;
  readonly database: VolumeSettings & { readonly mountPath: string };
  readonly snapshots: {
    readonly enabled: boolean;
    readonly interval: string;
    readonly intervalSeconds: number;
    readonly targetDirectory: string;
    readonly persistence: VolumeSettings;
  };
  readonly liveness: ProbeSettings;
  readonly startup: ProbeSettings;
  readonly backupController: { readonly enabled: boolean; readonly image: string; readonly session: string };
  readonly safetyService: {
    readonly enabled: boolean;
    readonly image: string;
    readonly desiredReplicas: number;
    readonly minReplicas: number;
    readonly topologyKey: string;
  };
  readonly forceUpgrade: boolean;
}

/** Seconds of a Go duration ("24h0m0s", "60s", "1h30m", "500ms"); NaN when it is not one. */
export function durationSeconds(text: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (const m of text.trim().matchAll(re)) {
    total += Number(m[1]) * (units[m[2] ?? ""] ?? Number.NaN);
    matched += m[0].length;
  }
  return matched > 0 && matched === text.trim().length ? total : text.trim() === "0" ? 0 : Number.NaN;
}

const volume = (
  v: { enabled?: boolean; size?: string | number; storageClass?: string; accessModes?: string[] } | undefined,
  enabledByDefault: boolean,
): VolumeSettings => ({
  enabled: v?.enabled ?? enabledByDefault,
  size: v?.size ?? "1Gi",
  storageClass: v?.storageClass ?? "",
  accessModes: v?.accessModes?.length ? v.accessModes : ["ReadWriteOnce"],
});

const probe = (
  p: Partial<ProbeSettings> | undefined,
  initialDelaySeconds: number,
  enabledByDefault: boolean,
): ProbeSettings => ({
  enabled: p?.enabled ?? enabledByDefault,
  failureThreshold: p?.failureThreshold ?? 3,
  initialDelaySeconds: p?.initialDelaySeconds ?? initialDelaySeconds,
  periodSeconds: p?.periodSeconds ?? 60,
  timeoutSeconds: p?.timeoutSeconds ?? 20,
});

export function casSettings(cas: CAS, opts: RenderOptions): CasSettings {
  const images = { serviceVersion: opts.serviceVersion, ...opts.imageMirror };
  const { spec = {} } = casWebhookDefaults(cas, images);
  const bc = spec["backup-controller"];
  const bcEnabled = bc?.enabled === true;
  const ss = spec.safetyService;
  const interval = spec.databaseSnapshots?.interval ?? "60s";
  return {
    name: cas.metadata.name ?? "",
    namespace: cas.metadata.namespace ?? "",
    spec,
    image: spec.image ?? defaultImage("cas", images),
    imagePullPolicy: spec.imagePullPolicy ?? "Always",
    clientPort: spec.service?.clientPort ?? CAS_CLIENT_PORT,
    enclavePort: spec.service?.enclavePort ?? DEFAULT_ENCLAVE_PORT,
    // The CRD text says persistence defaults to true (the docs table says false): the database is what matters.
    database: { ...volume(spec.persistence, true), mountPath: spec.persistence?.mountPath ?? DEFAULT_DATABASE_DIR },
    snapshots: {
      enabled: spec.databaseSnapshots?.enabled === true,
      interval,
      intervalSeconds: durationSeconds(interval),
      targetDirectory: spec.databaseSnapshots?.targetDirectory ?? DEFAULT_SNAPSHOT_DIR,
      persistence: volume(spec.databaseSnapshots?.persistence, false),
    },
    liveness: probe(spec.livenessProbe, 3, false),
    startup: probe(spec.startupProbe, 15, false),
    backupController: {
      enabled: bcEnabled,
      image: bc?.image ?? defaultImage("backup-controller", images),
      session: bc?.session ?? "",
    },
    safetyService: {
      // §3.1: enabled by default only when the section is absent and the backup controller is on.
      enabled: ss === undefined ? bcEnabled : ss.enabled === true,
      image: ss?.image ?? defaultImage("cas-safety-service", images),
      desiredReplicas: ss?.desiredReplicas ?? 3,
      minReplicas: ss?.minReplicas ?? 2,
      topologyKey: ss?.podAntiAffinityTopologyKey ?? "kubernetes.io/hostname",
    },
    forceUpgrade: cas.metadata.annotations?.[FORCE_UPGRADE_ANNOTATION] === "true",
  };
}
