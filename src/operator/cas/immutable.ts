// StatefulSet fields the API server refuses to change: the volume claim templates. A changed spec.persistence or
// databaseSnapshots.persistence on an existing CAS would make every apply fail (and the status stop updating), so
// the running claims are kept and the status says which change was not applied and what to do instead (pure).
import type { V1PersistentVolumeClaim, V1StatefulSet } from "@kubernetes/client-node";

const claimShape = (c: V1PersistentVolumeClaim) => ({
  name: c.metadata?.name ?? "",
  size: String(c.spec?.resources?.requests?.storage ?? ""),
  storageClass: c.spec?.storageClassName ?? "",
  accessModes: [...(c.spec?.accessModes ?? [])].sort().join(","),
});

const describeClaims = (claims: readonly V1PersistentVolumeClaim[]): string =>
  claims.length === 0
    ? "none"
    : claims
        .map(claimShape)
        .map((c) => `${c.name} ${c.size}${c.storageClass ? ` class ${c.storageClass}` : ""} ${c.accessModes}`)
        .join(", ");

export interface ImmutableCheck {
  readonly statefulSet: V1StatefulSet;
  /** Why the desired claims were not applied; undefined when nothing had to be kept. */
  readonly refused?: string;
}

/** `desired` with the observed volume claim templates when they differ from the desired ones. */
export function keepImmutableClaims(desired: V1StatefulSet, observed: V1StatefulSet | undefined): ImmutableCheck {
  if (!observed?.spec) return { statefulSet: desired };
  const want = desired.spec?.volumeClaimTemplates ?? [];
  const have = observed.spec.volumeClaimTemplates ?? [];
  const same =
    want.length === have.length &&
    want.every((w, i) => {
      const h = have[i];
      if (!h) return false;
      const a = claimShape(w);
      const b = claimShape(h);
      // An unset class in the desired claim means "cluster default", whatever the server recorded.
      return (
        a.name === b.name &&
        a.size === b.size &&
        a.accessModes === b.accessModes &&
        (!a.storageClass || a.storageClass === b.storageClass)
      );
    });
  if (same) return { statefulSet: desired };
  const kept = have.map(({ status: _status, ...claim }) => claim);
  return {
    statefulSet: {
      ...desired,
      spec: { ...(desired.spec as NonNullable<V1StatefulSet["spec"]>), volumeClaimTemplates: kept },
    },
    refused: `the volume claims of a running CAS cannot change (StatefulSet volumeClaimTemplates are immutable): it keeps ${describeClaims(have)} instead of ${describeClaims(want)}; resize the PVC itself, or move the database to a new CAS with a backup and restore`,
  };
}
