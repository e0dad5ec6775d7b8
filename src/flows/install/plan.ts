// The install planner (pure): desired objects and what the cluster has → one step per object, saying whether it
// is created, updated (with the fields that differ), left alone, deleted or patched. The executor only runs the
// steps; report mode only prints them. Secret values never enter a step's text: Secret data and DCAP keys are
// named by path, never shown.
import type { KubeObject, ObjectRef } from "../../kube/types.ts";
import { UPSTREAM_CRD_TAKEOVER_PATCH } from "../../resources/crds.ts";
import { APPLIED_HASH_ANNOTATION, isUpToDate, withAppliedHash } from "../../runtime/drift.ts";
import { INSTALL_PHASES, type InstallPhase } from "./desired.ts";
import { AUTH_HASH_ANNOTATION } from "./pull-secrets.ts";

export type StepAction = "create" | "update" | "unchanged" | "delete" | "patch" | "missing";

export interface FieldChange {
  readonly path: string;
  /** Rendered old and new values; absent for secret fields. */
  readonly from?: string;
  readonly to?: string;
}

export interface PlanStep {
  readonly phase: InstallPhase;
  readonly action: StepAction;
  readonly ref: ObjectRef;
  /** Why (takeover, --update, what to do about a missing object). */
  readonly reason?: string;
  readonly changes: readonly FieldChange[];
  /** create/update: the object to server-side apply (carries the applied-hash annotation). */
  readonly apply?: KubeObject;
  /** update: JSON merge patch to send before the apply (taking over an upstream CRD). */
  readonly mergePatchFirst?: unknown;
  /** patch: the JSON merge patch. */
  readonly mergePatch?: unknown;
  /** update: the object must be deleted and created (a Secret's type cannot change). */
  readonly recreate?: boolean;
}

/** Observed objects by key (refKey); undefined = looked up, not there. */
export type Observed = ReadonlyMap<string, KubeObject | undefined>;

export const refKey = (r: ObjectRef): string => `${r.apiVersion}|${r.kind}|${r.namespace ?? ""}|${r.name}`;

export function refOfObject(o: KubeObject): ObjectRef {
  const name = o.metadata?.name;
  if (!o.apiVersion || !o.kind || !name) throw new Error("a desired object lacks apiVersion, kind or metadata.name");
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name,
    ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
  };
}

export function describeRef(r: ObjectRef): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
}

// ---- field-level differences (for people; isUpToDate decides) ----

const MAX_VALUE_CHARS = 60;
const MAX_CHANGES = 12;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function render(v: unknown): string {
  if (v === undefined) return "(absent)";
  const s = JSON.stringify(v);
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const child = (path: string, key: string) =>
  SIMPLE_KEY.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;

/** Paths whose values are secrets (or hashes of them, which say nothing to a reader): shown by name only. */
export function isSecretPath(kind: string | undefined, path: string): boolean {
  return (
    (kind === "Secret" && /^(data|stringData)\b/.test(path)) ||
    /(^|\.)dcapKey$/.test(path) ||
    path.includes(AUTH_HASH_ANNOTATION)
  );
}

const APPLIED_HASH_PATH = `metadata.annotations[${JSON.stringify(APPLIED_HASH_ANNOTATION)}]`;

/** The applied-hash annotation changes with every other change; it is only worth naming when alone. */
function withoutHashNoise(changes: FieldChange[]): FieldChange[] {
  const rest = changes.filter((c) => c.path !== APPLIED_HASH_PATH);
  return rest.length > 0 ? rest : changes;
}

const scalarEqual = (a: unknown, b: unknown) =>
  a === b ||
  ((typeof a === "number" || typeof a === "string") &&
    (typeof b === "number" || typeof b === "string") &&
    String(a) === String(b));

/** Where `desired` is not contained in `observed` (same leniency as drift.isSubset). */
export function fieldDiff(desired: unknown, observed: unknown, kind?: string): FieldChange[] {
  const out: FieldChange[] = [];
  const add = (path: string, from: unknown, to: unknown) => {
    if (out.length >= MAX_CHANGES) return;
    out.push(isSecretPath(kind, path) ? { path } : { path, from: render(from), to: render(to) });
  };
  const walk = (d: unknown, o: unknown, path: string) => {
    if (out.length >= MAX_CHANGES || d === undefined) return;
    if (Array.isArray(d)) {
      if (!Array.isArray(o) || o.length !== d.length) {
        if (d.length === 0 && o === undefined) return;
        add(path, Array.isArray(o) ? `${o.length} items` : o, `${d.length} items`);
        return;
      }
      for (const [i, x] of d.entries()) walk(x, o[i], `${path}[${i}]`);
      return;
    }
    if (isRecord(d)) {
      if (!isRecord(o)) {
        if (o === undefined && Object.keys(d).length === 0) return;
        if (o === undefined) for (const [k, v] of Object.entries(d)) walk(v, undefined, child(path, k));
        else add(path, o, d);
        return;
      }
      for (const [k, v] of Object.entries(d)) walk(v, o[k], child(path, k));
      return;
    }
    if (!scalarEqual(d, o ?? null)) add(path, o, d);
  };
  walk(desired, observed, "");
  return out;
}

// ---- the planner ----

export interface PlanInput {
  readonly desired: readonly { readonly phase: InstallPhase; readonly object: KubeObject }[];
  readonly observed: Observed;
  /** --update: re-apply what exists even when it matches. */
  readonly forceUpdate?: boolean;
  /** Must exist, cannot be rendered here: a "missing" step when absent (nothing when present). */
  readonly required?: readonly { readonly phase: InstallPhase; readonly ref: ObjectRef; readonly hint: string }[];
  /** Existing objects to delete (another SGXPlugin, leftovers of an upstream install), with the reason. */
  readonly deletions?: readonly {
    readonly phase: InstallPhase;
    readonly object: KubeObject;
    readonly reason: string;
  }[];
  /** Merge patches for existing objects, applied before that phase's objects. */
  readonly patches?: readonly {
    readonly phase: InstallPhase;
    readonly ref: ObjectRef;
    readonly mergePatch: unknown;
    readonly reason: string;
  }[];
}

/** A CRD installed by the upstream chart: conversion webhook or cert-manager CA injection still set. */
export function isUpstreamCrd(observed: KubeObject | undefined): boolean {
  const o = observed as (KubeObject & { spec?: { conversion?: { strategy?: string } } }) | undefined;
  return (
    o !== undefined &&
    (o.spec?.conversion?.strategy === "Webhook" ||
      o.metadata?.annotations?.["cert-manager.io/inject-ca-from"] !== undefined)
  );
}

function applyStep(
  phase: InstallPhase,
  object: KubeObject,
  observed: KubeObject | undefined,
  forceUpdate: boolean,
): PlanStep {
  const want = withAppliedHash(object) as KubeObject;
  const ref = refOfObject(object);
  if (!observed) return { phase, action: "create", ref, changes: [], apply: want };
  const takeover = object.kind === "CustomResourceDefinition" && isUpstreamCrd(observed);
  const recreate =
    object.kind === "Secret" && (object as { type?: string }).type !== (observed as { type?: string }).type;
  if (!takeover && !recreate && isUpToDate(want, observed)) {
    return forceUpdate
      ? { phase, action: "update", ref, reason: "--update re-applies it", changes: [], apply: want }
      : { phase, action: "unchanged", ref, changes: [] };
  }
  return {
    phase,
    action: "update",
    ref,
    changes: withoutHashNoise(fieldDiff(want, observed, object.kind)),
    apply: want,
    ...(takeover
      ? { mergePatchFirst: UPSTREAM_CRD_TAKEOVER_PATCH, reason: "installed by the upstream chart: taken over" }
      : {}),
    ...(recreate ? { recreate: true, reason: "the Secret has another type: replaced" } : {}),
  };
}

/** One step per desired, required, deleted or patched object, in phase order (stable within a phase). */
export function planInstall(input: PlanInput): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const phase of INSTALL_PHASES) {
    for (const d of input.deletions ?? []) {
      if (d.phase === phase) {
        steps.push({ phase, action: "delete", ref: refOfObject(d.object), reason: d.reason, changes: [] });
      }
    }
    for (const p of input.patches ?? []) {
      if (p.phase === phase) {
        steps.push({ phase, action: "patch", ref: p.ref, reason: p.reason, mergePatch: p.mergePatch, changes: [] });
      }
    }
    for (const r of input.required ?? []) {
      if (r.phase === phase && input.observed.get(refKey(r.ref)) === undefined) {
        steps.push({ phase, action: "missing", ref: r.ref, reason: r.hint, changes: [] });
      }
    }
    for (const d of input.desired) {
      if (d.phase !== phase) continue;
      const observed = input.observed.get(refKey(refOfObject(d.object)));
      steps.push(applyStep(phase, d.object, observed, input.forceUpdate === true));
    }
  }
  return steps;
}

/** Steps that change the cluster (a missing object that cannot be created is not one). */
export const isWrite = (s: PlanStep): boolean => s.action !== "unchanged" && s.action !== "missing";
