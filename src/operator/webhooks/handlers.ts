// The admission decisions, as pure functions of the review (and, for validation, facts the server looked up):
// mutation applies upstream's webhook defaults (src/resources/defaults.ts) and answers the difference as a JSON
// Patch; validation answers every field problem at once, named by path, plus the rules no schema can express.
import { applyWebhookDefaults, type WebhookDefaultsOptions } from "../../resources/defaults.ts";
import { type ValidationIssue, validate } from "../../resources/validation.ts";
import { type AdmissionRequest, type AdmissionReview, allow, deny } from "./admission.ts";
import type { WebhookKind } from "./endpoints.ts";
import { diffJsonPatch } from "./json-patch.ts";

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Kinds of which a cluster holds one object: a second LAS or SGX plugin would fight over the same nodes and ports. */
export const SINGLETON_KINDS: ReadonlySet<WebhookKind> = new Set(["LAS", "SGXPlugin"]);

/** At most this many problems are listed in one refusal; the count of the rest follows. */
const MAX_LISTED_ISSUES = 20;

function wrongKind(review: AdmissionReview, kind: WebhookKind): AdmissionReview | undefined {
  const got = review.request?.kind.kind;
  if (got === kind) return undefined;
  return deny(
    review,
    `this webhook admits ${kind} objects, got ${got ?? "nothing"}: check the webhook configuration's rules`,
    400,
    "BadRequest",
  );
}

/** A create or update of the webhook's kind that changes the spec: the request and its object. */
interface ToJudge {
  readonly request: AdmissionRequest;
  readonly object: Record<string, unknown>;
}

/**
 * What both webhooks judge, or their answer when there is nothing to judge: other operations and updates leaving
 * the spec alone are allowed, a review of another kind or without an object is refused.
 */
function toJudge(kind: WebhookKind, review: AdmissionReview): ToJudge | { readonly answer: AdmissionReview } {
  const request = review.request;
  if (!request || (request.operation !== "CREATE" && request.operation !== "UPDATE")) return { answer: allow(review) };
  const refused = wrongKind(review, kind);
  if (refused) return { answer: refused };
  const object = request.object;
  if (!isObject(object))
    return { answer: deny(review, "request.object is missing or not an object", 400, "BadRequest") };
  if (request.operation === "UPDATE" && !specChanged(object, request.oldObject)) return { answer: allow(review) };
  return { request, object };
}

/** Mutating webhook: the object with upstream's defaults, as a JSON Patch against what was sent. */
export function mutateAdmission(
  kind: WebhookKind,
  review: AdmissionReview,
  defaults: WebhookDefaultsOptions,
): AdmissionReview {
  const judged = toJudge(kind, review);
  if ("answer" in judged) return judged.answer;
  const { object } = judged;
  // The kind comes from the request: objects inside reviews always carry it, but do not depend on that.
  const defaulted = applyWebhookDefaults({ ...object, kind }, defaults);
  const patch = diffJsonPatch(object, { ...defaulted, kind: object.kind ?? kind });
  return allow(review, { patch });
}

/** An object of a singleton kind that exists already. */
export interface ExistingObject {
  readonly name: string;
  /** metadata.deletionTimestamp is set: it is going away, but its pods may still hold the nodes. */
  readonly terminating: boolean;
}

/** What the server looked up for validation (the only inputs not in the review). */
export interface ValidationFacts {
  /** Existing objects of the request's kind (looked up for singleton kinds only). */
  readonly existing?: readonly ExistingObject[];
  /** What the cluster admin's admission policy refuses in the object (src/operator/admission). */
  readonly policyIssues?: readonly ValidationIssue[];
}

/** `spec.nonce: must be 32 hexadecimal characters; got "x"; spec.foo: …` */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  const listed = issues
    .slice(0, MAX_LISTED_ISSUES)
    .map((i) => (i.field === "" ? i.message : `${i.field}: ${i.message}`));
  const rest = issues.length - listed.length;
  return `${listed.join("; ")}${rest > 0 ? `; and ${rest} more` : ""}`;
}

/** Why a new object of a singleton kind cannot be created, or undefined. */
export function singletonIssue(
  kind: WebhookKind,
  name: string,
  existing: readonly ExistingObject[],
): ValidationIssue | undefined {
  if (!SINGLETON_KINDS.has(kind)) return undefined;
  const other = existing.find((o) => o.name !== name);
  if (!other) return undefined;
  const plural = kind === "LAS" ? "las" : "sgxplugins";
  const state = other.terminating ? " and is still being deleted; wait until it is gone" : "";
  return {
    field: "metadata.name",
    message:
      `only one ${kind} per cluster is allowed: ${kind} "${other.name}" already exists${state}; ` +
      `change that one (kubectl edit ${plural} ${other.name}) or delete it first (kubectl delete ${plural} ${other.name})`,
  };
}

/** Safety service defaults (CRD descriptions): desiredReplicas 3, minReplicas 2. */
const SAFETY_SERVICE_DEFAULTS = { desiredReplicas: 3, minReplicas: 2 } as const;

/**
 * Rules only the webhook enforces (not `scone validate`, which must accept what upstream accepts): a CAS whose
 * safety service PodDisruptionBudget asks for more pods than exist would block every node drain forever.
 */
export function admissionOnlyIssues(kind: WebhookKind, object: Record<string, unknown>): ValidationIssue[] {
  if (kind !== "CAS" || !isObject(object.spec)) return [];
  const ss = object.spec.safetyService;
  if (!isObject(ss) || ss.enabled === false) return [];
  const min = typeof ss.minReplicas === "number" ? ss.minReplicas : SAFETY_SERVICE_DEFAULTS.minReplicas;
  const desired = typeof ss.desiredReplicas === "number" ? ss.desiredReplicas : SAFETY_SERVICE_DEFAULTS.desiredReplicas;
  if (min <= desired) return [];
  return [
    {
      field: "spec.safetyService.minReplicas",
      message: `${min} exceeds spec.safetyService.desiredReplicas (${desired}): the PodDisruptionBudget would block every node drain; lower minReplicas or raise desiredReplicas`,
    },
  ];
}

/**
 * Whether an UPDATE touches the spec. Updates of metadata only (finalizers, labels, owner references) and of
 * objects being deleted are always allowed: refusing them for a rule added after the object was stored would
 * keep the operator from removing its finalizer, and the object could never be deleted.
 */
export function specChanged(object: unknown, oldObject: unknown): boolean {
  if (!isObject(object)) return true;
  if (isObject(object.metadata) && object.metadata.deletionTimestamp != null) return false;
  if (!isObject(oldObject)) return true;
  return JSON.stringify(canonical(object.spec)) !== JSON.stringify(canonical(oldObject.spec));
}

/** Key order does not make a spec different. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical(v[k])]),
  );
}

/*
 * Not enforced, though suggested: "on upgrade the backup controller's tolerations must equal the CAS's". The
 * backup controller's job is to register backup CAS instances on other nodes, so different tolerations are
 * legitimate, and upstream documents no such rule (refusing it would break manifests upstream accepts).
 */

/** Validating webhook: refuses with every problem listed, or allows. */
export function validateAdmission(
  kind: WebhookKind,
  review: AdmissionReview,
  facts: ValidationFacts = {},
): AdmissionReview {
  const judged = toJudge(kind, review);
  if ("answer" in judged) return judged.answer;
  const { request, object } = judged;
  const issues: ValidationIssue[] = [];
  if (request.operation === "CREATE") {
    const name =
      request.name ??
      (isObject(object.metadata) && typeof object.metadata.name === "string" ? object.metadata.name : "");
    const singleton = singletonIssue(kind, name, facts.existing ?? []);
    if (singleton) issues.push(singleton);
  }
  issues.push(...validate(kind, object), ...admissionOnlyIssues(kind, object));
  issues.push(...(facts.policyIssues ?? []));
  if (issues.length === 0) return allow(review);
  return deny(
    review,
    `${kind} ${request.name ?? ""} is invalid: ${formatIssues(issues)}`.replace(/ {2}/, " "),
    422,
    "Invalid",
  );
}
