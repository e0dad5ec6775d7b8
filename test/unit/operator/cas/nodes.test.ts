import { describe, expect, test } from "bun:test";
import {
  eligibleNodes,
  isRegisteredFor,
  migrationCandidates,
  registrationLabel,
} from "../../../../src/operator/cas/nodes.ts";
import {
  currentPlacement,
  placementFor,
  planRelocation,
  zoneOfVolume,
} from "../../../../src/operator/cas/relocation.ts";
import { renderCasStatefulSet } from "../../../../src/operator/cas/render.ts";
import {
  clusterNodes,
  node,
  opts,
  readyPod,
  registered,
  SGX_LABELS,
  upstreamCas,
} from "../../../harness/cas-fixtures.ts";

describe("eligibleNodes", () => {
  test("only a registered, labelled, schedulable, Ready node in the volume's zone qualifies; each rejection says why", async () => {
    const cas = await upstreamCas("cas.yaml");
    const nodes = [
      ...clusterNodes(cas, { registered: ["sgx-node-1", "sgx-node-3"] }),
      node("sgx-node-4", "zone-a", { labels: { ...SGX_LABELS, ...registered(cas) } }),
      {
        ...node("sgx-node-5", "zone-a", { labels: { ...SGX_LABELS, ...registered(cas) } }),
        spec: { unschedulable: true },
      },
      node("sgx-node-6", "zone-a", { labels: { ...SGX_LABELS, ...registered(cas) }, ready: false }),
      {
        ...node("sgx-node-7", "zone-a", { labels: { ...SGX_LABELS, ...registered(cas) } }),
        spec: { taints: [{ key: "maintenance", effect: "NoSchedule" }] },
      },
    ];
    const e = eligibleNodes(cas, nodes, { name: "sgx-node-1", zone: "zone-a" });
    expect(e.eligible).toEqual(["sgx-node-4"]);
    const why = Object.fromEntries(e.rejected.map((r) => [r.node, r.reasons.join(" | ")]));
    expect(why["sgx-node-1"]).toBe("the node CAS is leaving");
    expect(why["sgx-node-2"]).toContain("no backup CAS registered");
    expect(why["sgx-node-3"]).toBe("in zone zone-b, the database volume is in zone-a");
    expect(why["plain-node-1"]).toContain("no backup CAS registered");
    expect(why["plain-node-1"]).toContain("missing label");
    expect(why["sgx-node-5"]).toBe("cordoned (unschedulable)");
    expect(why["sgx-node-6"]).toBe("not Ready");
    expect(why["sgx-node-7"]).toBe("untolerated taint maintenance:NoSchedule");
  });

  test("the CAS's own nodeSelector applies too; without a known zone any zone is fine", async () => {
    const cas = await upstreamCas("cas.yaml");
    const nodes = clusterNodes(cas);
    expect(eligibleNodes(cas, nodes, { name: "sgx-node-1" }).eligible).toEqual(["sgx-node-2", "sgx-node-3"]);
    const picky = { ...cas, spec: { ...cas.spec, nodeSelector: { pool: "cas" } } };
    expect(eligibleNodes(picky, nodes, { name: "sgx-node-1" }).eligible).toEqual([]);
  });

  test("registrations are the backup controller's node label, per CAS and version", async () => {
    const cas = await upstreamCas("cas.yaml");
    const other = await upstreamCas("cas.yaml", { NAME: "other" });
    expect(eligibleNodes(other, clusterNodes(cas), { name: "sgx-node-1" }).eligible).toEqual([]);
    // The provider's documented example (SCONE-STACK.md "Moving CAS off a node").
    expect(registrationLabel("osc-scone-system", "cas", "5.8.0")).toBe("cas-registered-cas.osc-scone-system-5.8.0");
    // A name too long for a label cannot carry a registration: none is read.
    expect(registrationLabel("a-very-long-namespace-name-for-tests", "cas-with-a-long-name", "6.0.6")).toBeUndefined();
    const registeredNode = clusterNodes(cas)[0]!;
    expect(isRegisteredFor(registeredNode, cas)).toBe(true);
    expect(isRegisteredFor(registeredNode, cas, "6.0.7")).toBe(false);
    const oldVersionOnly = node("n", "zone-a", { labels: { ...SGX_LABELS, ...registered(cas, "6.0.5") } });
    expect(isRegisteredFor(oldVersionOnly, cas)).toBe(false);
    // The label's value must be "true"; the old annotation is not read.
    const annotated = node("n", "zone-a", {
      labels: SGX_LABELS,
      annotations: { "cas.scone.cloud/backup-registered-scone.cas": "2026-01-01T11:00:00Z" },
    });
    expect(isRegisteredFor(annotated, cas)).toBe(false);
  });

  test("migration candidates: schedulable SGX/LAS nodes with tolerated taints", async () => {
    const cas = await upstreamCas("cas.yaml");
    const nodes = clusterNodes(cas);
    nodes[2] = { ...nodes[2], spec: { unschedulable: true } } as (typeof nodes)[number];
    expect(migrationCandidates(cas, nodes).map((n) => n.metadata?.name)).toEqual(["sgx-node-1", "sgx-node-2"]);
  });
});

describe("planRelocation", () => {
  const base = async (over: Partial<Parameters<typeof planRelocation>[0]> = {}) => {
    const cas = await upstreamCas("cas.yaml");
    return planRelocation({
      cas,
      pod: readyPod("sgx-node-1"),
      nodes: clusterNodes(cas),
      volumeZone: "zone-a",
      lastKnownZone: () => undefined,
      lostSinceMs: 1_000,
      nowMs: 1_000,
      backoffMs: 60_000,
      ...over,
    });
  };

  test("a Ready node keeps CAS where it is", async () => {
    expect(await base()).toEqual({ kind: "placed", node: "sgx-node-1" });
  });

  test("a deleted node: move to the same-zone registered node after the backoff", async () => {
    const cas = await upstreamCas("cas.yaml");
    const nodes = clusterNodes(cas).filter((n) => n.metadata?.name !== "sgx-node-1");
    const waiting = await base({ nodes });
    expect(waiting).toMatchObject({ kind: "moving", node: "sgx-node-1", deletePod: false, waitMs: 60_000 });
    if (waiting.kind === "moving") expect(waiting.eligibility.eligible).toEqual(["sgx-node-2"]);
    const due = await base({ nodes, nowMs: 61_000 });
    expect(due).toMatchObject({ kind: "moving", deletePod: true, why: "node sgx-node-1 no longer exists" });
  });

  test("the zone comes from the volume, else the old node, else the last zone seen", async () => {
    const cas = await upstreamCas("cas.yaml");
    const gone = clusterNodes(cas).filter((n) => n.metadata?.name !== "sgx-node-1");
    const lost = await base({ nodes: gone, volumeZone: undefined, lastKnownZone: () => "zone-b" });
    expect(lost.kind === "moving" && lost.eligibility.eligible).toEqual(["sgx-node-3"]);
    const notReady = await base({ nodes: clusterNodes(cas, { notReady: ["sgx-node-1"] }), volumeZone: undefined });
    expect(notReady.kind === "moving" && notReady.eligibility.eligible).toEqual(["sgx-node-2"]);
    expect(notReady.kind === "moving" && notReady.why).toBe("node sgx-node-1 is not Ready (Unknown)");
  });

  test("no eligible node: stuck, nothing deleted, every node named with its reason", async () => {
    const cas = await upstreamCas("cas.yaml");
    const nodes = clusterNodes(cas, { registered: ["sgx-node-1", "sgx-node-3"], notReady: ["sgx-node-1"] });
    const r = await base({ nodes, nowMs: 1e9 });
    expect(r.kind).toBe("stuck");
    if (r.kind === "stuck")
      expect(r.eligibility.rejected.map((x) => x.node)).toEqual([
        "plain-node-1",
        "sgx-node-1",
        "sgx-node-2",
        "sgx-node-3",
      ]);
  });

  test("a pending pod pinned to a gone node moves once an eligible node appears; stuck CAS is pinned to the node it left", async () => {
    const cas = await upstreamCas("cas.yaml");
    const gone = clusterNodes(cas).filter((n) => n.metadata?.name !== "sgx-node-1");
    const pending = { ...readyPod("sgx-node-1", undefined, false), spec: { containers: [] } };
    const r = await base({ pod: pending, nodes: gone, pinned: ["sgx-node-1"], nowMs: 61_000 });
    expect(r).toMatchObject({
      kind: "moving",
      node: "sgx-node-1",
      deletePod: true,
      why: "CAS is pinned to node sgx-node-1 no longer exists",
    });
    expect(placementFor(r, undefined)).toEqual(["sgx-node-2"]);
    expect(await base({ pod: pending, nodes: gone })).toEqual({ kind: "placed" });
    const stuck = await base({ nodes: clusterNodes(cas, { registered: ["sgx-node-1"], notReady: ["sgx-node-1"] }) });
    expect(stuck.kind).toBe("stuck");
    expect(placementFor(stuck, undefined)).toEqual(["sgx-node-1"]);
  });

  test("pinning is read back from a rendered StatefulSet", async () => {
    const cas = await upstreamCas("cas.yaml");
    const plan = { casImage: "i", backupControllerImage: "b", safetyServiceImage: "s", placement: ["sgx-node-2"] };
    expect(currentPlacement(renderCasStatefulSet(cas, opts, plan))).toEqual(["sgx-node-2"]);
    expect(currentPlacement(renderCasStatefulSet(cas, opts))).toBeUndefined();
  });

  test("zone of a PV from its label or its node affinity", () => {
    expect(zoneOfVolume({ metadata: { labels: { "topology.kubernetes.io/zone": "z1" } } })).toBe("z1");
    expect(
      zoneOfVolume({
        spec: {
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: ["z2"] }] },
              ],
            },
          },
        },
      }),
    ).toBe("z2");
    expect(zoneOfVolume({})).toBeUndefined();
  });
});
