// What every renderer shares: the options they read and the helper that keeps rendered YAML minimal.

export interface RenderOptions {
  /** SCONE release used as tag of images that name none (upstream GLOBAL_SCONE_VERSION). */
  readonly serviceVersion: string;
  /** Namespace of the pods when the resource names none (upstream SCONE_OPERATOR_NAMESPACE). */
  readonly operatorNamespace: string;
}

/** Keys of `o` whose value is neither undefined nor an empty list/map (keeps rendered YAML minimal). */
export function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as Partial<T>;
}
