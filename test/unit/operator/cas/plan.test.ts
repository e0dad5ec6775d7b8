import { describe, expect, test } from "bun:test";
import type { KubeObject } from "../../../../src/kube/types.ts";
import {
  claimsOf,
  databaseKeptMessage,
  nextCasCheck,
  nodeLostMessage,
  podToEvict,
  provisionedOf,
  renderCas,
  shouldProbe,
  specIssues,
  statusObservation,
  unwantedBindings,
} from "../../../../src/operator/cas/plan.ts";
import type { Relocation } from "../../../../src/operator/cas/relocation.ts";
import { casSettings } from "../../../../src/operator/cas/settings.ts";
import type { UpgradePlan } from "../../../../src/operator/cas/upgrade.ts";
import { deployment, opts, readyPod, statefulSet, upstreamCas } from "../../../harness/cas-fixtures.ts";

const moving = (deletePod: boolean, waitMs = 0): Relocation & { kind: "moving" } => ({
  kind: "moving",
  node: "n1",
  why: "node n1 is not Ready",
  eligibility: { eligible: ["n2", "n3"], rejected: [] },
  deletePod,
  waitMs,
});
const placed: Relocation = { kind: "placed", node: "n1" };
const noUpgrade: UpgradePlan = {
  step: "none",
  casImage: "cas:6.0.6",
  backupControllerImage: "bc:6.0.6",
  safetyServiceImage: "ss:6.0.6",
};

describe("whether to ask CAS", () => {
  test("only a ready pod on a node it is not leaving", () => {
    expect(shouldProbe(readyPod("n1"), placed)).toBe(true);
    expect(shouldProbe(readyPod("n1", undefined, false), placed)).toBe(false);
    expect(shouldProbe(readyPod("n1"), moving(false))).toBe(false);
    expect(shouldProbe(undefined, placed)).toBe(false);
  });

  test("provisioned: the answer when CAS answered and knows, else what the status kept", () => {
    expect(provisionedOf({ reachable: true, provisioned: "Yes" } as never, { provisioned: "No" } as never)).toBe("Yes");
    expect(provisionedOf({ reachable: true, provisioned: "Unknown" } as never, { provisioned: "No" } as never)).toBe(
      "No",
    );
    expect(provisionedOf({ reachable: false, provisioned: "Yes" } as never, undefined)).toBeUndefined();
    expect(provisionedOf(undefined, { provisioned: "Yes" } as never)).toBe("Yes");
  });
});

describe("renderCas", () => {
  test("renders the StatefulSet and keeps the running one's immutable claims, naming a refused change", async () => {
    const cas = await upstreamCas("cas.yaml");
    const fresh = renderCas(cas, opts, noUpgrade, placed, undefined);
    expect(fresh.refusedChange).toBeUndefined();
    expect(fresh.desired.owned.some((o) => o.kind === "StatefulSet")).toBe(true);
    const running = statefulSet();
    const claim = { metadata: { name: "other" }, spec: { resources: { requests: { storage: "1Gi" } } } };
    running.spec = { ...running.spec!, volumeClaimTemplates: [claim] };
    const kept = renderCas(cas, opts, noUpgrade, placed, running);
    const sts = kept.desired.owned.find((o) => o.kind === "StatefulSet") as typeof running;
    expect(sts.spec?.volumeClaimTemplates).toEqual([claim]);
    expect(kept.refusedChange).toContain("cannot change");
  });
});

describe("statusObservation", () => {
  test("the status reads the objects just applied, else those observed; disabled parts are absent", async () => {
    const cas = await upstreamCas("cas.yaml");
    const s = casSettings(cas, opts);
    const oldSts = statefulSet("old");
    const newSts = { ...statefulSet("new"), kind: "StatefulSet" };
    const before = {
      statefulSet: oldSts,
      pod: undefined,
      pvcs: [] as const,
      backupController: deployment("cas-backup-controller", "bc", 1),
      safetyService: undefined,
      podDisruptionBudget: undefined,
      safetyServicePodDisruptionBudget: undefined,
      nodes: [],
    };
    const observed = statusObservation(cas, s, before, {
      applied: [newSts as KubeObject],
      pvcs: [],
      upgrade: noUpgrade,
      relocation: placed,
      notAllowed: [],
      podDeletionBackoffMs: 60_000,
    });
    expect(observed.statefulSet).toBe(newSts);
    expect(observed.backupController).toBe(s.backupController.enabled ? before.backupController : undefined);
    expect(observed.podDeletionBackoff).toBe("60s");
    expect(observed.notAllowed).toBeUndefined();
    expect(observed.specIssues).toEqual(specIssues(cas));
    const refused = statusObservation(cas, s, before, {
      applied: [],
      pvcs: [],
      upgrade: noUpgrade,
      relocation: placed,
      notAllowed: ["spec.image: not allowed"],
      podDeletionBackoffMs: 1_000,
    });
    expect(refused.statefulSet).toBe(oldSts);
    expect(refused.notAllowed).toEqual(["spec.image: not allowed"]);
  });
});

describe("deletion and bindings", () => {
  const binding = (name: string, ns: string, sa: string, instance = "cas"): KubeObject =>
    ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name, labels: { "app.kubernetes.io/instance": instance } },
      subjects: [{ kind: "ServiceAccount", namespace: ns, name: sa }],
    }) as KubeObject;

  test("bindings of this CAS by their subject, old names included; wanted and foreign ones stay", async () => {
    const cas = await upstreamCas("cas.yaml");
    const mine = binding("scone-cas-backup-controller-scone-cas", "scone", "cas-backup-controller");
    const wanted = binding("wanted", "scone", "cas-backup-controller");
    const otherNs = binding("other", "elsewhere", "cas-backup-controller");
    const otherCas = binding("other-cas", "scone", "cas-backup-controller", "cas2");
    expect(unwantedBindings(cas, [mine, wanted, otherNs, otherCas], [wanted])).toEqual([mine]);
  });

  test("the database claims of this CAS are named in the Event; none, no Event", async () => {
    const cas = await upstreamCas("cas.yaml");
    const pvc = (name: string, instance: string) =>
      ({ metadata: { name, labels: { "app.kubernetes.io/instance": instance } } }) as KubeObject;
    const claims = claimsOf(cas, [pvc("database-cas-0", "cas"), pvc("database-x-0", "x")]);
    expect(claims.map((c) => c.metadata?.name)).toEqual(["database-cas-0"]);
    expect(databaseKeptMessage(cas, ["database-cas-0"])).toContain("its PVCs database-cas-0 are kept");
    expect(databaseKeptMessage(cas, [])).toBeUndefined();
  });
});

describe("a lost node", () => {
  test("the pod is evicted only once the backoff passed; the Event names where it restarts", () => {
    const pod = readyPod("n1");
    expect(podToEvict(moving(true), pod)).toBe(pod);
    expect(podToEvict(moving(false, 5_000), pod)).toBeUndefined();
    expect(podToEvict(placed, pod)).toBeUndefined();
    expect(nodeLostMessage(moving(true), "cas-0")).toBe(
      "node n1 is not Ready: deleted pod cas-0; it restarts on one of n2, n3",
    );
  });

  test("next look: right after a pending move's backoff (1 s to the unhealthy recheck), else by health", () => {
    const p = { healthyRecheckMs: 30_000, unhealthyRecheckMs: 10_000 };
    expect(nextCasCheck(moving(false, 2_000), "UNHEALTHY", p)).toEqual({ requeueAfterMs: 2_100 });
    expect(nextCasCheck(moving(false, 0), "UNHEALTHY", p)).toEqual({ requeueAfterMs: 1_000 });
    expect(nextCasCheck(moving(false, 60_000), "UNHEALTHY", p)).toEqual({ requeueAfterMs: 10_000 });
    expect(nextCasCheck(moving(true), "UNHEALTHY", p)).toEqual({ requeueAfterMs: 10_000 });
    expect(nextCasCheck(placed, "HEALTHY", p)).toEqual({ requeueAfterMs: 30_000 });
    expect(nextCasCheck(placed, "PENDING", p)).toEqual({ requeueAfterMs: 10_000 });
  });
});
