import { describe, expect, test } from "bun:test";
import type { V1Deployment } from "@kubernetes/client-node";
import { backupCandidates } from "../../../../src/operator/scone/backup-runner.ts";
import {
  backupCondition,
  LAST_BACKUP_ANNOTATION,
  nextBackupDue,
} from "../../../../src/operator/scone/backup-schedule.ts";
import { ownedSelectorKeys, placementApply } from "../../../../src/operator/scone/operator-placement.ts";
import {
  renderBackupCredentials,
  renderStack,
  renderUnprovisionedCas,
  specHash,
} from "../../../../src/operator/scone/render.ts";
import { sconeStatusAfter } from "../../../../src/operator/scone/status.ts";
import { nodeAgentVersion } from "../../../../src/operator/scone/upgrade.ts";
import type { Scone, SconeStatus } from "../../../../src/resources/scone.ts";
import { validate } from "../../../../src/resources/validation.ts";
import { expectGolden } from "../golden/render-golden.ts";

const scone = (spec: Partial<NonNullable<Scone["spec"]>> = {}, meta: Partial<Scone["metadata"]> = {}): Scone => ({
  apiVersion: "confidential.security.osc.t-systems.com/v1alpha1",
  kind: "Scone",
  metadata: { name: "scone", uid: "u-1", generation: 1, ...meta },
  spec: { serviceVersion: "6.0.6", ...spec },
});
const opts = { namespace: "scone-system", casNonce: "00112233445566778899aabbccddeeff" };

describe("render", () => {
  test("SGXPlugin, LAS and the unprovisioned CAS match the golden YAML (upstream manifests' shape)", async () => {
    const s = scone({ serviceNodeSelector: { pool: "sgx" } });
    await expectGolden("../scone/golden/stack.yaml", [
      ...renderStack(s, { ...opts, existingDcapKey: "k" }),
      renderUnprovisionedCas(s, opts),
    ]);
  });

  test("every rendered resource passes its kind's validation", () => {
    const s = scone({ serviceNodeSelector: { pool: "sgx" } });
    for (const o of [...renderStack(s, opts), renderUnprovisionedCas(s, opts)])
      expect(validate(o.kind ?? "", o)).toEqual([]);
  });

  test("images follow serviceVersion, the mirror and the prefix", () => {
    const [plugin, las] = renderStack(scone({ serviceVersion: "5.9.0-rc.9" }), {
      ...opts,
      imageRepo: "mirror.local/scone/",
      imagePrefix: "osc-",
    }) as { spec: { image: string } }[];
    expect(plugin?.spec.image).toBe("mirror.local/scone/osc-sgx-plugin:5.9.0-rc.9");
    expect(las?.spec.image).toBe("mirror.local/scone/osc-las:5.9.0-rc.9");
  });

  test("no service node selector: none on LAS/SGXPlugin, CAS keeps las.scontain.com/ok", () => {
    const [plugin] = renderStack(scone(), opts) as { spec: Record<string, unknown> }[];
    expect(plugin?.spec.nodeSelector).toBeUndefined();
    const cas = renderUnprovisionedCas(scone(), opts) as { spec: Record<string, unknown> };
    expect(cas.spec.nodeSelector).toEqual({ "las.scontain.com/ok": "true" });
  });

  test("the credentials copy carries data and type, not the source's metadata", () => {
    const copy = renderBackupCredentials(scone(), {
      ...opts,
      backupCredentials: {
        metadata: { name: "s3", namespace: "other", uid: "x", labels: { a: "b" } },
        type: "Opaque",
        data: { AWS_ACCESS_KEY_ID: "YQ==" },
      },
    });
    expect(copy?.metadata).toEqual({
      name: "scone-backup-s3",
      namespace: "scone-system",
      labels: { "confidential.security.osc.t-systems.com/stack": "scone" },
    });
    expect(copy?.data).toEqual({ AWS_ACCESS_KEY_ID: "YQ==" });
  });

  test("the spec hash ignores written-out defaults and sees every field", () => {
    expect(specHash(scone())).toBe(
      specHash(scone({ managementState: "Managed", skipCas: false, backup: { interval: 14400, retention: 10 } })),
    );
    expect(specHash(scone())).not.toBe(specHash(scone({ skipCas: true })));
    expect(specHash(scone())).not.toBe(specHash(scone({ operatorNodeSelector: { a: "b" } })));
    expect(specHash(scone())).not.toBe(specHash(scone({ serviceVersion: "6.0.5" })));
  });
});

describe("operator placement", () => {
  const deployment = (nodeSelector?: Record<string, string>, owned: string[] = []): V1Deployment => ({
    metadata: {
      name: "scone-controller-manager",
      namespace: "scone-system",
      managedFields: [
        { manager: "scone", operation: "Apply", fieldsV1: { "f:spec": { "f:replicas": {} } } },
        ...(owned.length
          ? [
              {
                manager: "scone-stack-placement",
                operation: "Apply",
                fieldsV1: {
                  "f:spec": {
                    "f:template": {
                      "f:spec": { "f:nodeSelector": Object.fromEntries(owned.map((k) => [`f:${k}`, {}])) },
                    },
                  },
                },
              },
            ]
          : []),
      ],
    },
    spec: { selector: {}, template: { spec: { containers: [], ...(nodeSelector ? { nodeSelector } : {}) } } },
  });

  test("reads the keys our field manager owns", () => {
    expect(ownedSelectorKeys(deployment({ a: "1" }, ["a"]))).toEqual(["a"]);
    expect(ownedSelectorKeys(deployment({ a: "1" }))).toEqual([]);
  });

  test("applies a missing or different selector, only the selector", () => {
    const body = placementApply(deployment(), { pool: "ops" }) as { spec: unknown };
    expect(body.spec).toEqual({ template: { spec: { nodeSelector: { pool: "ops" } } } });
    expect(placementApply(deployment({ pool: "x" }, ["pool"]), { pool: "ops" })).toBeDefined();
  });

  test("a steady state applies nothing", () => {
    expect(placementApply(deployment({ pool: "ops" }, ["pool"]), { pool: "ops" })).toBeUndefined();
    expect(placementApply(deployment({ other: "x" }), undefined)).toBeUndefined();
  });

  test("clearing the field releases the keys we set", () => {
    const body = placementApply(deployment({ pool: "ops" }, ["pool"]), undefined) as { spec: unknown };
    expect(body.spec).toEqual({ template: { spec: {} } });
  });
});

describe("status", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const later = new Date("2026-01-01T00:01:00Z");
  const deployed = {
    kind: "deployed" as const,
    specHash: "h1",
    version: "6.0.6",
    components: [
      { name: "SGXPlugin", state: "HEALTHY" },
      { name: "LAS", state: "HEALTHY" },
    ],
    placement: { kind: "none" as const },
  };
  const cond = (s: SconeStatus, type: string) => s.conditions?.find((c) => c.type === type);

  test("Creating → Running records the deployed spec, version and lastSuccessPhase", () => {
    const creating = sconeStatusAfter(
      { kind: "progress", phase: "Creating" },
      { previous: undefined, generation: 1, now },
    );
    expect(creating.phase).toBe("Creating");
    expect(cond(creating, "Progressing")?.status).toBe("True");
    const running = sconeStatusAfter(deployed, { previous: creating, generation: 1, now: later });
    expect(running).toMatchObject({
      phase: "Running",
      deployedSpec: "h1",
      deployedVersion: "6.0.6",
      lastSuccessPhase: "Creating",
      retryCount: 0,
      observedGeneration: 1,
      lastUpdate: "2026-01-01T00:01:00Z",
    });
    expect(cond(running, "Ready")?.status).toBe("True");
    expect(cond(running, "Degraded")?.status).toBe("False");
  });

  test("a steady state returns the previous status unchanged (no write, lastUpdate kept)", () => {
    const running = sconeStatusAfter(deployed, { previous: undefined, generation: 1, now });
    expect(sconeStatusAfter(deployed, { previous: running, generation: 1, now: later })).toBe(running);
  });

  test("a failure keeps the deployed version and counts; waiting says so", () => {
    const running = sconeStatusAfter(deployed, { previous: undefined, generation: 1, now });
    const failed = sconeStatusAfter(
      { kind: "failed", error: "boom", retryCount: 1, waiting: false },
      { previous: running, generation: 2, now: later },
    );
    expect(failed).toMatchObject({
      phase: "Error",
      deployedVersion: "6.0.6",
      retryCount: 1,
      lastSuccessPhase: "Running",
    });
    expect(cond(failed, "Degraded")).toMatchObject({ status: "True", reason: "ReconcileFailed", message: "boom" });
    const waiting = sconeStatusAfter(
      { kind: "failed", error: "waiting for a change after 5 failed attempts: boom", retryCount: 5, waiting: true },
      { previous: failed, generation: 2, now: later },
    );
    expect(cond(waiting, "Progressing")).toMatchObject({ status: "False", reason: "WaitingForChange" });
  });

  test("Repairing resets the retry count; an unhealthy component is Degraded", () => {
    const failed = sconeStatusAfter(
      { kind: "failed", error: "x", retryCount: 5, waiting: true },
      { previous: undefined, generation: 1, now },
    );
    const repairing = sconeStatusAfter(
      { kind: "progress", phase: "Repairing" },
      { previous: failed, generation: 2, now },
    );
    expect(repairing.retryCount).toBe(0);
    const sick = sconeStatusAfter(
      { ...deployed, components: [{ name: "LAS", state: "UNHEALTHY" }] },
      { previous: repairing, generation: 2, now },
    );
    expect(sick.lastSuccessPhase).toBe("Repairing");
    expect(cond(sick, "Degraded")).toMatchObject({ status: "True", reason: "ComponentUnhealthy" });
  });

  test("a second Scone keeps its phase and is Degraded with the reason", () => {
    const refused = sconeStatusAfter(
      { kind: "refused", message: "Scone a is this cluster's stack" },
      { previous: undefined, generation: 1, now },
    );
    expect(refused.phase).toBe("Empty");
    expect(cond(refused, "Degraded")).toMatchObject({ status: "True", reason: "NotReconciled" });
  });

  test("Unmanaged keeps the phase and says hands off", () => {
    const running = sconeStatusAfter(deployed, { previous: undefined, generation: 1, now });
    const off = sconeStatusAfter({ kind: "unmanaged" }, { previous: running, generation: 2, now });
    expect(off.phase).toBe("Running");
    expect(cond(off, "Ready")).toMatchObject({ status: "Unknown", reason: "Unmanaged" });
  });
});

describe("backup schedule", () => {
  const now = new Date("2026-01-01T12:00:00Z");
  test("nextBackupDue: now when none completed, else interval after the last", () => {
    expect(nextBackupDue(undefined, 3600, now)).toEqual(now);
    expect(nextBackupDue(new Date("2026-01-01T11:30:00Z"), 3600, now)).toEqual(new Date("2026-01-01T12:30:00Z"));
    expect(nextBackupDue(new Date("2026-01-01T10:00:00Z"), 3600, now)).toEqual(new Date("2026-01-01T11:00:00Z"));
    // A last completion in the future (clock jumped back) postpones by at most one interval.
    expect(nextBackupDue(new Date("2026-01-02T12:00:00Z"), 3600, now)).toEqual(new Date("2026-01-01T13:00:00Z"));
  });

  test("the condition names the schedule, or why there is none", () => {
    const s = scone(
      { backup: { interval: 600, retention: 3 } },
      {
        annotations: { [LAST_BACKUP_ANNOTATION]: "2026-01-01T11:55:00Z" },
      },
    );
    expect(backupCondition(s, { runnerAvailable: true, casManaged: true, now })).toMatchObject({
      status: "True",
      message: "every 600 s, kept 3 days; last completed 2026-01-01T11:55:00Z, next due 2026-01-01T12:05:00Z",
    });
    expect(backupCondition(s, { runnerAvailable: false, casManaged: true, now }).reason).toBe("NoBackupTarget");
    expect(backupCondition(s, { runnerAvailable: true, casManaged: false, now }).reason).toBe("NoCas");
  });

  test("only managed, deployed stacks with a CAS are backed up", () => {
    const deployed = { deployedSpec: "h" };
    const list = [
      { ...scone(), status: deployed },
      { ...scone({ managementState: "Unmanaged" }, { name: "b" }), status: deployed },
      { ...scone({ skipCas: true }, { name: "c" }), status: deployed },
      scone({}, { name: "d" }),
      { ...scone({}, { name: "e", deletionTimestamp: new Date() }), status: deployed },
    ];
    expect(backupCandidates(list).map((s) => s.metadata.name)).toEqual(["scone"]);
  });
});

describe("upgrade order: CAS first", () => {
  const ref = { namespace: "scone-system", name: "cas" };
  const at = (deployedVersion?: string) => ({ status: deployedVersion ? { deployedVersion } : {} });

  test("a provisioned CAS on another version holds LAS and SGX plugin at the deployed version, naming the command", () => {
    const v = nodeAgentVersion(at("6.0.5"), "6.0.7", { provisioned: "Yes", version: "6.0.5" }, ref);
    expect(v.version).toBe("6.0.5");
    expect(v.waitingFor).toContain("scone cas upgrade cas -n scone-system --to-version 6.0.7");
  });

  test("nothing holds them: upgraded CAS, unprovisioned or unknown CAS, no CAS, first install, same version", () => {
    const go = (scone: { status: { deployedVersion?: string } }, cas?: { provisioned?: string; version?: string }) =>
      nodeAgentVersion(scone, "6.0.7", cas, ref);
    expect(go(at("6.0.5"), { provisioned: "Yes", version: "6.0.7" })).toEqual({ version: "6.0.7" });
    expect(go(at("6.0.5"), { provisioned: "No", version: "6.0.5" })).toEqual({ version: "6.0.7" });
    expect(go(at("6.0.5"), { provisioned: "Yes", version: "unknown" })).toEqual({ version: "6.0.7" });
    expect(go(at("6.0.5"), undefined)).toEqual({ version: "6.0.7" });
    expect(go(at(), { provisioned: "Yes", version: "6.0.5" })).toEqual({ version: "6.0.7" });
    expect(go(at("6.0.7"), { provisioned: "Yes", version: "6.0.5" })).toEqual({ version: "6.0.7" });
  });

  test("the held version is what the LAS and SGX plugin images get", () => {
    const [plugin, las] = renderStack(scone({ serviceVersion: "6.0.7" }), { ...opts, nodeAgentVersion: "6.0.5" }) as {
      spec: { image: string };
    }[];
    expect(plugin?.spec.image).toEndWith("sgx-plugin:6.0.5");
    expect(las?.spec.image).toEndWith("las:6.0.5");
  });
});
