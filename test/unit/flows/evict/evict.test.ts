import { describe, expect, test } from "bun:test";
import { runEvict } from "../../../../src/flows/evict/flow.ts";
import { EVICT_ANNOTATION, planEviction, readEvictMarker } from "../../../../src/flows/evict/plan.ts";
import { statusSeesPod } from "../../../../src/flows/status/health.ts";
import type { DayTwoKube } from "../../../../src/flows/status/observe.ts";
import { registrationLabel } from "../../../../src/operator/cas/nodes.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { casPod, FakeKube, healthyCas, node } from "../../../harness/fake-kube.ts";

const NS = "prod";
const NAME = "cas";
const IMAGE = "registry.scontain.com/scone.cloud/cas:6.0.6";
const REG = registrationLabel(NS, NAME, "6.0.6") ?? "";
const NODE_KEY = (n: string) => `Node//${n}`;

/** Three zone-a nodes registered for backup, one zone-b; CAS runs on node-1. The fake scheduler puts a deleted
 * NAME-0 on the first schedulable zone-a node and the fake operator reports HEALTHY. */
function cluster(opts: { register?: boolean; otherNodesCordoned?: boolean; operatorLags?: boolean } = {}) {
  const kube = new FakeKube();
  const reg = opts.register === false ? {} : { registeredFor: REG };
  kube.put(node("node-1", "zone-a", reg));
  kube.put(node("node-2", "zone-a", { ...reg, unschedulable: opts.otherNodesCordoned ?? false }));
  kube.put(node("node-3", "zone-b", reg));
  // The operator's status names the pod it describes by UID (the node is read from the pod).
  const casSeeing = (podUID: string) => {
    const cas = healthyCas(NS, NAME, IMAGE);
    return { ...cas, status: { ...cas.status, observedPodUID: podUID } };
  };
  kube.put(casSeeing("uid-1"));
  kube.put(casPod(NS, NAME, "node-1", IMAGE));
  kube.react = (write, k) => {
    if (write.verb !== "delete" || write.key !== `Pod/${NS}/${NAME}-0`) return;
    const target = ["node-1", "node-2"].find(
      (n) => !k.peek<{ spec: { unschedulable?: boolean } }>({ kind: "Node", name: n })?.spec.unschedulable,
    );
    if (!target) return;
    k.put(casPod(NS, NAME, target, IMAGE, "uid-2"));
    // The operator's status for the new pod (unless it lags: then HEALTHY still describes the pod that left).
    if (opts.operatorLags) return;
    const cas = k.peek<CAS>({ kind: "CAS", namespace: NS, name: NAME });
    if (cas) k.put({ ...cas, status: { ...cas.status, observedPodUID: "uid-2" } });
  };
  return kube;
}

const asKube = (k: FakeKube) => k as unknown as DayTwoKube;
const opts = { namespace: NS, name: NAME, timeoutMs: 50, pollMs: 1 };

describe("planEviction", () => {
  const base = () => {
    const k = cluster();
    return {
      cas: k.peek<CAS>({ kind: "CAS", namespace: NS, name: NAME }),
      pod: k.peek<never>({ kind: "Pod", namespace: NS, name: `${NAME}-0` }),
      nodes: [...k.objects.values()].filter((o) => o.kind === "Node") as never[],
      volumeZone: "zone-a",
    };
  };

  test("moves away from the pod's node to the registered nodes of the volume's zone", () => {
    expect(planEviction(base())).toMatchObject({
      action: "move",
      from: "node-1",
      eligible: ["node-2"],
      resuming: false,
    });
  });

  test("refuses naming every other node and its reasons when none qualifies", () => {
    const k = cluster({ register: false });
    const plan = planEviction({
      cas: k.peek<CAS>({ kind: "CAS", namespace: NS, name: NAME }),
      pod: k.peek({ kind: "Pod", namespace: NS, name: `${NAME}-0` }),
      nodes: [...k.objects.values()].filter((o) => o.kind === "Node") as never[],
      volumeZone: "zone-a",
    });
    expect(plan.action).toBe("refuse");
    const reason = plan.action === "refuse" ? plan.reason : "";
    expect(reason).toContain("no node can take CAS over from node-1");
    expect(reason).toContain("node-2: no backup CAS registered");
    expect(reason).toContain("node-3: no backup CAS registered");
    expect(reason).toContain("in zone zone-b, the database volume is in zone-a");
    expect(reason).not.toContain("the node CAS is leaving");
  });

  test("refuses --node naming a node CAS does not run on", () => {
    expect(planEviction({ ...base(), requestedNode: "node-3" })).toMatchObject({
      action: "refuse",
      reason: "CAS runs on node-1, not on node-3: there is nothing to move away from node-3",
    });
  });

  test("refuses a missing CAS and a pod without a node", () => {
    expect(planEviction({ ...base(), cas: undefined })).toMatchObject({ action: "refuse" });
    expect(planEviction({ ...base(), pod: undefined })).toMatchObject({
      action: "refuse",
      reason: expect.stringContaining("runs on no node"),
    });
  });

  test("a marker resumes the move even when CAS already runs elsewhere, and keeps its uncordon choice", () => {
    const b = base();
    const cas = {
      ...b.cas,
      metadata: { ...b.cas?.metadata, annotations: { [EVICT_ANNOTATION]: '{"from":"node-1","uncordon":false}' } },
    } as CAS;
    const pod = casPod(NS, NAME, "node-2", IMAGE);
    expect(planEviction({ ...b, cas, pod: pod as never })).toMatchObject({
      action: "move",
      from: "node-1",
      resuming: true,
      podOnSource: false,
      uncordon: false,
    });
  });

  test("a malformed marker is no marker", () => {
    const cas = { metadata: { annotations: { [EVICT_ANNOTATION]: "node-1" } } } as unknown as CAS;
    expect(readEvictMarker(cas)).toBeUndefined();
  });
});

describe("statusSeesPod", () => {
  const pod = casPod(NS, NAME, "node-2", IMAGE, "uid-2") as never;
  const cas = (status: Record<string, unknown>) => ({ ...healthyCas(NS, NAME, IMAGE), status }) as unknown as CAS;
  test("the status describes the pod whose UID it names, whatever a condition message says", () => {
    expect(statusSeesPod(cas({ observedPodUID: "uid-2" }), pod)).toBe(true);
    const staleButNamingTheNode = cas({
      observedPodUID: "uid-1",
      conditions: [{ type: "NodeHealthy", status: "True", reason: "NodeReady", message: "CAS runs on node node-2" }],
    });
    expect(statusSeesPod(staleButNamingTheNode, pod)).toBe(false);
  });
  test("no UID on either side is not a match", () => {
    expect(statusSeesPod(cas({}), pod)).toBe(false);
    expect(statusSeesPod(cas({ observedPodUID: "uid-2" }), undefined)).toBe(false);
    expect(statusSeesPod(undefined, pod)).toBe(false);
  });
});

describe("runEvict", () => {
  test("cordons, deletes NAME-0, waits for HEALTHY elsewhere, uncordons and removes its marker", async () => {
    const kube = cluster();
    const outcome = await runEvict(asKube(kube), opts);
    expect(outcome).toMatchObject({ ok: true, from: "node-1", to: "node-2" });
    expect(kube.writes.map((w) => `${w.verb} ${w.key}`)).toEqual([
      `patch CAS/${NS}/${NAME}`,
      `patch ${NODE_KEY("node-1")}`,
      `delete Pod/${NS}/${NAME}-0`,
      `patch ${NODE_KEY("node-1")}`,
      `patch CAS/${NS}/${NAME}`,
    ]);
    expect(
      kube.peek<{ spec: { unschedulable?: boolean } }>({ kind: "Node", name: "node-1" })?.spec.unschedulable,
    ).toBeUndefined();
    expect(readEvictMarker(kube.peek<CAS>({ kind: "CAS", namespace: NS, name: NAME }))).toBeUndefined();
  });

  test("refused without any write when no node qualifies", async () => {
    const kube = cluster({ register: false });
    const outcome = await runEvict(asKube(kube), opts);
    expect(outcome).toMatchObject({ ok: false, refused: true });
    expect(outcome.error).toContain("node-2: no backup CAS registered");
    expect(kube.writes).toEqual([]);
  });

  test("a run that died after the cordon is continued by the next, which leaves the node schedulable", async () => {
    const kube = cluster();
    kube.failNext = "delete";
    const first = await runEvict(asKube(kube), opts);
    expect(first.ok).toBe(false);
    expect(first.error).toContain("rerun scone cas evict cas -n prod to continue");
    expect(kube.peek<{ spec: { unschedulable?: boolean } }>({ kind: "Node", name: "node-1" })?.spec.unschedulable).toBe(
      true,
    );

    const second = await runEvict(asKube(kube), opts);
    expect(second).toMatchObject({ ok: true, from: "node-1", to: "node-2" });
    const skipped = second.steps.filter((s) => s.outcome === "skipped").map((s) => s.name);
    expect(skipped).toEqual(["mark", "cordon"]);
    expect(
      kube.peek<{ spec: { unschedulable?: boolean } }>({ kind: "Node", name: "node-1" })?.spec.unschedulable,
    ).toBeUndefined();
  });

  test("a rerun after the pod already moved only cleans up", async () => {
    const kube = cluster();
    // A run dies at the uncordon (the third patch: marker, cordon, uncordon), after CAS moved.
    const scheduler = kube.react;
    let patches = 0;
    kube.react = (w, k) => {
      scheduler(w, k);
      if (w.verb === "patch" && ++patches === 2) k.failNext = "patch";
    };
    expect((await runEvict(asKube(kube), opts)).ok).toBe(false);
    kube.react = scheduler;
    const last = await runEvict(asKube(kube), opts);
    expect(last.ok).toBe(true);
    expect(last.steps.find((s) => s.name === "delete-pod")).toMatchObject({
      outcome: "skipped",
      detail: "the pod runs on node-2",
    });
    expect(
      kube.peek<{ spec: { unschedulable?: boolean } }>({ kind: "Node", name: "node-1" })?.spec.unschedulable,
    ).toBeUndefined();
  });

  test("a node cordoned before the move stays cordoned", async () => {
    const kube = cluster();
    await kube.patch({ apiVersion: "v1", kind: "Node", name: "node-1" }, { spec: { unschedulable: true } });
    kube.writes.length = 0;
    const outcome = await runEvict(asKube(kube), opts);
    expect(outcome.ok).toBe(true);
    expect(outcome.steps.find((s) => s.name === "uncordon")).toMatchObject({ outcome: "skipped" });
    expect(kube.peek<{ spec: { unschedulable?: boolean } }>({ kind: "Node", name: "node-1" })?.spec.unschedulable).toBe(
      true,
    );
  });

  test("HEALTHY of the pod that left does not count: the wait names the stale status", async () => {
    const kube = cluster({ operatorLags: true });
    const outcome = await runEvict(asKube(kube), opts);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toContain("pod on node-2; the CAS status still describes the pod on node-1");
  });

  test("a CAS that does not come back HEALTHY times out naming what it sees, node still cordoned", async () => {
    const kube = cluster();
    kube.react = () => {}; // nothing reschedules the pod
    const outcome = await runEvict(asKube(kube), opts);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toContain("pod cas-0 is not scheduled yet");
    expect(outcome.error).toContain("node node-1 may still be cordoned");
  });
});
