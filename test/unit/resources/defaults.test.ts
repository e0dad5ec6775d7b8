import { describe, expect, test } from "bun:test";
import type { CAS } from "../../../src/resources/cas.ts";
import {
  applyWebhookDefaults,
  casWebhookDefaults,
  defaultImage,
  imageWithTag,
  lasWebhookDefaults,
  sgxPluginWebhookDefaults,
} from "../../../src/resources/defaults.ts";
import type { LAS } from "../../../src/resources/las.ts";
import type { SGXPlugin } from "../../../src/resources/sgx-plugin.ts";
import { validate } from "../../../src/resources/validation.ts";
import { DEFAULT_SCONE_SERVICE_VERSION } from "../../../src/version.ts";

const meta = { name: "x" };

describe("image defaults", () => {
  test("tag-less images get the service version, tagged and digest-pinned ones stay", () => {
    expect(imageWithTag("registry.scontain.com/scone.cloud/cas", "6.0.6")).toBe(
      "registry.scontain.com/scone.cloud/cas:6.0.6",
    );
    expect(imageWithTag("mirror:5000/scone/cas", "6.0.6")).toBe("mirror:5000/scone/cas:6.0.6");
    expect(imageWithTag("mirror:5000/scone/cas:5.9.0", "6.0.6")).toBe("mirror:5000/scone/cas:5.9.0");
    expect(imageWithTag("r/cas@sha256:abc", "6.0.6")).toBe("r/cas@sha256:abc");
  });

  test("default images follow the mirror and prefix", () => {
    expect(defaultImage("las")).toBe(`registry.scontain.com/scone.cloud/las:${DEFAULT_SCONE_SERVICE_VERSION}`);
    expect(defaultImage("las", { imageRepo: "mirror.local/osc/", imagePrefix: "osc-", serviceVersion: "5.9.0" })).toBe(
      "mirror.local/osc/osc-las:5.9.0",
    );
  });
});

describe("CAS webhook defaults", () => {
  test("image, CAS node selector, enclave limit and nonce", () => {
    const out = casWebhookDefaults(
      { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", metadata: meta, spec: {} },
      { serviceVersion: "6.0.6", newNonce: () => "ab".repeat(16) },
    );
    expect(out.spec).toEqual({
      image: "registry.scontain.com/scone.cloud/cas:6.0.6",
      nodeSelector: { "las.scontain.com/capable": "true" },
      resources: { limits: { "sgx.intel.com/enclave": 1 } },
      nonce: "ab".repeat(16),
    });
    expect(validate("CAS", out)).toEqual([]);
  });

  test("keeps the user's selector key, positive limits and nonce; replaces a zero enclave limit", () => {
    const cas: CAS = {
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: meta,
      spec: {
        image: "registry.scontain.com/scone.cloud/cas",
        nodeSelector: { "las.scontain.com/capable": "false", "las.scontain.com/ok": "true" },
        resources: { limits: { "sgx.intel.com/enclave": "0", memory: "1Gi" } },
        nonce: "0".repeat(32),
      },
    };
    const out = casWebhookDefaults(cas, { serviceVersion: "6.0.6", newNonce: () => "1".repeat(32) });
    expect(out.spec?.image).toBe("registry.scontain.com/scone.cloud/cas:6.0.6");
    expect(out.spec?.nodeSelector).toEqual({ "las.scontain.com/capable": "false", "las.scontain.com/ok": "true" });
    expect(out.spec?.resources?.limits).toEqual({ "sgx.intel.com/enclave": 1, memory: "1Gi" });
    expect(out.spec?.nonce).toBe("0".repeat(32));
    expect(cas.spec?.resources?.limits?.["sgx.intel.com/enclave"]).toBe("0"); // input untouched
    const two = casWebhookDefaults({ ...cas, spec: { resources: { limits: { "sgx.intel.com/enclave": 2 } } } });
    expect(two.spec?.resources?.limits?.["sgx.intel.com/enclave"]).toBe(2);
  });

  test("backup controller: image and a copy of the pull secrets; safety service image", () => {
    const out = casWebhookDefaults(
      {
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: meta,
        spec: {
          imagePullSecrets: [{ name: "sconeapps" }],
          "backup-controller": { enabled: true, session: "ns/upgrade" },
          safetyService: { enabled: true, podAntiAffinityTopologyKey: "kubernetes.io/hostname" },
        },
      },
      { serviceVersion: "6.0.6" },
    );
    expect(out.spec?.["backup-controller"]).toEqual({
      enabled: true,
      session: "ns/upgrade",
      image: "registry.scontain.com/scone.cloud/backup-controller:6.0.6",
      imagePullSecrets: [{ name: "sconeapps" }],
    });
    expect(out.spec?.safetyService?.image).toBe("registry.scontain.com/scone.cloud/cas-safety-service:6.0.6");
    expect(out.spec?.nonce).toBeUndefined();
  });
});

describe("LAS and SGXPlugin webhook defaults", () => {
  test("LAS: image, SGX node selector, enclave limit and the operator namespace", () => {
    const las: LAS = { apiVersion: "base.scone.cloud/v1beta1", kind: "LAS", metadata: meta };
    const out = lasWebhookDefaults(las, { serviceVersion: "6.0.6", operatorNamespace: "scone-ops" });
    expect(out.spec).toEqual({
      image: "registry.scontain.com/scone.cloud/las:6.0.6",
      nodeSelector: { "sgx.intel.com/capable": "true" },
      resources: { limits: { "sgx.intel.com/enclave": 1 } },
      namespace: "scone-ops",
    });
  });

  test("SGXPlugin: an empty image means the default; no node selector is injected", () => {
    const plugin: SGXPlugin = {
      apiVersion: "base.scone.cloud/v1beta1",
      kind: "SGXPlugin",
      metadata: meta,
      spec: { image: "" },
    };
    expect(sgxPluginWebhookDefaults(plugin, { serviceVersion: "6.0.6" }).spec).toEqual({
      image: "registry.scontain.com/scone.cloud/sgx-plugin:6.0.6",
      namespace: "scone-system",
    });
  });

  test("applyWebhookDefaults dispatches on kind and leaves other kinds alone", () => {
    const policy = { kind: "SignedPolicy", spec: { policy: "p" } };
    expect(applyWebhookDefaults(policy)).toBe(policy);
    expect(applyWebhookDefaults({ kind: "LAS", metadata: meta } as LAS).spec?.nodeSelector).toEqual({
      "sgx.intel.com/capable": "true",
    });
  });
});
