import { describe, expect, test } from "bun:test";
import type { CAS } from "../../../src/resources/cas.ts";
import type { Scone } from "../../../src/resources/scone.ts";
import { applyDefaults, validate } from "../../../src/resources/validation.ts";

const cas = (spec: Record<string, unknown>): CAS =>
  ({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", metadata: { name: "cas" }, spec }) as CAS;
const fields = (issues: { field: string }[]) => issues.map((i) => i.field);

describe("validate", () => {
  test("accepts a typical CAS", () => {
    expect(
      validate(
        "CAS",
        cas({
          image: "registry.scontain.com/scone.cloud/cas:6.0.6",
          nonce: "0123456789abcdefABCDEF0123456789",
          service: { type: "NodePort" },
          persistence: { enabled: true, size: "2Gi" },
          resources: { limits: { "sgx.intel.com/enclave": 1, memory: "4Gi" } },
          tolerations: [{ key: "sgx", operator: "Exists", effect: "NoSchedule" }],
          "backup-controller": { enabled: true, session: "ns/upgrade" },
        }),
      ),
    ).toEqual([]);
  });

  test("names the nonce field and the fix", () => {
    const issues = validate("CAS", cas({ nonce: "not-hex" }));
    expect(fields(issues)).toEqual(["spec.nonce", "spec.nonce"]);
    expect(issues[0]?.message).toContain("at least 32 characters");
    expect(issues[1]?.message).toContain("32 hexadecimal characters");
    expect(issues[1]?.message).toContain("openssl rand -hex 16");
  });

  test("lists allowed values for an enum", () => {
    const issues = validate("LAS", {
      apiVersion: "base.scone.cloud/v1beta1",
      kind: "LAS",
      metadata: { name: "las" },
      spec: { imagePullPolicy: "Sometimes" },
    });
    expect(issues).toEqual([
      { field: "spec.imagePullPolicy", message: 'must be one of "Always", "Never", "IfNotPresent"; got "Sometimes"' },
    ]);
  });

  test("reports wrong types with a quoting hint, bounds, required fields and int32 overflow", () => {
    const issues = validate(
      "CAS",
      cas({
        ownerConfig: 42,
        attestedCLIProbes: "true",
        enclaveMetrics: { port: 70000 },
        networkPolicy: { ingressNSMatchLabels: { team: "a" } },
        livenessProbe: { periodSeconds: 2 ** 40, enabled: false },
        safetyService: { enabled: true, podAntiAffinityTopologyKey: "Bad Key", minReplicas: 1 },
        "backup-controller": { enabled: true, session: "" },
      }),
    );
    expect(issues).toContainEqual({
      field: "spec.ownerConfig",
      message: 'must be a string; got an integer 42 (quote it: "42")',
    });
    expect(issues).toContainEqual({
      field: "spec.attestedCLIProbes",
      message: 'must be true or false; got a string "true" (write true without quotes)',
    });
    expect(issues).toContainEqual({
      field: "spec.networkPolicy.enabled",
      message: "required: add this field (true or false)",
    });
    expect(issues).toContainEqual({ field: "spec.enclaveMetrics.port", message: "must be at most 65535; got 70000" });
    expect(fields(issues)).toContain("spec.livenessProbe.periodSeconds");
    expect(fields(issues)).toContain("spec.safetyService.podAntiAffinityTopologyKey");
    expect(fields(issues)).toContain("spec.safetyService.minReplicas");
    expect(fields(issues)).toContain("spec.backup-controller.session");
  });

  test("checks quantities in maps and list entries with their index", () => {
    const issues = validate(
      "CAS",
      cas({
        resources: { limits: { memory: "lots" } },
        tolerations: [{ key: "a" }, { tolerationSeconds: "10" }],
        imagePullSecrets: [{ name: "a" }, "b"],
      }),
    );
    // in document order
    expect(fields(issues)).toEqual([
      "spec.resources.limits[memory]",
      "spec.tolerations[1].tolerationSeconds",
      "spec.imagePullSecrets[1]",
    ]);
    expect(issues[0]?.message).toContain('a Kubernetes quantity such as 1, "500m", "1Gi"');
  });

  test("refuses duplicate keys of map lists", () => {
    const issues = validate("Vault", {
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "Vault",
      metadata: { name: "v" },
      spec: {
        global: {},
        injector: {},
        server: { extraInitContainers: [{ name: "init", env: [{ name: "A" }, { name: "A", value: "x" }] }] },
      },
    });
    expect(issues).toEqual([
      {
        field: "spec.server.extraInitContainers[0].env[1]",
        message: "duplicate name of spec.server.extraInitContainers[0].env[0]; merge or remove one of them",
      },
    ]);
  });

  test("requires a backup-controller session when the controller is enabled", () => {
    expect(validate("CAS", cas({ "backup-controller": { enabled: true } }))).toEqual([
      {
        field: "spec.backup-controller.session",
        message:
          'required when spec.backup-controller.enabled is true: name the session whose CLI configuration holds the owner identity, e.g. "my-namespace/upgrade"',
      },
    ]);
    expect(validate("CAS", cas({ "backup-controller": { enabled: false } }))).toEqual([]);
  });

  test("Scone: spec and serviceVersion are required, version and management state are checked", () => {
    const base = {
      apiVersion: "confidential.security.osc.t-systems.com/v1alpha1",
      kind: "Scone",
      metadata: { name: "scone" },
    };
    expect(fields(validate("Scone", base))).toEqual(["spec"]);
    expect(fields(validate("Scone", { ...base, spec: {} }))).toEqual(["spec.serviceVersion"]);
    const issues = validate("Scone", {
      ...base,
      spec: { serviceVersion: "latest", managementState: "Auto", backup: { interval: 5 } },
    });
    expect(fields(issues)).toEqual(["spec.serviceVersion", "spec.managementState", "spec.backup.interval"]);
    expect(issues[0]?.message).toContain("use a SCONE release such as 6.0.6");
    expect(validate("Scone", { ...base, spec: { serviceVersion: "5.9.0-rc.9" } })).toEqual([]);
  });

  test("checks apiVersion and kind, and reports unknown fields only on request", () => {
    const wrong = { apiVersion: "services.scone.cloud/v1", kind: "CAS", metadata: {}, spec: { imagePulPolicy: "x" } };
    expect(fields(validate("CAS", wrong))).toEqual(["apiVersion"]);
    const strict = validate("CAS", wrong, { unknownFields: "report" });
    expect(fields(strict)).toEqual(["apiVersion", "spec.imagePulPolicy"]);
    expect(strict[1]?.message).toBe("unknown field (the API server drops it); did you mean imagePullPolicy?");
    const far = validate("LAS", { kind: "LAS", spec: { hostport: 1, color: "red" } }, { unknownFields: "report" });
    expect(far.map((i) => i.message)).toEqual([
      "unknown field (the API server drops it); did you mean hostPort?",
      expect.stringContaining("fields allowed here: autoUpdate, containerSecurityContextLAS,"),
    ]);
    expect(fields(validate("Pod", {}))).toEqual(["kind"]);
  });

  test("treats nulls of non-nullable fields as absent, like the API server", () => {
    expect(validate("CAS", cas({ image: null, nodeSelector: null }))).toEqual([]);
    expect(fields(validate("CAS", cas({ livenessProbe: { enabled: null } })))).toEqual(["spec.livenessProbe.enabled"]);
    // enabled is required but has a default: the server fills it in, so leaving it out (or null) is fine
    expect(validate("CAS", cas({ enclaveMetrics: { enabled: null } }))).toEqual([]);
    expect(validate("CAS", cas({ enclaveMetrics: { port: 9090 } }))).toEqual([]);
  });
});

describe("applyDefaults", () => {
  test("fills schema defaults in objects that exist, including list entries, without touching the input", () => {
    const input = cas({ enclaveMetrics: { enabled: true }, imagePullSecrets: [{}], image: null });
    const out = applyDefaults("CAS", input);
    expect(out.spec?.enclaveMetrics).toEqual({ enabled: true, port: 8080 });
    expect(out.spec?.imagePullSecrets).toEqual([{ name: "" }]);
    expect(out.spec && "image" in out.spec).toBe(false);
    expect(out.spec && "persistence" in out.spec).toBe(false);
    expect(input.spec?.enclaveMetrics).toEqual({ enabled: true });
  });

  test("LAS hostPort and pull policy, CAS status defaults", () => {
    const las = applyDefaults("LAS", { kind: "LAS", spec: {} });
    expect(las.spec).toEqual({ hostPort: 18766, imagePullPolicy: "Always" });
    const status = applyDefaults("CAS", cas({})).status;
    expect(status).toBeUndefined();
    const withStatus = applyDefaults("CAS", { ...cas({}), status: { state: "PENDING" } } as unknown as CAS);
    expect(withStatus.status as unknown).toEqual({
      state: "PENDING",
      attestable: "Failure",
      provisioned: "Unknown",
      version: "unknown",
    });
  });

  test("Scone: managementState, skipCas and backup defaults (backup defaults to {} so its fields apply)", () => {
    const scone = applyDefaults("Scone", {
      kind: "Scone",
      metadata: { name: "s" },
      spec: { serviceVersion: "6.0.6" },
    } as Scone);
    expect(scone.spec).toEqual({
      serviceVersion: "6.0.6",
      managementState: "Managed",
      skipCas: false,
      backup: { interval: 14400, retention: 10 },
    });
  });

  test("defaulted objects validate", () => {
    const out = applyDefaults("CAS", cas({ enclaveMetrics: { enabled: false } }));
    expect(validate("CAS", out)).toEqual([]);
  });
});
