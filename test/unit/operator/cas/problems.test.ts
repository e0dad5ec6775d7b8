// Each problem finder on its own: which reason, message and severity a fact produces, and silence when all is well.
import { describe, expect, test } from "bun:test";
import type { V1PodDisruptionBudget, V1StatefulSet } from "@kubernetes/client-node";
import type { Migration } from "../../../../src/operator/cas/facts.ts";
import {
  disruptionBudgetProblems,
  failingProblems,
  migrationProblems,
  type Problem,
  podDisruptionBudgetAlertOf,
  podProblems,
  probeProblems,
  safetyServiceProblems,
  snapshotProblems,
  specProblems,
} from "../../../../src/operator/cas/problems.ts";
import { CAS_REASON } from "../../../../src/resources/cas-conditions.ts";

const sts = {} as V1StatefulSet;
const eligibility = { eligible: ["node-2"], rejected: [] };
const brief = (ps: Problem[]) => ps.map((p) => `${p.reason}/${p.severity}`);

describe("podProblems", () => {
  test("a missing StatefulSet is being installed", () => {
    expect(
      brief(podProblems({ statefulSet: undefined, pod: undefined, podReady: false, relocation: undefined })),
    ).toEqual(["Installing/settling"]);
  });
  test("a ready pod is no problem", () => {
    expect(podProblems({ statefulSet: sts, pod: undefined, podReady: true, relocation: undefined })).toEqual([]);
  });
  test("an unready pod names why, settling", () => {
    const [p] = podProblems({ statefulSet: sts, pod: undefined, podReady: false, relocation: { kind: "placed" } });
    expect(p).toEqual({ reason: CAS_REASON.PodNotReady, message: "pod does not exist", severity: "settling" });
  });
  test("a lost node is unhealthy at once: moving, or stuck with nowhere to go", () => {
    const moving = { kind: "moving", node: "n1", why: "node n1 is gone", eligibility, deletePod: false, waitMs: 1 };
    expect(podProblems({ statefulSet: sts, pod: undefined, podReady: false, relocation: moving } as never)).toEqual([
      { reason: CAS_REASON.NodeLost, message: "node n1 is gone; moving CAS", severity: "unhealthy" },
    ]);
    const stuck = { kind: "stuck", node: "n1", why: "node n1 is gone", eligibility } as const;
    expect(brief(podProblems({ statefulSet: sts, pod: undefined, podReady: false, relocation: stuck }))).toEqual([
      "NoEligibleNode/unhealthy",
    ]);
  });
});

describe("probeProblems", () => {
  const ok = { asked: true, reachable: true, attested: true, provisioned: "Yes" } as const;
  test("an answering, attested, provisioned CAS is no problem", () => {
    expect(probeProblems(ok)).toEqual([]);
  });
  test("an asked CAS that does not answer is unhealthy; one not asked is not", () => {
    expect(probeProblems({ ...ok, reachable: false, attested: undefined, error: "refused" })).toEqual([
      { reason: CAS_REASON.CASUnreachable, message: "CAS does not answer: refused", severity: "unhealthy" },
    ]);
    expect(probeProblems({ ...ok, asked: false, reachable: false, attested: undefined })).toEqual([]);
  });
  test("a failed attestation is unhealthy; not provisioned is waiting, naming the command", () => {
    expect(brief(probeProblems({ ...ok, attested: false }))).toEqual(["AttestationFailed/unhealthy"]);
    const [p] = probeProblems({ ...ok, provisioned: "No" });
    expect(p).toMatchObject({ reason: CAS_REASON.NotProvisioned, severity: "waiting" });
    expect(p?.message).toContain("scone cas provision");
    expect(probeProblems({ ...ok, provisioned: "Unknown" })[0]?.message).toContain("not known yet");
  });
});

describe("specProblems", () => {
  test("refused and invalid fields are unhealthy, joined per kind", () => {
    expect(specProblems()).toEqual([]);
    expect(specProblems(["a: no", "b: no"], ["c: bad"])).toEqual([
      { reason: CAS_REASON.NotAllowed, message: "a: no; b: no", severity: "unhealthy" },
      { reason: CAS_REASON.InvalidSpec, message: "c: bad", severity: "unhealthy" },
    ]);
  });
});

describe("disruptionBudgetProblems", () => {
  const budget = (disruptionsAllowed: number) => ({ status: { disruptionsAllowed } }) as V1PodDisruptionBudget;
  test("a budget that allows no eviction is fine; one that allows one, or none at all, is a problem", () => {
    expect(disruptionBudgetProblems(budget(0))).toEqual([]);
    expect(podDisruptionBudgetAlertOf(budget(0))).toBe(0);
    expect(disruptionBudgetProblems(budget(3))[0]?.message).toBe("the CAS PodDisruptionBudget allows an eviction");
    expect(podDisruptionBudgetAlertOf(budget(3))).toBe(1);
    expect(disruptionBudgetProblems(undefined)[0]?.message).toBe("the CAS PodDisruptionBudget does not exist");
    expect(podDisruptionBudgetAlertOf(undefined)).toBe(1);
  });
});

describe("migrationProblems", () => {
  const m = (over: Partial<Migration>): Migration => ({
    num: 2,
    desired: 2,
    ratio: "2/2",
    nodeAlert: 0,
    controllerAlert: 0,
    unregistered: [],
    ...over,
  });
  test("nothing when disabled or complete", () => {
    expect(migrationProblems(false, m({ controllerAlert: 1, desired: 0 }))).toEqual([]);
    expect(migrationProblems(true, m({}))).toEqual([]);
  });
  test("a stopped controller settles; missing nodes or registrations wait, naming the nodes", () => {
    expect(brief(migrationProblems(true, m({ controllerAlert: 1, desired: 0 })))).toEqual([
      "BackupControllerUnavailable/settling",
      "NoMigrationNodes/waiting",
    ]);
    expect(migrationProblems(true, m({ num: 1, nodeAlert: 1, unregistered: ["node-3"] }))).toEqual([
      {
        reason: CAS_REASON.EnablingMigration,
        message: "1 of 2 nodes have no registered backup CAS yet: node-3",
        severity: "waiting",
      },
    ]);
  });
});

describe("snapshotProblems", () => {
  test("only a failed snapshot state is a problem, naming the last check and the interval", () => {
    expect(snapshotProblems("Persisted", "2026-01-01T12:00:00Z", "1m")).toEqual([]);
    expect(snapshotProblems("Failed", "2026-01-01T12:00:00Z", "1m")).toEqual([
      {
        reason: CAS_REASON.SnapshotFailure,
        message: "no database snapshot check since 2026-01-01T12:00:00Z (interval 1m)",
        severity: "unhealthy",
      },
    ]);
  });
});

describe("safetyServiceProblems", () => {
  test("Unhealthy and Unknown are problems; Alert, Healthy and Disabled are not", () => {
    for (const status of ["Alert", "Healthy", "Disabled"] as const)
      expect(safetyServiceProblems({ status, deployment: status, pdb: status })).toEqual([]);
    expect(safetyServiceProblems({ status: "Unknown", deployment: "Healthy", pdb: "Unknown" })).toEqual([
      {
        reason: CAS_REASON.SafetyServiceUnhealthy,
        message: "the safety service is Unknown (Deployment Healthy, PodDisruptionBudget Unknown)",
        severity: "settling",
      },
    ]);
  });
});

describe("failingProblems", () => {
  const p = (severity: Problem["severity"]): Problem => ({ reason: severity, message: severity, severity });
  const all = [p("unhealthy"), p("settling"), p("waiting")];
  test("while settling only unhealthy ones fail; after the deadline settling ones too; waiting ones never", () => {
    expect(brief(failingProblems(all, true))).toEqual(["unhealthy/unhealthy"]);
    expect(brief(failingProblems(all, false))).toEqual(["unhealthy/unhealthy", "settling/settling"]);
  });
});
