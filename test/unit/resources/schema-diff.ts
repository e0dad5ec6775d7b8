// Structural comparison of two OpenAPI schemas (upstream CRD vs ours), as readable difference lines.

type Json = Record<string, unknown>;

/** Keywords that decide which documents the API server accepts and how SSA merges them. */
const COMPARED_KEYWORDS = [
  "type",
  "pattern",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "format",
  "default",
  "nullable",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "anyOf",
] as const;

const asObject = (v: unknown): Json | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;

const sortedSet = (v: unknown): string =>
  JSON.stringify(Array.isArray(v) ? [...v].map((x) => JSON.stringify(x)).sort() : v);

/**
 * Lists every difference between `upstream` and `ours` under `path`. A property of ours missing upstream is
 * a difference unless its path is in `allowedExtra` (then its subtree is not compared).
 */
export function diffSchemas(
  upstream: unknown,
  ours: unknown,
  path: string,
  allowedExtra: ReadonlySet<string>,
): string[] {
  const up = asObject(upstream);
  const me = asObject(ours);
  const where = path === "" ? "(root)" : path;
  if (!up || !me) return up === me ? [] : [`${where}: present in only one schema`];
  const diffs: string[] = [];
  for (const key of COMPARED_KEYWORDS) {
    if (JSON.stringify(up[key]) !== JSON.stringify(me[key])) {
      diffs.push(`${where}: ${key} upstream=${JSON.stringify(up[key])} ours=${JSON.stringify(me[key])}`);
    }
  }
  if (sortedSet(up.enum) !== sortedSet(me.enum)) {
    diffs.push(`${where}: enum upstream=${JSON.stringify(up.enum)} ours=${JSON.stringify(me.enum)}`);
  }
  if (sortedSet(up.required ?? []) !== sortedSet(me.required ?? [])) {
    diffs.push(`${where}: required upstream=${JSON.stringify(up.required)} ours=${JSON.stringify(me.required)}`);
  }
  const upProps = asObject(up.properties) ?? {};
  const myProps = asObject(me.properties) ?? {};
  for (const name of Object.keys(upProps)) {
    const child = path === "" ? name : `${path}.${name}`;
    if (!(name in myProps)) diffs.push(`${child}: missing in ours`);
    else diffs.push(...diffSchemas(upProps[name], myProps[name], child, allowedExtra));
  }
  for (const name of Object.keys(myProps)) {
    const child = path === "" ? name : `${path}.${name}`;
    if (!(name in upProps) && !allowedExtra.has(child)) diffs.push(`${child}: only in ours (not allowed)`);
  }
  if (up.items !== undefined || me.items !== undefined)
    diffs.push(...diffSchemas(up.items, me.items, `${path}[]`, allowedExtra));
  if (up.additionalProperties !== undefined || me.additionalProperties !== undefined) {
    diffs.push(...diffSchemas(up.additionalProperties, me.additionalProperties, `${path}{}`, allowedExtra));
  }
  return diffs;
}
