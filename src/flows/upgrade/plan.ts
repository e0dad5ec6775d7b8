// `scone cas upgrade` decisions (pure): the images of the target version and the preconditions of upstream's
// `kubectl provision cas --upgrade` (SCONE-INTERFACE §10.4). An upgrade that has begun (the backup controller or CAS
// already names the target version) is continued without re-checking the start preconditions: the CAS is expected to
// be in motion then (EnablingMigration, a restarting pod).
import type { V1EnvVar } from "@kubernetes/client-node";
import type { CAS } from "../../resources/cas.ts";

export interface ImageName {
  /** Everything before the last "/" (registry and path), "" when none. */
  readonly repo: string;
  /** Last path segment without tag, e.g. "cas", "osc-cas", "cas-recovery". */
  readonly name: string;
  readonly tag: string | undefined;
}

export function parseImage(image: string): ImageName {
  const withoutDigest = image.split("@")[0] ?? image;
  const slash = withoutDigest.lastIndexOf("/");
  const last = withoutDigest.slice(slash + 1);
  const colon = last.indexOf(":");
  return {
    repo: slash < 0 ? "" : withoutDigest.slice(0, slash),
    name: colon < 0 ? last : last.slice(0, colon),
    tag: colon < 0 ? undefined : last.slice(colon + 1) || undefined,
  };
}

export const formatImage = (i: ImageName): string =>
  `${i.repo ? `${i.repo}/` : ""}${i.name}${i.tag ? `:${i.tag}` : ""}`;

const CAS_NAMES = ["cas-recovery", "cas"] as const;

/** "osc-" of "osc-cas" / "osc-cas-recovery"; undefined when the name is not a CAS image. */
export function casImagePrefix(name: string): string | undefined {
  for (const n of CAS_NAMES) if (name.endsWith(n)) return name.slice(0, name.length - n.length);
  return undefined;
}

/** The image of another SCONE component of the same registry and prefix, at `version`. */
export function siblingImage(casImage: string, component: string, version: string): string {
  const parsed = parseImage(casImage);
  const prefix = casImagePrefix(parsed.name) ?? "";
  return formatImage({ repo: parsed.repo, name: `${prefix}${component}`, tag: version });
}

export const retag = (image: string, version: string): string => formatImage({ ...parseImage(image), tag: version });

export interface UpgradeTargets {
  readonly casImage: string;
  readonly backupControllerImage: string;
  /** Set only when spec.safetyService.image is set (upstream patches it only then). */
  readonly safetyServiceImage?: string;
  /** spec.backup-controller.env with BACKUP_CAS_IMAGE = the target CAS image (other variables kept). */
  readonly backupControllerEnv: V1EnvVar[];
}

export function upgradeTargets(cas: CAS, to: string): UpgradeTargets {
  const image = cas.spec?.image ?? "";
  const casImage = siblingImage(image, "cas", to);
  const bc = cas.spec?.["backup-controller"];
  const env = ((bc?.env as V1EnvVar[] | undefined) ?? []).filter((e) => e.name !== "BACKUP_CAS_IMAGE");
  const safety = cas.spec?.safetyService?.image;
  return {
    casImage,
    backupControllerImage: bc?.image ? retag(bc.image, to) : siblingImage(image, "backup-controller", to),
    ...(safety ? { safetyServiceImage: retag(safety, to) } : {}),
    backupControllerEnv: [...env, { name: "BACKUP_CAS_IMAGE", value: casImage }],
  };
}

export const backupCasImageOf = (cas: CAS): string | undefined =>
  ((cas.spec?.["backup-controller"]?.env as V1EnvVar[] | undefined) ?? []).find((e) => e.name === "BACKUP_CAS_IMAGE")
    ?.value;

/** The backup controller already runs toward the target (image and BACKUP_CAS_IMAGE set). */
export const backupControllerAtTarget = (cas: CAS, t: UpgradeTargets): boolean =>
  cas.spec?.["backup-controller"]?.image === t.backupControllerImage && backupCasImageOf(cas) === t.casImage;

export const casAtTarget = (cas: CAS, t: UpgradeTargets): boolean => cas.spec?.image === t.casImage;

export interface UpgradeCheckInput {
  readonly cas: CAS | undefined;
  readonly to: string;
  readonly force: boolean;
}

export type UpgradeCheck =
  | { readonly action: "refuse"; readonly reasons: readonly string[] }
  | {
      readonly action: "upgrade";
      readonly from: string;
      readonly targets: UpgradeTargets;
      /** An earlier run got as far as switching an image: the start preconditions are not checked again. */
      readonly resuming: boolean;
      /** Preconditions --force overrode (for the report). */
      readonly forced: readonly string[];
    };

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

export function checkUpgrade(input: UpgradeCheckInput): UpgradeCheck {
  const { cas, to } = input;
  if (!cas) return { action: "refuse", reasons: ["the CAS does not exist"] };
  const image = cas.spec?.image;
  if (!image) return { action: "refuse", reasons: ["spec.image is not set: the current version is unknown"] };
  const parsed = parseImage(image);
  const from = parsed.tag ?? (cas.status?.version && cas.status.version !== "unknown" ? cas.status.version : undefined);
  if (!from) return { action: "refuse", reasons: [`image ${image} has no tag: the current version is unknown`] };
  const targets = upgradeTargets(cas, to);
  const casSwitched = casAtTarget(cas, targets);
  const reported = cas.status?.version;
  const finished =
    casSwitched && cas.status?.state === "HEALTHY" && (!reported || reported === "unknown" || reported === to);
  // Switched images without a HEALTHY CAS on them yet: an earlier run stopped while waiting.
  const resuming = !finished && (casSwitched || backupControllerAtTarget(cas, targets));
  const bc = cas.spec?.["backup-controller"];

  const hard: string[] = [];
  if (!bc?.session) {
    hard.push(
      "spec.backup-controller.session is not set: the backup controller cannot register backups of the new version (provision the CAS with the backup controller enabled)",
    );
  }
  if (bc?.session && bc.enabled !== true) {
    hard.push(
      "spec.backup-controller.enabled is false: without registered backups of the new version the operator holds the new image back (enable the backup controller first)",
    );
  }
  if (!sameJson(cas.spec?.tolerations, bc?.tolerations)) {
    hard.push("spec.tolerations and spec.backup-controller.tolerations differ: make them equal first");
  }
  if (resuming) {
    return hard.length > 0
      ? { action: "refuse", reasons: hard }
      : { action: "upgrade", from, targets, resuming, forced: [] };
  }
  if (finished || from === to) hard.unshift(`the CAS already runs version ${to}: nothing to upgrade`);
  if (from.startsWith("5.8.") && to.startsWith("5.8."))
    hard.push(`upgrades from 5.8.x to 5.8.x are not supported (${from} → ${to})`);

  const soft: string[] = [];
  if (casImagePrefix(parsed.name) === undefined) {
    soft.push(`image ${image} is not a SCONE CAS image (cas:${from} or cas-recovery:${from})`);
  }
  const state = cas.status?.state;
  if (state !== "HEALTHY") {
    soft.push(`the CAS is not HEALTHY (state ${state ?? "unknown"}, phase ${cas.status?.phase ?? "unknown"})`);
  }
  if (hard.length > 0 || (soft.length > 0 && !input.force)) {
    return {
      action: "refuse",
      reasons: [...hard, ...(input.force ? [] : soft.map((s) => `${s}; --force upgrades anyway`))],
    };
  }
  return { action: "upgrade", from, targets, resuming: false, forced: input.force ? soft : [] };
}
