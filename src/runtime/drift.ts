// "A steady state costs nothing": before applying a rendered object the reconciler asks whether the
// cluster already has it. Desired is a subset of observed when every field we set has the same value
// (the API server adds defaults and status, which we ignore); a hash of the last applied desired state,
// kept in an annotation, catches fields we stopped setting, which a subset check cannot see.

export const APPLIED_HASH_ANNOTATION = "scone.cloud/applied-hash";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Canonical JSON (sorted keys) so equal objects hash equally. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(",")}}`;
}

export function desiredHash(desired: unknown): string {
  return new Bun.CryptoHasher("sha256").update(canonicalJson(desired)).digest("hex").slice(0, 16);
}

/** Equal for our purposes: numbers and their string forms compare equal (quantities, int-or-string ports). */
function scalarEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if ((typeof a === "number" && typeof b === "string") || (typeof a === "string" && typeof b === "number"))
    return String(a) === String(b);
  return false;
}

/** Whether every field of `desired` is present with the same value in `observed`. Lists compare element-wise. */
export function isSubset(desired: unknown, observed: unknown): boolean {
  const d = desired as Json;
  const o = observed as Json;
  if (d === null || typeof d !== "object") return scalarEqual(d, o ?? null);
  if (Array.isArray(d)) {
    if (!Array.isArray(o) || o.length !== d.length) return false;
    return d.every((x, i) => isSubset(x, o[i]));
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return false;
  return Object.entries(d).every(([k, v]) => {
    if (v === undefined) return true;
    // An empty map or list we set may be omitted by the server.
    if (
      o[k] === undefined &&
      ((Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0))
    )
      return true;
    return isSubset(v, o[k]);
  });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

interface WithMeta {
  metadata?: { annotations?: Record<string, string> };
}

/** Adds the applied-hash annotation computed over the object without it. */
export function withAppliedHash<T extends object>(
  desired: T,
): T & { metadata: { annotations: Record<string, string> } } {
  const meta = (desired as WithMeta).metadata;
  const hash = desiredHash(desired);
  return { ...desired, metadata: { ...meta, annotations: { ...meta?.annotations, [APPLIED_HASH_ANNOTATION]: hash } } };
}

/** True when `observed` already matches `desiredWithHash` (the output of withAppliedHash). */
export function isUpToDate(desiredWithHash: WithMeta, observed: WithMeta | undefined): boolean {
  if (!observed) return false;
  const want = desiredWithHash.metadata?.annotations?.[APPLIED_HASH_ANNOTATION];
  if (!want || observed.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== want) return false;
  return isSubset(desiredWithHash, observed);
}
