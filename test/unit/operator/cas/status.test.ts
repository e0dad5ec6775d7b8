import { describe, expect, test } from "bun:test";
import { casMetricValues } from "../../../../src/operator/cas/metrics.ts";
import type { CasProbeResult } from "../../../../src/operator/cas/probe.ts";
import { planRelocation } from "../../../../src/operator/cas/relocation.ts";
import { type CasObserved, deriveCasStatus } from "../../../../src/operator/cas/status.ts";
import type { CAS, CASStatus } from "../../../../src/resources/cas.ts";
import {
  clusterNodes,
  deployment,
  healthyObserved,
  LATER,
  NONCE,
  opts,
  pdb,
  readyPod,
  statefulSet,
  upstreamCas,
} from "../../../harness/cas-fixtures.ts";

const answering = (over: Partial<CasProbeResult> = {}): CasProbeResult => ({
  reachable: true,
  version: "6.0.6",
  provisioned: "Yes",
  attestable: true,
  dcapReport: "report-1",
  snapshotTimestamp: "2026-01-01T12:30:00Z",
  snapshotCheckupTimestamp: "2026-01-01T12:59:00Z",
  ...over,
});

const cond = (s: CASStatus, type: string) => s.conditions?.find((c) => c.type === type);

const full = () => upstreamCas("cas.yaml");
const provisioning = () => upstreamCas("cas_provisioning.yaml");

interface Row {
  readonly name: string;
  readonly cas: () => Promise<CAS>;
  readonly observed: (cas: CAS) => CasObserved;
  readonly probe: CasProbeResult | undefined;
  readonly state: CASStatus["state"];
  readonly phase: CASStatus["phase"];
  readonly ready: string; // reason of the Ready condition
}

const rows: Row[] = [
  {
    name: "nothing exists yet → Uninitialized",
    cas: provisioning,
    observed: (cas) => ({
      ...healthyObserved(cas),
      statefulSet: undefined,
      pod: undefined,
      podDisruptionBudget: undefined,
    }),
    probe: undefined,
    state: "UNHEALTHY", // an hour without StatefulSet is a failure, not a wait
    phase: "Uninitialized",
    ready: "Installing",
  },
  {
    name: "CAS answers it is not provisioned → Unprovisioned (PENDING)",
    cas: provisioning,
    observed: (cas) => healthyObserved(cas),
    probe: answering({ provisioned: "No" }),
    state: "PENDING",
    phase: "Unprovisioned",
    ready: "NotProvisioned",
  },
  {
    name: "provisioned, StatefulSet still rolling out → Provisioned (PENDING)",
    cas: provisioning,
    observed: (cas) => ({
      ...healthyObserved(cas),
      statefulSet: { ...statefulSet(), status: { replicas: 1, currentRevision: "r1", updateRevision: "r2" } },
    }),
    probe: answering(),
    state: "PENDING",
    phase: "Provisioned",
    ready: "RollingOut",
  },
  {
    name: "provisioned, one node without a registered backup → EnablingMigration (PENDING)",
    cas: full,
    observed: (cas) => healthyObserved(cas, { nodes: clusterNodes(cas, { registered: ["sgx-node-1", "sgx-node-2"] }) }),
    probe: answering(),
    state: "PENDING",
    phase: "EnablingMigration",
    ready: "EnablingMigration",
  },
  {
    name: "provisioned, attestable, snapshots current, n/n → HEALTHY",
    cas: full,
    observed: (cas) => healthyObserved(cas),
    probe: answering(),
    state: "HEALTHY",
    phase: "HEALTHY",
    ready: "Healthy",
  },
  {
    name: "attestation fails → AttestationFailure (UNHEALTHY)",
    cas: full,
    observed: (cas) => healthyObserved(cas),
    probe: answering({ attestable: false, attestationReason: "report nonce differs" }),
    state: "UNHEALTHY",
    phase: "AttestationFailure",
    ready: "AttestationFailed",
  },
  {
    name: "no snapshot check for more than two intervals → SnapshotFailure",
    cas: full,
    observed: (cas) => healthyObserved(cas),
    probe: answering({ snapshotCheckupTimestamp: "2025-12-29T00:00:00Z" }),
    state: "UNHEALTHY",
    phase: "SnapshotFailure",
    ready: "SnapshotFailure",
  },
  {
    name: "provisioned and attestable but the backup controller is down for an hour → UNHEALTHY",
    cas: full,
    observed: (cas) => healthyObserved(cas, { backupController: deployment("cas-backup-controller", "bc", 0) }),
    probe: answering(),
    state: "UNHEALTHY",
    phase: "UNHEALTHY",
    ready: "BackupControllerUnavailable",
  },
];

describe("deriveCasStatus: every phase", () => {
  for (const row of rows)
    test(row.name, async () => {
      const cas = await row.cas();
      const s = deriveCasStatus(cas, row.observed(cas), row.probe, LATER, opts);
      expect([s.state, s.phase]).toEqual([row.state, row.phase]);
      expect(cond(s, "Ready")?.reason).toBe(row.ready);
      expect(cond(s, "Ready")?.status).toBe(row.state === "HEALTHY" ? "True" : "False");
      expect(cond(s, "Ready")?.observedGeneration).toBe(1);
      expect(s.observedGeneration).toBe(1);
    });
});

describe("deriveCasStatus: fields", () => {
  test("HEALTHY reports what `kubectl get cas` shows: Yes, Yes, Persisted, 3/3, the version", async () => {
    const cas = await full();
    const s = deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts);
    expect(s).toMatchObject({
      provisioned: "Yes",
      attestable: "Yes",
      snapshotStatus: "Persisted",
      migrationNodeRatio: "3/3",
      numMigratableNodes: 3,
      desiredNumMigratableNodes: 3,
      migrationNodeAlert: 0,
      migrationControllerReplicaAlert: 0,
      version: "6.0.6",
      nonce: NONCE,
      dcapReport: "report-1",
      readyReplicas: 1,
      replicaAlert: 0,
      podDisruptionBudgetAlert: 0,
      snapshotConfiguredInterval: 86400,
      snapshotTimestamp: "2026-01-01T12:30:00Z",
      safetyServiceStatus: "Healthy",
      safetyServiceActiveStatus: true,
    });
    expect(cond(s, "Degraded")?.status).toBe("False");
    expect(cond(s, "CASReachable")?.status).toBe("True");
    expect(cond(s, "Attested")?.status).toBe("True");
  });

  test("the audit shipper's AuditShipped condition is written as given, and changes neither state nor phase", async () => {
    const cas = await full();
    const without = deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts);
    expect(cond(without, "AuditShipped")).toBeUndefined();
    const failing = { type: "AuditShipped", status: "False", reason: "ShippingFailed", message: "S3 down" } as const;
    const s = deriveCasStatus(cas, { ...healthyObserved(cas), auditShipped: failing }, answering(), LATER, opts);
    expect(cond(s, "AuditShipped")).toMatchObject(failing);
    expect({ state: s.state, phase: s.phase }).toEqual({ state: without.state, phase: without.phase });
  });

  test("a CAS that stops answering is UNHEALTHY with the reason; provisioning and version stay as last known", async () => {
    const cas = await full();
    const healthy = deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts);
    const silent = deriveCasStatus(
      { ...cas, status: healthy },
      healthyObserved(cas),
      { reachable: false, error: "connect ECONNREFUSED 10.0.0.1:8081" },
      LATER,
      opts,
    );
    expect(silent.state).toBe("UNHEALTHY");
    expect(silent.provisioned).toBe("Yes");
    expect(silent.version).toBe("6.0.6");
    expect(silent.attestable).toBe("Failure");
    expect(cond(silent, "CASReachable")).toMatchObject({
      status: "False",
      reason: "NotAnswering",
      message: "CAS does not answer: connect ECONNREFUSED 10.0.0.1:8081",
    });
    expect(cond(silent, "Degraded")?.message).toContain("ECONNREFUSED");
    expect(cond(silent, "Attested")?.status).toBe("Unknown");
  });

  test("the same observation twice derives the same status (a steady state writes nothing)", async () => {
    const cas = await full();
    const first = deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts);
    const later = new Date(LATER.getTime() + 60_000);
    const second = deriveCasStatus(
      { ...cas, status: first },
      healthyObserved(cas),
      answering({ dcapReport: "report-2" }),
      later,
      opts,
    );
    expect(second).toEqual(first);
    // Also while failing: messages name times, not ages.
    const stale = answering({ snapshotCheckupTimestamp: "2025-12-29T00:00:00Z" });
    const failed = deriveCasStatus(cas, healthyObserved(cas), stale, LATER, opts);
    expect(deriveCasStatus({ ...cas, status: failed }, healthyObserved(cas), stale, later, opts)).toEqual(failed);
  });

  test("a new nonce takes the new report", async () => {
    const cas = await full();
    const first = deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts);
    const renonced: CAS = { ...cas, spec: { ...cas.spec, nonce: "f".repeat(32) }, status: first };
    const s = deriveCasStatus(renonced, healthyObserved(cas), answering({ dcapReport: "report-2" }), LATER, opts);
    expect([s.nonce, s.dcapReport]).toEqual(["f".repeat(32), "report-2"]);
  });

  test("migration: Disabled without a backup controller, Initializing before it runs", async () => {
    const off = await provisioning();
    const s = deriveCasStatus(off, healthyObserved(off), answering(), LATER, opts);
    expect([s.migrationNodeRatio, s.numMigratableNodes, s.desiredNumMigratableNodes]).toEqual(["Disabled", 0, 0]);
    expect(s.safetyServiceStatus).toBe("Disabled");
    const cas = await full();
    const init = deriveCasStatus(
      cas,
      healthyObserved(cas, { backupController: undefined, nodes: clusterNodes(cas, { registered: [] }) }),
      answering(),
      LATER,
      opts,
    );
    expect(init.migrationNodeRatio).toBe("Initializing");
    expect(init.migrationControllerReplicaAlert).toBe(1);
  });

  test("snapshots: Disabled, Initializing before the first check, Ephemeral without persistence", async () => {
    const cas = await full();
    const noSnap: CAS = { ...cas, spec: { ...cas.spec, databaseSnapshots: { enabled: false } } };
    expect(deriveCasStatus(noSnap, healthyObserved(cas), answering(), LATER, opts).snapshotStatus).toBe("Disabled");
    const first = deriveCasStatus(
      cas,
      healthyObserved(cas),
      answering({ snapshotTimestamp: undefined, snapshotCheckupTimestamp: undefined }),
      LATER,
      opts,
    );
    expect(first.snapshotStatus).toBe("Initializing");
    const ephemeral: CAS = {
      ...cas,
      spec: { ...cas.spec, databaseSnapshots: { enabled: true, interval: "60s", persistence: { enabled: false } } },
    };
    const probe = answering({ snapshotCheckupTimestamp: "2026-01-01T12:58:30Z" });
    expect(deriveCasStatus(ephemeral, healthyObserved(cas), probe, LATER, opts).snapshotStatus).toBe("Ephemeral");
  });

  test("snapshots without an observable check-up: a snapshot that exists counts, however old (no SnapshotFailure)", async () => {
    const cas = await full();
    // What the production probe reports: last-completed's time only (CAS makes no snapshot while nothing changes).
    const old = answering({ snapshotTimestamp: "2025-12-01T00:00:00Z", snapshotCheckupTimestamp: undefined });
    const s = deriveCasStatus(cas, healthyObserved(cas), old, LATER, opts);
    expect([s.snapshotStatus, s.phase, s.state]).toEqual(["Persisted", "HEALTHY", "HEALTHY"]);
    expect(s.snapshotTimestamp).toBe("2025-12-01T00:00:00Z");
    expect(s.snapshotCheckupTimestamp).toBeUndefined();
    // A check-up kept from an earlier probe is dropped once CAS answers without one (it would only grow stale).
    const kept = deriveCasStatus(
      { ...cas, status: { ...s, snapshotCheckupTimestamp: "2025-12-29T00:00:00Z" } },
      healthyObserved(cas),
      old,
      LATER,
      opts,
    );
    expect([kept.snapshotStatus, kept.snapshotCheckupTimestamp]).toEqual(["Persisted", undefined]);
  });

  test("version: the running cas image's tag, so an upgraded CAS shows its new version", async () => {
    const cas = await full();
    const before = deriveCasStatus(cas, healthyObserved(cas), answering({ version: undefined }), LATER, opts);
    expect(before.version).toBe("6.0.6");
    const upgraded = deriveCasStatus(
      { ...cas, status: before },
      healthyObserved(cas, { pod: readyPod("sgx-node-1", "registry.scontain.com/scone.cloud/cas:6.0.7") }),
      answering({ version: undefined }),
      LATER,
      opts,
    );
    expect(upgraded.version).toBe("6.0.7");
  });

  test("Attested says that no DCAP report for spec.nonce can be known when none was given", async () => {
    const cas = await full();
    const s = deriveCasStatus(cas, healthyObserved(cas), answering({ dcapReport: undefined }), LATER, opts);
    expect(cond(s, "Attested")).toMatchObject({ status: "True", reason: "Attested" });
    expect(cond(s, "Attested")?.message).toContain("no DCAP report for spec.nonce can be known");
    expect(s.dcapReport).toBeUndefined();
    const reported = deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts);
    expect(cond(reported, "Attested")?.message).toBe("CAS was attested; status.dcapReport answers spec.nonce");
  });

  test("a PodDisruptionBudget that allows an eviction raises the alert", async () => {
    const cas = await full();
    const s = deriveCasStatus(
      cas,
      healthyObserved(cas, { podDisruptionBudget: pdb("cas", 1) }),
      answering(),
      LATER,
      opts,
    );
    expect(s.podDisruptionBudgetAlert).toBe(1);
    expect(s.state).toBe("UNHEALTHY");
    expect(cond(s, "Ready")?.reason).toBe("EvictionAllowed");
  });

  test("a pod that is not ready is PENDING while settling, UNHEALTHY after the deadline", async () => {
    const cas = await provisioning();
    const pod = readyPod("sgx-node-1", undefined, false);
    const early = new Date("2026-01-01T11:01:00Z");
    const settling = deriveCasStatus(cas, healthyObserved(cas, { pod }), undefined, early, opts);
    expect([settling.state, settling.readyReplicas, settling.replicaAlert]).toEqual(["PENDING", 0, 1]);
    expect(cond(settling, "CASReachable")?.status).toBe("Unknown");
    const late = deriveCasStatus(cas, healthyObserved(cas, { pod }), undefined, LATER, opts);
    expect(late.state).toBe("UNHEALTHY");
    expect(cond(late, "Ready")?.reason).toBe("PodNotReady");
  });

  test("safety service: Alert below desired replicas, Unhealthy below the minimum", async () => {
    const cas = await full();
    const alert = deriveCasStatus(
      cas,
      healthyObserved(cas, {
        safetyService: deployment("cas-safety-service", "ss", 2, 3),
        safetyServicePodDisruptionBudget: pdb("cas-safety-service", 0, 2, 2),
      }),
      answering(),
      LATER,
      opts,
    );
    expect([alert.safetyServiceDeploymentStatus, alert.safetyServicePDBStatus, alert.safetyServiceStatus]).toEqual([
      "Alert",
      "Alert",
      "Alert",
    ]);
    expect(alert.state).toBe("HEALTHY");
    const down = deriveCasStatus(
      cas,
      healthyObserved(cas, { safetyService: deployment("cas-safety-service", "ss", 1, 3) }),
      answering(),
      LATER,
      opts,
    );
    expect(down.safetyServiceStatus).toBe("Unhealthy");
    expect(down.state).toBe("UNHEALTHY");
  });

  test("a pod on a lost node does not count as running, even though it still shows Ready", async () => {
    const cas = await full();
    const nodes = clusterNodes(cas, { registered: ["sgx-node-1"] }).filter((n) => n.metadata?.name !== "sgx-node-1");
    const relocation = planRelocation({
      cas,
      pod: readyPod("sgx-node-1"),
      nodes,
      volumeZone: "zone-a",
      lastKnownZone: () => undefined,
      lostSinceMs: 0,
      nowMs: 0,
      backoffMs: 0,
    });
    const s = deriveCasStatus(cas, healthyObserved(cas, { nodes, relocation }), undefined, LATER, opts);
    expect([s.state, s.readyReplicas, s.replicaAlert]).toEqual(["UNHEALTHY", 0, 1]);
    expect(cond(s, "Ready")?.reason).toBe("NoEligibleNode");
    expect(cond(s, "NodeHealthy")).toMatchObject({ status: "False", reason: "NoEligibleNode" });
    expect(cond(s, "NodeHealthy")?.message).toContain("node sgx-node-1 no longer exists");
    expect(cond(s, "NodeHealthy")?.message).toContain("sgx-node-2: no backup CAS registered");
  });

  test("a spec the webhook would refuse is named in SpecApplied and makes the CAS UNHEALTHY", async () => {
    const cas = await full();
    const specIssues = ["spec.backup-controller.session: required when spec.backup-controller.enabled is true"];
    const s = deriveCasStatus(cas, healthyObserved(cas, { specIssues }), answering(), LATER, opts);
    expect(s.state).toBe("UNHEALTHY");
    expect(cond(s, "SpecApplied")).toMatchObject({ status: "False", reason: "InvalidSpec", message: specIssues[0] });
    const ok = deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts);
    expect(cond(ok, "SpecApplied")?.status).toBe("True");
  });

  test("observedPodUID names the pod the status describes (evict reads it), absent without a pod", async () => {
    const cas = await full();
    const s = deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts);
    expect(s.observedPodUID).toBe("u-pod");
    const none = deriveCasStatus(cas, healthyObserved(cas, { pod: undefined }), undefined, LATER, opts);
    expect(none.observedPodUID).toBeUndefined();
  });

  test("metrics use upstream's encodings", async () => {
    const cas = await full();
    const m = casMetricValues(deriveCasStatus(cas, healthyObserved(cas), answering(), LATER, opts));
    expect(m).toMatchObject({
      state: 1,
      phase: 0.875,
      attestable: 1,
      provisioned: 1,
      snapshotStatus: 1,
      snapshotAlert: 0,
      safetyServiceStatus: 3,
      snapshotTimestamp: Date.parse("2026-01-01T12:30:00Z") / 1000,
      snapshotConfiguredInterval: 86400,
    });
    const bad = casMetricValues({
      state: "UNHEALTHY",
      phase: "SnapshotFailure",
      attestable: "Failure",
      provisioned: "Unknown",
      snapshotStatus: "Failed",
      desiredNumMigratableNodes: 0,
      numMigratableNodes: 0,
      migrationNodeRatio: "Disabled",
      podDisruptionBudgetAlert: 0,
    });
    expect(bad).toMatchObject({ state: -1, phase: 0.125, attestable: -1, provisioned: -1, snapshotAlert: 1 });
  });
});
