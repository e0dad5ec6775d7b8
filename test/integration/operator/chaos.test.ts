// The compiled operator under failure: killed with SIGKILL at random moments across 20 spec changes, then restarted,
// it must end in exactly the intended objects (one DaemonSet per resource, the last image, one finalizer, one owner
// reference); and two replicas started side by side must never lead at the same time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../../src/kube/client.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { installCrds } from "./context.ts";

const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../../dist/scone");
const present = existsSync(BINARY);
const NS = "chaos-system";

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, fetch: () => new Response() });
  const p = s.port ?? 0;
  s.stop(true);
  return p;
}

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
  let state = "";
  const kubectl = async (args: string[], stdin?: string) => {
    const r = await cluster.kubectl(args, stdin === undefined ? {} : { stdin });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const operator = async (logFile: string, extra: string[] = []) => {
    const [probe, metrics] = [await freePort(), await freePort()];
    return Bun.spawn(
      [
        BINARY,
        "operator",
        "--kubeconfig",
        cluster.kubeconfigPath,
        "--state-dir",
        state,
        "-n",
        NS,
        "--probe-port",
        String(probe),
        "--metrics-port",
        String(metrics),
        "--webhook-mode",
        "off",
        ...extra,
      ],
      { stdout: Bun.file(logFile), stderr: Bun.file(`${logFile}.err`), env: { ...process.env, KUBECONFIG: "" } },
    );
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
    await installCrds(await KubeClient.load({ kubeconfig: cluster.kubeconfigPath }));
    await cluster.kubectl(["create", "namespace", NS]);
  }, 120_000);
  afterAll(async () => {
    await cluster.kubectl(["delete", "las", "las", "--wait=false"]);
    await cluster.kubectl(["delete", "sgxplugin", "sgxplugin", "--wait=false"]);
    rmSync(state, { recursive: true, force: true });
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
      const deadline = Date.now() + 90_000;
      for (;;) {
        const las = JSON.parse(await kubectl(["get", "las", "las", "-o", "json"]));
        const plugin = JSON.parse(await kubectl(["get", "sgxplugin", "sgxplugin", "-o", "json"]));
        if (
          las.status?.state === "HEALTHY" &&
          plugin.status?.state === "HEALTHY" &&
          las.status?.observedGeneration === las.metadata.generation
        )
          break;
        if (Date.now() > deadline)
          throw new Error(`not HEALTHY: las ${las.status?.state}, sgxplugin ${plugin.status?.state}`);
        await Bun.sleep(500);
      }
      const ds = JSON.parse(await kubectl(["get", "daemonsets", "-n", NS, "-o", "json"])).items as {
        metadata: { name: string; ownerReferences?: unknown[] };
        spec: { template: { spec: { containers: { image: string }[] } } };
      }[];
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
  }, 300_000);

  test("two replicas never lead at once; the standby takes over when the leader is killed", async () => {
    const a = await operator(join(state, "a.log"), ["--leader-elect"]);
    await Bun.sleep(1500);
    const b = await operator(join(state, "b.log"), ["--leader-elect"]);
    const led = async (f: string) => (await Bun.file(join(state, f)).text()).includes("became leader");
    try {
      const deadline = Date.now() + 30_000;
      while (!(await led("a.log")) && Date.now() < deadline) await Bun.sleep(200);
      expect(await led("a.log")).toBe(true);
      await Bun.sleep(4000); // several of b's retry periods
      expect(await led("b.log")).toBe(false);
      a.kill("SIGKILL");
      const killedAt = Date.now();
      while (!(await led("b.log")) && Date.now() - killedAt < 40_000) await Bun.sleep(200);
      expect(await led("b.log")).toBe(true);
      // b may take over only after a's lease (15 s) expired as b observed it.
      expect(Date.now() - killedAt).toBeGreaterThan(10_000);
    } finally {
      a.kill("SIGKILL");
      b.kill("SIGTERM");
      await Promise.all([a.exited, b.exited]);
    }
  }, 120_000);
});
