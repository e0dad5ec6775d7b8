// RFC 6902 JSON Patch between two JSON documents: what a mutating webhook answers. Objects are diffed key by key;
// arrays and scalars that differ are replaced whole (list entries have no stable identity to diff by).

export type PatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** RFC 6901 escaping of one path segment (`~` → `~0`, `/` → `~1`): keys like `sgx.intel.com/enclave` need it. */
export const escapePointer = (segment: string): string => segment.replaceAll("~", "~0").replaceAll("/", "~1");

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => equal(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
  }
  return false;
}

/** The operations turning `before` into `after` (empty when equal). */
export function diffJsonPatch(before: unknown, after: unknown, path = ""): PatchOperation[] {
  if (equal(before, after)) return [];
  if (!isObject(before) || !isObject(after)) return [{ op: "replace", path, value: after }];
  const ops: PatchOperation[] = [];
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key)) ops.push({ op: "remove", path: `${path}/${escapePointer(key)}` });
  }
  for (const [key, value] of Object.entries(after)) {
    const child = `${path}/${escapePointer(key)}`;
    if (!Object.hasOwn(before, key)) {
      if (value !== undefined) ops.push({ op: "add", path: child, value });
    } else if (value === undefined) {
      ops.push({ op: "remove", path: child });
    } else {
      ops.push(...diffJsonPatch(before[key], value, child));
    }
  }
  return ops;
}

/** Applies a patch made by diffJsonPatch (for tests and for checking a patch round-trips). */
export function applyJsonPatch(doc: unknown, ops: readonly PatchOperation[]): unknown {
  let root = structuredClone(doc);
  for (const op of ops) {
    const segments = op.path
      .split("/")
      .slice(1)
      .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
    if (segments.length === 0) {
      if (op.op === "remove") throw new Error("cannot remove the document root");
      root = structuredClone(op.value);
      continue;
    }
    let parent: unknown = root;
    for (const s of segments.slice(0, -1)) {
      parent = Array.isArray(parent) ? parent[Number(s)] : isObject(parent) ? parent[s] : undefined;
      if (parent === undefined) throw new Error(`path ${op.path} does not exist`);
    }
    const last = segments[segments.length - 1] ?? "";
    if (!isObject(parent)) throw new Error(`path ${op.path} does not end in an object`);
    if (op.op === "remove") delete parent[last];
    else parent[last] = structuredClone(op.value);
  }
  return root;
}
