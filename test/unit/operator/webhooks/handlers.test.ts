// The admission decisions as pure functions: AdmissionReview in, AdmissionReview out.
import { describe, expect, test } from "bun:test";
import type { AdmissionReview } from "../../../../src/operator/webhooks/admission.ts";
import { parseAdmissionReview } from "../../../../src/operator/webhooks/admission.ts";
import { endpointForPath, WEBHOOK_ENDPOINTS } from "../../../../src/operator/webhooks/endpoints.ts";
import { formatIssues, mutateAdmission, validateAdmission } from "../../../../src/operator/webhooks/handlers.ts";
import { applyJsonPatch, diffJsonPatch, type PatchOperation } from "../../../../src/operator/webhooks/json-patch.ts";

const GROUPS = { CAS: "services.scone.cloud", LAS: "base.scone.cloud", SGXPlugin: "base.scone.cloud" } as const;

function review(
  kind: keyof typeof GROUPS,
  object: Record<string, unknown>,
  operation: "CREATE" | "UPDATE" | "DELETE" = "CREATE",
): AdmissionReview {
  const metadata = object.metadata as { name?: string } | undefined;
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "uid-1",
      kind: { group: GROUPS[kind], version: "v1beta1", kind },
      resource: { group: GROUPS[kind], version: "v1beta1", resource: kind.toLowerCase() },
      name: metadata?.name ?? "",
      operation,
      object: { apiVersion: `${GROUPS[kind]}/v1beta1`, kind, ...object },
    },
  };
}

function patchOf(r: AdmissionReview): PatchOperation[] {
  const patch = r.response?.patch;
  return patch ? (JSON.parse(Buffer.from(patch, "base64").toString()) as PatchOperation[]) : [];
}

const DEFAULTS = {
  serviceVersion: "6.0.6",
  operatorNamespace: "scone-system",
  newNonce: () => "0123456789abcdef0123456789abcdef",
};

describe("endpoints", () => {
  test("the six upstream paths", () => {
    expect(WEBHOOK_ENDPOINTS.map((e) => e.path).sort()).toEqual([
      "/mutate-base-scone-cloud-v1beta1-las",
      "/mutate-base-scone-cloud-v1beta1-sgxplugin",
      "/mutate-services-scone-cloud-v1beta1-cas",
      "/validate-base-scone-cloud-v1beta1-las",
      "/validate-base-scone-cloud-v1beta1-sgxplugin",
      "/validate-services-scone-cloud-v1beta1-cas",
    ]);
    expect(endpointForPath("/validate-services-scone-cloud-v1beta1-cas")?.name).toBe("vcas.kb.io");
    expect(endpointForPath("/convert")).toBeUndefined();
  });
});

describe("mutating", () => {
  test("a LAS without image gets the versioned default image, nodeSelector, enclave limit and namespace", () => {
    const r = review("LAS", { metadata: { name: "las" }, spec: {} });
    const out = mutateAdmission("LAS", r, DEFAULTS);
    expect(out.response).toMatchObject({ uid: "uid-1", allowed: true, patchType: "JSONPatch" });
    const patched = applyJsonPatch(r.request?.object, patchOf(out)) as { spec: Record<string, unknown> };
    expect(patched.spec).toEqual({
      image: "registry.scontain.com/scone.cloud/las:6.0.6",
      nodeSelector: { "sgx.intel.com/capable": "true" },
      resources: { limits: { "sgx.intel.com/enclave": 1 } },
      namespace: "scone-system",
    });
  });

  test("keys with a slash are escaped in the patch paths", () => {
    const r = review("LAS", {
      metadata: { name: "las" },
      spec: { image: "x/las:1", nodeSelector: { a: "b" }, resources: {} },
    });
    const paths = patchOf(mutateAdmission("LAS", r, DEFAULTS)).map((op) => op.path);
    expect(paths).toContain("/spec/nodeSelector/sgx.intel.com~1capable");
  });

  test("a tag-less CAS image gets the version; a nonce is made when missing", () => {
    const r = review("CAS", { metadata: { name: "cas", namespace: "ns" }, spec: { image: "mirror.local/cas" } });
    const patched = applyJsonPatch(r.request?.object, patchOf(mutateAdmission("CAS", r, DEFAULTS))) as {
      spec: { image: string; nonce: string };
    };
    expect(patched.spec.image).toBe("mirror.local/cas:6.0.6");
    expect(patched.spec.nonce).toBe(DEFAULTS.newNonce());
  });

  test("an object that already has every default gets no patch", () => {
    const spec = {
      image: "registry.scontain.com/scone.cloud/sgx-plugin:6.0.6",
      namespace: "scone-system",
    };
    const out = mutateAdmission("SGXPlugin", review("SGXPlugin", { metadata: { name: "p" }, spec }), DEFAULTS);
    expect(out.response?.allowed).toBe(true);
    expect(out.response?.patch).toBeUndefined();
  });

  test("a review for another kind is refused as misrouted", () => {
    const out = mutateAdmission("CAS", review("LAS", { metadata: { name: "x" } }), DEFAULTS);
    expect(out.response?.allowed).toBe(false);
    expect(out.response?.status?.code).toBe(400);
  });

  test("DELETE passes untouched", () => {
    const out = mutateAdmission("LAS", review("LAS", { metadata: { name: "x" } }, "DELETE"), DEFAULTS);
    expect(out.response).toEqual({ uid: "uid-1", allowed: true });
  });
});

describe("validating", () => {
  test("a bad nonce is refused with the field named", () => {
    const out = validateAdmission("CAS", review("CAS", { metadata: { name: "cas" }, spec: { nonce: "xyz" } }));
    expect(out.response?.allowed).toBe(false);
    expect(out.response?.status?.code).toBe(422);
    expect(out.response?.status?.message).toContain("spec.nonce: must be 32 hexadecimal characters");
  });

  test("every problem is listed, including cross-field rules", () => {
    const spec = {
      nonce: "nothex",
      "backup-controller": { enabled: true },
      safetyService: {
        enabled: true,
        podAntiAffinityTopologyKey: "kubernetes.io/hostname",
        minReplicas: 4,
        desiredReplicas: 3,
      },
    };
    const message =
      validateAdmission("CAS", review("CAS", { metadata: { name: "c" }, spec })).response?.status?.message ?? "";
    expect(message).toContain("spec.nonce:");
    expect(message).toContain("spec.backup-controller.session: required when spec.backup-controller.enabled is true");
    expect(message).toContain("spec.safetyService.minReplicas: 4 exceeds spec.safetyService.desiredReplicas (3)");
  });

  test("the safety service rule uses the documented defaults and skips a disabled service", () => {
    const cas = (safetyService: Record<string, unknown>) =>
      validateAdmission(
        "CAS",
        review("CAS", {
          metadata: { name: "c" },
          spec: { safetyService: { podAntiAffinityTopologyKey: "k", ...safetyService } },
        }),
      );
    expect(cas({ enabled: true, minReplicas: 3 }).response?.allowed).toBe(true);
    expect(cas({ enabled: true, minReplicas: 4 }).response?.status?.message).toContain(
      "4 exceeds spec.safetyService.desiredReplicas (3)",
    );
    expect(cas({ enabled: true, desiredReplicas: 2 }).response?.allowed).toBe(true);
    expect(cas({ enabled: false, minReplicas: 5, desiredReplicas: 2 }).response?.allowed).toBe(true);
  });

  test("a valid CAS is allowed", () => {
    const out = validateAdmission(
      "CAS",
      review("CAS", { metadata: { name: "c" }, spec: { nonce: "0123456789abcdef0123456789abcdef" } }),
    );
    expect(out.response).toEqual({ uid: "uid-1", allowed: true });
  });

  test("a second LAS with another name is refused; the same name (re-create race, update) is not", () => {
    const existing = [{ name: "las", terminating: false }];
    const second = validateAdmission("LAS", review("LAS", { metadata: { name: "las2" }, spec: {} }), { existing });
    expect(second.response?.allowed).toBe(false);
    expect(second.response?.status?.message).toContain('only one LAS per cluster is allowed: LAS "las" already exists');
    expect(
      validateAdmission("LAS", review("LAS", { metadata: { name: "las" }, spec: {} }), { existing }).response?.allowed,
    ).toBe(true);
    const update = review("LAS", { metadata: { name: "las2" }, spec: {} }, "UPDATE");
    expect(validateAdmission("LAS", update, { existing }).response?.allowed).toBe(true);
  });

  test("a terminating SGXPlugin still blocks a new one, saying to wait", () => {
    const out = validateAdmission("SGXPlugin", review("SGXPlugin", { metadata: { name: "b" }, spec: {} }), {
      existing: [{ name: "a", terminating: true }],
    });
    expect(out.response?.status?.message).toContain("still being deleted; wait until it is gone");
  });

  test("updates that leave the spec alone pass, so an object stored before a rule existed can still lose its finalizer", () => {
    const spec = { "backup-controller": { enabled: true } }; // invalid: no session
    const r = review("CAS", { metadata: { name: "c", finalizers: [] }, spec }, "UPDATE");
    if (r.request)
      r.request.oldObject = {
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: "c", finalizers: ["x"] },
        spec,
      };
    expect(validateAdmission("CAS", r).response?.allowed).toBe(true);
    expect(mutateAdmission("CAS", r, DEFAULTS).response?.patch).toBeUndefined();
    const changed = review(
      "CAS",
      { metadata: { name: "c" }, spec: { ...spec, nonce: "0123456789abcdef0123456789abcdef" } },
      "UPDATE",
    );
    if (changed.request) changed.request.oldObject = r.request?.oldObject;
    expect(validateAdmission("CAS", changed).response?.allowed).toBe(false);
    const terminating = review(
      "CAS",
      { metadata: { name: "c", deletionTimestamp: "2026-01-01T00:00:00Z" }, spec: { nonce: "bad" } },
      "UPDATE",
    );
    if (terminating.request) terminating.request.oldObject = r.request?.oldObject;
    expect(validateAdmission("CAS", terminating).response?.allowed).toBe(true);
  });

  test("CAS has no singleton rule", () => {
    const out = validateAdmission("CAS", review("CAS", { metadata: { name: "b" }, spec: {} }), {
      existing: [{ name: "a", terminating: false }],
    });
    expect(out.response?.allowed).toBe(true);
  });

  test("long lists are capped", () => {
    const issues = Array.from({ length: 25 }, (_, i) => ({ field: `spec.f${i}`, message: "bad" }));
    const text = formatIssues(issues);
    expect(text).toContain("spec.f19: bad");
    expect(text).not.toContain("spec.f20");
    expect(text).toEndWith("; and 5 more");
  });
});

describe("parseAdmissionReview", () => {
  test("refuses what is not a v1 AdmissionReview with a request", () => {
    expect(parseAdmissionReview(null)).toMatchObject({ ok: false });
    expect(parseAdmissionReview({ apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview" })).toMatchObject({
      ok: false,
    });
    expect(parseAdmissionReview({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" })).toMatchObject({
      ok: false,
      error: "request is missing",
    });
    const bad = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: { uid: "u", kind: { group: "", version: "v1", kind: "X" }, operation: "EXPLODE" },
    };
    expect(parseAdmissionReview(bad)).toMatchObject({ ok: false });
    expect(parseAdmissionReview(review("LAS", { metadata: { name: "x" } }))).toMatchObject({ ok: true });
  });
});

describe("diffJsonPatch", () => {
  test("round-trips: applying the diff turns before into after", () => {
    const before = { a: 1, b: { c: [1, 2], d: "x", "e/f": 1, "g~h": 2 }, gone: true };
    const after = { a: 2, b: { c: [1, 2, 3], d: "x", "e/f": 2, "g~h": 3, n: null }, added: { z: 1 } };
    const ops = diffJsonPatch(before, after);
    expect(applyJsonPatch(before, ops)).toEqual(after);
    expect(ops).toContainEqual({ op: "remove", path: "/gone" });
    expect(ops).toContainEqual({ op: "replace", path: "/b/e~1f", value: 2 });
    expect(ops).toContainEqual({ op: "replace", path: "/b/g~0h", value: 3 });
  });
  test("equal documents give no operations", () => {
    expect(diffJsonPatch({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
  });
});
