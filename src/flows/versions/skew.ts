// Version skew between this client, the operator(s) running in the cluster and the installed CRDs (pure). `scone
// version` and `scone cas report` show the facts and these warnings; the observation is observe.ts's.

export interface OperatorVersion {
  readonly namespace: string;
  readonly name: string;
  /** The manager container's image. */
  readonly image: string;
  /** scone's version: the image tag when it is one (undefined for `latest`, a digest, no tag). */
  readonly version: string | undefined;
  /** The SCONE service version the install deploys (label app.kubernetes.io/version). */
  readonly sconeVersion: string | undefined;
  readonly replicas: number;
  readonly ready: number;
}

export interface CrdVersion {
  readonly name: string;
  /** Whether the CRD is installed at all. */
  readonly installed: boolean;
  /** API versions the CRD serves. */
  readonly served: readonly string[];
  /** The scone release that installed it (label app.kubernetes.io/version); undefined for upstream's or older. */
  readonly installedBy: string | undefined;
  /** The API version this client uses for the kind. */
  readonly expected: string;
}

interface Semver {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** "0.1.0", "v0.1.0-dev", "1.2.3+x" → numbers; anything else undefined. Pre-release and build parts are ignored. */
export function parseVersion(text: string | undefined): Semver | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text ?? "");
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

function compare(a: Semver, b: Semver): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** The tag of an image reference (`reg:5000/scone:0.1.0@sha256:…` → 0.1.0); undefined without one. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split("@")[0] ?? "";
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  return colon === -1 ? undefined : lastSegment.slice(colon + 1);
}

const UPDATE_HINT = "run 'scone operator install --reconcile --update' with this client";

/** The warnings for one observation; empty when client, operators and CRDs agree. */
export function skewWarnings(
  client: string,
  operators: readonly OperatorVersion[],
  crds: readonly CrdVersion[],
): string[] {
  const warnings: string[] = [];
  const ours = parseVersion(client);
  for (const op of operators) {
    const where = `operator ${op.namespace}/${op.name}`;
    const theirs = parseVersion(op.version);
    if (!theirs) warnings.push(`${where}: cannot tell its version from image ${op.image} (no version tag)`);
    else if (ours && (theirs.major !== ours.major || theirs.minor !== ours.minor)) {
      warnings.push(`${where} runs ${op.version}, this client is ${client} (different minor version): ${UPDATE_HINT}`);
    }
  }
  for (const crd of crds) {
    const where = `CRD ${crd.name}`;
    if (!crd.installed) {
      warnings.push(`${where} is not installed: ${UPDATE_HINT}`);
      continue;
    }
    if (!crd.served.includes(crd.expected)) {
      warnings.push(
        `${where} serves ${crd.served.join(", ") || "no version"}, this client uses ${crd.expected}: ${UPDATE_HINT}`,
      );
      continue;
    }
    const by = parseVersion(crd.installedBy);
    if (ours && by && compare(by, ours) < 0) {
      warnings.push(
        `${where} was installed by scone ${crd.installedBy}, older than this client (${client}): ${UPDATE_HINT}`,
      );
    }
  }
  return warnings;
}
