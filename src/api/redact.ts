// Secret-bearing fields of the SCONE resources, redacted for every caller below admin: they appear as "<redacted>"
// (so a reader sees that a value is set) but never with their value. The fields: LAS spec.dcapKey (Intel PCS API
// key), CAS spec.ownerConfig (owner_config.toml), the values of a Vault's spec.server.extraEnvironmentVars (vault
// credentials go there), and kubectl's last-applied-configuration annotation, which repeats the whole spec.
// Objects from the informer cache are shared: redaction copies along the changed path, never mutates.
import type { KubeObject } from "../kube/types.ts";
import type { SconeKind } from "../resources/kinds.ts";

export const REDACTED = "<redacted>";
export const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** Paths of secret-bearing fields per kind; "*" = every key of the map at that point. */
export const SECRET_FIELDS: Partial<Record<SconeKind, readonly (readonly string[])[]>> = {
  LAS: [["spec", "dcapKey"]],
  CAS: [["spec", "ownerConfig"]],
  Vault: [["spec", "server", "extraEnvironmentVars", "*"]],
};

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** A copy of `obj` with each present field at `path` replaced by REDACTED (the original is left alone). */
function redactPath(obj: Json, path: readonly string[]): Json {
  const [head, ...rest] = path;
  if (head === undefined) return obj;
  const keys = head === "*" ? Object.keys(obj) : [head];
  let copy: Json | undefined;
  for (const key of keys) {
    if (!Object.hasOwn(obj, key)) continue;
    const value = obj[key];
    let next: unknown;
    if (rest.length === 0) next = value === undefined || value === null ? value : REDACTED;
    else next = isRecord(value) ? redactPath(value, rest) : value;
    if (next !== value) {
      copy ??= { ...obj };
      copy[key] = next;
    }
  }
  return copy ?? obj;
}

export function redactResource(kind: SconeKind, obj: KubeObject): KubeObject {
  let out = obj as unknown as Json;
  for (const path of SECRET_FIELDS[kind] ?? []) out = redactPath(out, path);
  // Whatever the kind: the annotation holds the applied spec, secrets included.
  out = redactPath(out, ["metadata", "annotations", LAST_APPLIED]);
  return out as unknown as KubeObject;
}
