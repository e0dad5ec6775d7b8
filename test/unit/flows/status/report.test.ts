import { describe, expect, test } from "bun:test";
import { EVICT_ANNOTATION } from "../../../../src/flows/evict/plan.ts";
import { describeStatus, isHealthy, migrationComplete } from "../../../../src/flows/status/health.ts";
import { zoneOfVolume } from "../../../../src/flows/status/observe.ts";
import { buildStatusReport, formatStatusReport } from "../../../../src/flows/status/report.ts";
import { registrationLabel } from "../../../../src/operator/cas/nodes.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import type { BackupRecord } from "../../../../src/store/backups.ts";
import { casPod, healthyCas, node } from "../../../harness/fake-kube.ts";

const IMAGE = "registry.scontain.com/scone.cloud/cas:6.0.6";
const REG = registrationLabel("prod", "cas", "6.0.6") ?? "";

describe("status readings", () => {
  test("HEALTHY only when the status describes the current generation", () => {
    const cas = healthyCas("prod", "cas", IMAGE) as unknown as CAS;
    expect(isHealthy(cas)).toBe(true);
    expect(isHealthy({ ...cas, metadata: { ...cas.metadata, generation: 2 } })).toBe(false);
    expect(describeStatus({ ...cas, metadata: { ...cas.metadata, generation: 2 } })).toContain(
      "status not yet updated",
    );
    expect(describeStatus(undefined)).toBe("the CAS does not exist");
  });

  test("migration n/n with n > 0 only", () => {
    expect(migrationComplete("3/3")).toBe(true);
    expect(migrationComplete("2/3")).toBe(false);
    expect(migrationComplete("0/0")).toBe(false);
    expect(migrationComplete("Disabled")).toBe(false);
  });

  test("a volume's zone from its label or its node affinity", () => {
    expect(zoneOfVolume({ metadata: { labels: { "topology.kubernetes.io/zone": "z1" } } })).toBe("z1");
    const affinity = {
      spec: {
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: ["z2"] }] },
            ],
          },
        },
      },
    };
    expect(zoneOfVolume(affinity)).toBe("z2");
    expect(zoneOfVolume(undefined)).toBeUndefined();
  });
});

describe("status report", () => {
  const observed = () => {
    const cas = healthyCas("prod", "cas", IMAGE) as unknown as CAS;
    cas.metadata.annotations = { [EVICT_ANNOTATION]: '{"from":"node-1","uncordon":true}' };
    return {
      cas,
      pod: casPod("prod", "cas", "node-1", IMAGE) as never,
      nodes: [
        node("node-1", "zone-a", { registeredFor: REG }),
        node("node-2", "zone-a", { registeredFor: REG }),
        node("node-3", "zone-b"),
      ] as never[],
      volumeZone: "zone-a",
    };
  };
  const backup = {
    id: "bk-1",
    namespace: "prod",
    name: "cas",
    phase: "completed",
    method: "snapshot-copy",
    target: "/backups/prod/cas/bk-1",
    startedAt: Date.UTC(2026, 10, 23, 10),
    stoppedAt: Date.UTC(2026, 10, 23, 10, 0, 2),
    sizeBytes: 2048,
    files: {},
    snapshotMarker: "snapshot-1",
    error: null,
  } as BackupRecord;

  test("phase, version, node, move targets with reasons, backups and a move in progress", () => {
    const report = buildStatusReport({ namespace: "prod", name: "cas" }, observed(), [backup], []);
    expect(report).toMatchObject({
      exists: true,
      phase: "HEALTHY",
      version: "6.0.6",
      pod: { node: "node-1", zone: "zone-a", ready: true },
      moveTargets: { eligible: ["node-2"], rejected: [{ node: "node-3" }] },
      evictInProgress: "node-1",
      backups: [{ id: "bk-1", phase: "completed" }],
    });
    const text = formatStatusReport(report);
    expect(text).toContain("Move targets:       node-2");
    expect(text).toContain("node-3: no backup CAS registered");
    expect(text).toContain("bk-1  completed  2026-11-23 10:00:00Z  /backups/prod/cas/bk-1");
    expect(text).toContain("Move in progress:   away from node-1");
  });

  test("a missing CAS says so", () => {
    const report = buildStatusReport(
      { namespace: "prod", name: "gone" },
      { cas: undefined, pod: undefined, nodes: [], volumeZone: undefined },
      [],
      [],
    );
    expect(formatStatusReport(report)).toBe("CAS prod/gone does not exist\n");
  });
});
