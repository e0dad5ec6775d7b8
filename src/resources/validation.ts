// Defaulting and validation of scone resources, from the same schema tree the CRDs are generated from.
// Mirrors the API server's structural-schema behaviour (nulls of non-nullable fields are dropped, defaults fill
// absent properties of objects that exist, recursively) so the admission webhooks and the CLI see what the
// server would store, and adds the few cross-field rules upstream documents but no schema can express.

import { NONCE_PATTERN } from "./cas.ts";
import { isSconeKind, resourceDefinitions, SCONE_KINDS } from "./kinds.ts";
import type { Schema } from "./schema.ts";

export interface ValidationIssue {
  /** Path of the offending field, e.g. `spec.nonce`, `spec.tolerations[0].key`, `spec.nodeSelector[a/b]`. */
  field: string;
  /** What is wrong and how to fix it. */
  message: string;
}

export interface ValidateOptions {
  /**
   * Fields the schema does not know. The API server drops them silently (kubectl warns), so by default they are
   * not issues; "report" lists them, for linting manifests.
   */
  unknownFields?: "ignore" | "report";
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

/** Returns a copy of `resource` with the schema defaults of its kind applied to spec and status. */
export function applyDefaults<T>(kind: string, resource: T): T {
  if (!isSconeKind(kind) || !isObject(resource)) return resource;
  const d = resourceDefinitions[kind];
  const out: Json = { ...resource };
  for (const [part, schema] of [
    ["spec", d.spec],
    ["status", d.status],
  ] as const) {
    if (out[part] !== undefined && out[part] !== null) out[part] = defaultsOf(schema, out[part]);
  }
  return out as T;
}

/** Applies the defaults of `schema` inside `value` (which is not modified). */
export function defaultsOf(schema: Schema<unknown>, value: unknown): unknown {
  if (schema.properties && isObject(value)) {
    const out: Json = { ...value };
    for (const [name, child] of Object.entries(schema.properties)) {
      let v = out[name];
      if (v === null && !child.keywords.nullable) {
        delete out[name];
        v = undefined;
      }
      if (v === undefined && child.keywords.default !== undefined) v = structuredClone(child.keywords.default);
      if (v !== undefined) out[name] = defaultsOf(child, v);
    }
    return out;
  }
  if (schema.items && Array.isArray(value)) {
    const items = schema.items;
    return value.map((item) => defaultsOf(items, item));
  }
  if (schema.additionalProperties && isObject(value)) {
    const values = schema.additionalProperties;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, defaultsOf(values, v)]));
  }
  return value;
}

/**
 * Every problem of `resource` as a resource of `kind`; empty when the API server and operator would accept it.
 * Schema defaults are applied first, as the API server does (a required field with a default may be left out).
 */
export function validate(kind: string, given: unknown, opts: ValidateOptions = {}): ValidationIssue[] {
  if (!isSconeKind(kind)) {
    return [{ field: "kind", message: `unknown kind "${kind}"; use one of ${SCONE_KINDS.join(", ")}` }];
  }
  const resource = applyDefaults(kind, given);
  if (!isObject(resource))
    return [{ field: "", message: `a ${kind} must be an object with apiVersion, kind, metadata and spec` }];
  const d = resourceDefinitions[kind];
  const issues: ValidationIssue[] = [];
  const apiVersion = `${d.group}/${d.version}`;
  if (resource.apiVersion !== undefined && resource.apiVersion !== apiVersion) {
    issues.push({
      field: "apiVersion",
      message: `must be "${apiVersion}" for kind ${kind}; got ${show(resource.apiVersion)}`,
    });
  }
  if (resource.kind !== undefined && resource.kind !== kind) {
    issues.push({ field: "kind", message: `must be "${kind}"; got ${show(resource.kind)}` });
  }
  const spec = resource.spec ?? undefined;
  if (spec === undefined && d.specRequired) issues.push({ field: "spec", message: `required: a ${kind} needs a spec` });
  if (spec !== undefined) issues.push(...validateValue(d.spec, spec, "spec", opts));
  if (resource.status !== undefined && resource.status !== null) {
    issues.push(...validateValue(d.status, resource.status, "status", opts));
  }
  issues.push(...crossFieldIssues(kind, resource));
  return issues;
}

/**
 * Rules upstream documents in field descriptions that a schema cannot express. Only documented ones: a rule of
 * our own could refuse a manifest the upstream operator accepts.
 */
function crossFieldIssues(kind: string, resource: Json): ValidationIssue[] {
  const spec = isObject(resource.spec) ? resource.spec : {};
  const issues: ValidationIssue[] = [];
  if (kind === "CAS") {
    const bc = spec["backup-controller"];
    if (isObject(bc) && bc.enabled === true && (typeof bc.session !== "string" || bc.session === "")) {
      issues.push({
        field: "spec.backup-controller.session",
        message:
          'required when spec.backup-controller.enabled is true: name the session whose CLI configuration holds the owner identity, e.g. "my-namespace/upgrade"',
      });
    }
  }
  return issues;
}

const patterns = new Map<string, RegExp>();
function compiled(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    re = new RegExp(pattern, "u");
    patterns.set(pattern, re);
  }
  return re;
}

const INT32 = { min: -2147483648, max: 2147483647 };
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a number";
  return `a ${typeof v}`;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "an object (key: value pairs)",
  array: "a list",
};

function typeIssue(schema: Schema<unknown>, value: unknown, field: string): ValidationIssue | undefined {
  const k = schema.keywords;
  if (k["x-kubernetes-int-or-string"]) {
    if (typeof value === "string" || (typeof value === "number" && Number.isInteger(value))) return undefined;
    return { field, message: `must be an integer or a string; got ${kindOf(value)}` };
  }
  const type = k.type;
  if (type === undefined) return undefined;
  const ok =
    (type === "string" && typeof value === "string") ||
    (type === "integer" && typeof value === "number" && Number.isInteger(value)) ||
    (type === "number" && typeof value === "number") ||
    (type === "boolean" && typeof value === "boolean") ||
    (type === "object" && isObject(value)) ||
    (type === "array" && Array.isArray(value));
  if (ok) return undefined;
  let fix = "";
  if (type === "string" && (typeof value === "number" || typeof value === "boolean")) fix = ` (quote it: "${value}")`;
  if (type === "boolean" && (value === "true" || value === "false")) fix = ` (write ${value} without quotes)`;
  if ((type === "integer" || type === "number") && typeof value === "string" && /^-?\d+$/.test(value)) {
    fix = ` (write ${value} without quotes)`;
  }
  return { field, message: `must be ${EXPECTED[type] ?? type}; got ${kindOf(value)} ${show(value)}${fix}` };
}

function withHint(schema: Schema<unknown>, message: string): string {
  return schema.hint === undefined ? message : `${message}; use ${schema.hint}`;
}

function validateValue(
  schema: Schema<unknown>,
  value: unknown,
  field: string,
  opts: ValidateOptions,
): ValidationIssue[] {
  const k = schema.keywords;
  if (value === null) {
    // The API server drops nulls of non-nullable fields before validation (they then count as absent).
    return [];
  }
  const wrongType = typeIssue(schema, value, field);
  if (wrongType) return [{ ...wrongType, message: withHint(schema, wrongType.message) }];
  const issues: ValidationIssue[] = [];
  const fail = (problem: string) => issues.push({ field, message: withHint(schema, problem) });

  if (k.enum !== undefined && !k.enum.includes(value as string)) {
    fail(`must be one of ${k.enum.map((e) => JSON.stringify(e)).join(", ")}; got ${show(value)}`);
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (k.minLength !== undefined && length < k.minLength) {
      fail(`must be at least ${k.minLength} characters long; got ${length}`);
    } else if (k.maxLength !== undefined && length > k.maxLength) {
      fail(`must be at most ${k.maxLength} characters long; got ${length}`);
    }
    if (k.pattern !== undefined && !compiled(k.pattern).test(value)) {
      fail(
        k.pattern === NONCE_PATTERN
          ? `must be 32 hexadecimal characters; got ${show(value)}`
          : `must match ${k.pattern}; got ${show(value)}`,
      );
    }
    if (k.format === "date-time" && !RFC3339.test(value)) {
      fail(`must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z; got ${show(value)}`);
    }
  }
  if (typeof value === "number") {
    if (k.minimum !== undefined && value < k.minimum) fail(`must be at least ${k.minimum}; got ${value}`);
    if (k.maximum !== undefined && value > k.maximum) fail(`must be at most ${k.maximum}; got ${value}`);
    if (k.format === "int32" && (value < INT32.min || value > INT32.max)) {
      fail(`must fit in 32 bits (${INT32.min}..${INT32.max}); got ${value}`);
    }
  }
  if (Array.isArray(value)) {
    if (k.minItems !== undefined && value.length < k.minItems) fail(`needs at least ${k.minItems} entries`);
    if (k.maxItems !== undefined && value.length > k.maxItems) fail(`allows at most ${k.maxItems} entries`);
    const items = schema.items;
    if (items) {
      for (const [i, item] of value.entries()) issues.push(...validateValue(items, item, `${field}[${i}]`, opts));
    }
    issues.push(...duplicateKeyIssues(schema, value, field));
  }
  if (isObject(value)) {
    if (schema.properties) {
      for (const name of k.required ?? []) {
        if (value[name] === undefined || value[name] === null) {
          issues.push({ field: `${field}.${name}`, message: requiredMessage(schema.properties[name]) });
        }
      }
      for (const [name, v] of Object.entries(value)) {
        const child = schema.properties[name];
        if (child) issues.push(...validateValue(child, v, `${field}.${name}`, opts));
        else if (opts.unknownFields === "report" && !k["x-kubernetes-preserve-unknown-fields"]) {
          issues.push({
            field: `${field}.${name}`,
            message: unknownFieldMessage(name, Object.keys(schema.properties)),
          });
        }
      }
    } else if (schema.additionalProperties) {
      const values = schema.additionalProperties;
      for (const [key, v] of Object.entries(value)) issues.push(...validateValue(values, v, `${field}[${key}]`, opts));
    }
  }
  return issues;
}

/** x-kubernetes-list-type map/set: entries must be unique by their keys (the API server refuses duplicates). */
function duplicateKeyIssues(schema: Schema<unknown>, list: unknown[], field: string): ValidationIssue[] {
  const listType = schema.keywords["x-kubernetes-list-type"];
  if (listType !== "map" && listType !== "set") return [];
  const keys = schema.keywords["x-kubernetes-list-map-keys"] ?? [];
  const seen = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  list.forEach((item, i) => {
    const id =
      listType === "set"
        ? JSON.stringify(item)
        : JSON.stringify(keys.map((key) => (isObject(item) ? item[key] : undefined)));
    const first = seen.get(id);
    if (first === undefined) seen.set(id, i);
    else {
      const what = listType === "set" ? "value" : keys.join("/");
      issues.push({
        field: `${field}[${i}]`,
        message: `duplicate ${what} of ${field}[${first}]; merge or remove one of them`,
      });
    }
  });
  return issues;
}

function requiredMessage(schema: Schema<unknown> | undefined): string {
  const type = schema?.keywords.type;
  const what = schema?.hint ?? (type === undefined ? undefined : EXPECTED[type]);
  return what === undefined ? "required: add this field" : `required: add this field (${what})`;
}

function unknownFieldMessage(name: string, known: readonly string[]): string {
  const close = known.filter((k) => k.toLowerCase() === name.toLowerCase() || editDistance(k, name) <= 2);
  if (close.length > 0) return `unknown field (the API server drops it); did you mean ${close.join(" or ")}?`;
  return `unknown field (the API server drops it); fields allowed here: ${known.join(", ")}`;
}

/** Levenshtein distance, for "did you mean" on misspelt field names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
