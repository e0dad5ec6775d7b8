// The compiled operator under failure: killed with SIGKILL at random moments across 20 spec changes, then restarted,
// it must end in exactly the intended objects (one DaemonSet per resource, the last image, one finalizer, one owner
// reference); and two replicas started side by side must never lead at the same time.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../../hack/cluster/ports.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { cleanupSteps, installCrds, restoreHarnessNodeLabels, spawnOperator } from "../../harness/operator.ts";

const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../../dist/scone");
const present = existsSync(BINARY);
// Own namespace per run: the shared cluster outlives this file, and a namespace still terminating from an earlier
// run must not be the one this run creates.
const NS = `chaos-system-${Math.random().toString(36).slice(2, 8)}`;
const BASE = "base.scone.cloud/v1beta1";

/** Deterministic pseudo-random kill points, so a failure can be replayed (seed printed). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe.skipIf(!present || !clusterAvailable())("operator under SIGKILL and with two replicas", () => {
  let cluster: LocalCluster;
  let client: KubeClient;
  let state = "";
  const kubectl = async (args: string[], stdin?: string) => {
    const r = await cluster.kubectl(args, stdin === undefined ? {} : { stdin });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const operator = async (logFile: string, extra: string[] = []) => {
    const [probe, metrics] = [await freePort(), await freePort()];
    return spawnOperator({
      binary: BINARY,
      kubeconfigPath: cluster.kubeconfigPath,
      stateDir: state,
      namespace: NS,
      probePort: probe,
      metricsPort: metrics,
      logFile,
      extra,
    });
  };
  const spec = (tag: number) => `apiVersion: base.scone.cloud/v1beta1
kind: SGXPlugin
metadata:
  name: sgxplugin
spec:
  namespace: ${NS}
  image: registry.example/sgx-plugin:chaos-${tag}
  nodeSelector:
    sgx.intel.com/capable: "true"
---
apiVersion: base.scone.cloud/v1beta1
kind: LAS
metadata:
  name: las
spec:
  namespace: ${NS}
  image: registry.example/las:chaos-${tag}
`;

  beforeAll(async () => {
    cluster = await sharedCluster();
    state = mkdtempSync(join(tmpdir(), "scone-chaos-"));
    client = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    await installCrds(client);
    await kubectl(["create", "namespace", NS]);
  }, 120_000);
  afterAll(async () => {
    // Every operator of this file is dead by now, so nobody would run the finalizers: the LAS and SGXPlugin (the
    // cluster's only ones, by the names the LAS/SGXPlugin suites use too) would stay Terminating and be finalized
    // by the next file's operator in the middle of its own tests. Delete them, drop the finalizers, wait until gone.
    const refs = [
      { apiVersion: BASE, kind: "LAS", name: "las" },
      { apiVersion: BASE, kind: "SGXPlugin", name: "sgxplugin" },
    ];
    await cleanupSteps([
      ...refs.map((ref) => () => client?.deleteIfExists(ref)),
      ...refs.map((ref) => () => client?.patch(ref, { metadata: { finalizers: null } }, "merge").catch(() => {})),
      ...refs.map((ref) => async () => {
        const deadline = Date.now() + 60_000;
        while (client && (await client.tryGet(ref)) && Date.now() < deadline) await Bun.sleep(200);
      }),
      // The LAS and plugin label the nodes; their finalizers did not run.
      () => client && restoreHarnessNodeLabels(client),
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
      () => state && rmSync(state, { recursive: true, force: true }),
    ]);
  }, 120_000);

  test("SIGKILL at random moments across 20 changes ends in exactly the intended objects", async () => {
    const seed = Number(process.env.SCONE_CHAOS_SEED ?? Date.now() % 100000);
    console.log(`chaos seed ${seed} (SCONE_CHAOS_SEED to replay)`);
    const random = rng(seed);
    for (let i = 1; i <= 20; i++) {
      await kubectl(["apply", "-f", "-"], spec(i));
      const op = await operator(join(state, `op-${i}.log`));
      await Bun.sleep(Math.floor(random() * 1500));
      op.kill("SIGKILL");
      await op.exited;
    }
    const final = await operator(join(state, "op-final.log"));
    try {
      type Agent = { metadata: { generation?: number }; status?: { state?: string; observedGeneration?: number } };
      type DaemonSet = {
        metadata: { name: string; generation?: number; ownerReferences?: unknown[] };
        spec: { template: { spec: { containers: { image: string }[] } } };
        status?: { observedGeneration?: number };
      };
      // HEALTHY alone may be a status written before the last spec change (the operator was killed right after
      // `kubectl apply`): wait for the status of the current generation and both DaemonSets on the last template.
      const current = (o: Agent) =>
        o.status?.state === "HEALTHY" && o.status.observedGeneration === o.metadata.generation;
      const onLastTemplate = (d: DaemonSet) =>
        d.spec.template.spec.containers[0]?.image.endsWith(":chaos-20") === true &&
        d.status?.observedGeneration === d.metadata.generation;
      // Generous: on a busy 2-core machine the restarted operator, the DaemonSet controller and KWOK all need time.
      const deadline = Date.now() + 180_000;
      let ds: DaemonSet[];
      for (;;) {
        const las = JSON.parse(await kubectl(["get", "las", "las", "-o", "json"])) as Agent;
        const plugin = JSON.parse(await kubectl(["get", "sgxplugin", "sgxplugin", "-o", "json"])) as Agent;
        ds = JSON.parse(await kubectl(["get", "daemonsets", "-n", NS, "-o", "json"])).items as DaemonSet[];
        if (current(las) && current(plugin) && ds.length >= 2 && ds.every(onLastTemplate)) break;
        if (Date.now() > deadline)
          throw new Error(
            `not settled: las ${JSON.stringify(las.status)}, sgxplugin ${JSON.stringify(plugin.status)}, ` +
              `daemonsets ${ds.map((d) => `${d.metadata.name}=${d.spec.template.spec.containers[0]?.image}`).join(",")}`,
          );
        await Bun.sleep(500);
      }
      expect(ds.map((d) => d.metadata.name).sort()).toEqual(["las", "sgxplugin"]);
      for (const d of ds) {
        expect(d.metadata.ownerReferences?.length).toBe(1);
        expect(d.spec.template.spec.containers[0]?.image).toEndWith(":chaos-20");
      }
      for (const kind of ["las/las", "sgxplugin/sgxplugin"]) {
        const obj = JSON.parse(await kubectl(["get", kind, "-o", "json"]));
        const finalizers: string[] = obj.metadata.finalizers ?? [];
        expect(finalizers.length).toBe(new Set(finalizers).size);
        expect(finalizers.length).toBe(1);
      }
    } finally {
      final.kill("SIGTERM");
      await final.exited;
    }
  }, 360_000);

  test("two replicas never lead at once; the standby takes over when the leader is killed", async () => {
    const logOf = (f: string) => Bun.file(join(state, f)).text();
    const led = async (f: string) => (await logOf(f)).includes("became leader");
    const a = await operator(join(state, "a.log"), ["--leader-elect"]);
    let b: Awaited<ReturnType<typeof operator>> | undefined;
    try {
      // b starts once a leads: started after a fixed pause instead, b could win the lease from an a still starting
      // on a slow machine, and the test would wait for a in vain.
      const deadline = Date.now() + 60_000;
      while (!(await led("a.log")) && Date.now() < deadline) await Bun.sleep(200);
      expect(await led("a.log")).toBe(true);
      b = await operator(join(state, "b.log"), ["--leader-elect"]);
      const contending = Date.now() + 60_000;
      while (!(await logOf("b.log")).includes("waiting for leadership") && Date.now() < contending)
        await Bun.sleep(200);
      expect(await logOf("b.log")).toContain("waiting for leadership");
      await Bun.sleep(4000); // several of b's retry periods
      expect(await led("b.log")).toBe(false);
      a.kill("SIGKILL");
      const killedAt = Date.now();
      // The lease lasts 15 s; b needs up to one more retry period after that, a slow machine a while longer.
      while (!(await led("b.log")) && Date.now() - killedAt < 60_000) await Bun.sleep(200);
      expect(await led("b.log")).toBe(true);
      // b may take over only after a's lease (15 s) expired as b observed it.
      expect(Date.now() - killedAt).toBeGreaterThan(10_000);
    } finally {
      a.kill("SIGKILL");
      b?.kill("SIGTERM");
      await Promise.all([a.exited, b?.exited]);
    }
  }, 210_000);
});
