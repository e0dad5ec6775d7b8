// AdmissionReview v1 (admission.k8s.io/v1) as the API server sends and expects it, and the builders of responses.
// client-node has no model for it (it is not a REST resource), so the shapes are declared here.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export type AdmissionOperation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code?: number; message?: string; reason?: string };
  patch?: string;
  patchType?: "JSONPatch";
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

const OPERATIONS: readonly string[] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function isGvk(v: unknown): v is GroupVersionKind {
  return isObject(v) && typeof v.group === "string" && typeof v.version === "string" && typeof v.kind === "string";
}

/** A review with a usable request, or the reason it is not one (answered with HTTP 400). */
export type ParsedReview =
  | { ok: true; review: AdmissionReview & { request: AdmissionRequest } }
  | { ok: false; error: string };

export function parseAdmissionReview(body: unknown): ParsedReview {
  if (!isObject(body)) return { ok: false, error: "body must be a JSON object (an AdmissionReview)" };
  if (body.apiVersion !== "admission.k8s.io/v1" || body.kind !== "AdmissionReview") {
    return { ok: false, error: 'expected apiVersion "admission.k8s.io/v1" and kind "AdmissionReview"' };
  }
  const request = body.request;
  if (!isObject(request)) return { ok: false, error: "request is missing" };
  if (typeof request.uid !== "string" || request.uid === "") return { ok: false, error: "request.uid is missing" };
  if (!isGvk(request.kind)) return { ok: false, error: "request.kind must have group, version and kind" };
  if (typeof request.operation !== "string" || !OPERATIONS.includes(request.operation)) {
    return { ok: false, error: `request.operation must be one of ${OPERATIONS.join(", ")}` };
  }
  return { ok: true, review: body as unknown as AdmissionReview & { request: AdmissionRequest } };
}

function respond(review: AdmissionReview, response: Omit<AdmissionResponse, "uid">): AdmissionReview {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: review.request?.uid ?? "", ...response },
  };
}

export function allow(
  review: AdmissionReview,
  extra: { patch?: readonly unknown[]; warnings?: string[] } = {},
): AdmissionReview {
  const patch =
    extra.patch && extra.patch.length > 0 ? Buffer.from(JSON.stringify(extra.patch)).toString("base64") : undefined;
  return respond(review, {
    allowed: true,
    ...(patch ? { patch, patchType: "JSONPatch" as const } : {}),
    ...(extra.warnings && extra.warnings.length > 0 ? { warnings: extra.warnings } : {}),
  });
}

/** A refusal; kubectl prints `admission webhook "…" denied the request: <message>`. */
export function deny(review: AdmissionReview, message: string, code = 403, reason = "Forbidden"): AdmissionReview {
  return respond(review, { allowed: false, status: { code, message, reason } });
}
