// The compiled operator's idle memory and its reconcile rate for a burst of changes, next to the API server's own
// write rate for the same objects, measured in the same run on a throwaway local cluster (or SCONE_BENCH_KUBECONFIG).
// Burst: N spec changes to the SGXPlugin, applied back to back; the operator converges when the DaemonSet carries
// the last change and status.observedGeneration equals the last generation. The queue deduplicates, so it may run
// fewer reconciles than changes: both counts are printed. Figures only; nothing is asserted.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../src/kube/client.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { renderCrds } from "../src/resources/crds.ts";

const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../dist/scone");
const CHANGES = Number(process.env.SCONE_BENCH_CHANGES ?? 100);
const NS = "scone-bench-operator";
const PLUGIN = { apiVersion: "base.scone.cloud/v1beta1", kind: "SGXPlugin" } as const;
const DS = { apiVersion: "apps/v1", kind: "DaemonSet" } as const;

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const reconciles = async (port: number): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^scone_controller_reconcile_total\{controller="sgxplugin"[^}]*\} (\d+)/gm))
    n += Number(m[1]);
  return n;
};
async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
const plugin = (i: number): KubeObject & { spec: unknown } => ({
  ...PLUGIN,
  metadata: { name: "sgxplugin" },
  spec: {
    namespace: NS,
    podAnnotations: { "bench/change": String(i) },
    nodeSelector: { "sgx.intel.com/capable": "true" },
  },
});

if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run 'make build'`);
let kubeconfig = process.env.SCONE_BENCH_KUBECONFIG;
let stopCluster: (() => Promise<void>) | undefined;
if (!kubeconfig) {
  const { startLocalCluster } = await import("../test/harness/cluster.ts");
  const cluster = await startLocalCluster();
  kubeconfig = cluster.kubeconfigPath;
  stopCluster = () => cluster.stop();
}
const client = await KubeClient.load({ kubeconfig });
const state = mkdtempSync(join(tmpdir(), "scone-bench-op-"));
let op: Bun.Subprocess | undefined;
try {
  for (const crd of renderCrds()) await client.apply(crd, { force: true });
  await Bun.sleep(1500); // CRDs established
  await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }, { force: true });
  const [probe, metrics] = [18791, 18790];
  op = Bun.spawn(
    [
      BINARY,
      "operator",
      "--kubeconfig",
      kubeconfig,
      "-n",
      NS,
      "--state-dir",
      state,
      "--webhook-mode",
      "off",
      "--probe-port",
      String(probe),
      "--metrics-port",
      String(metrics),
      "--log-level",
      "warn",
    ],
    { stdout: "ignore", stderr: "inherit", env: { ...process.env, KUBECONFIG: "" } },
  );
  await until(
    "operator ready",
    async () => (await fetch(`http://127.0.0.1:${probe}/readyz`).catch(() => undefined))?.ok === true,
  );
  await Bun.sleep(2000);
  const rssEmpty = rssMiB(op.pid);

  await client.apply(plugin(0), { force: true });
  const healthy = async () =>
    (await client.get<KubeObject & { status?: { state?: string } }>({ ...PLUGIN, name: "sgxplugin" })).status?.state ===
    "HEALTHY";
  await until("SGXPlugin HEALTHY", healthy);
  await Bun.sleep(3000);
  Bun.gc(true);
  const rssIdle = rssMiB(op.pid);

  // The burst.
  const before = await reconciles(metrics);
  const t0 = performance.now();
  let generation = 0;
  for (let i = 1; i <= CHANGES; i++)
    generation = (await client.apply(plugin(i), { force: true })).metadata?.generation ?? 0;
  const submittedMs = performance.now() - t0;
  await until("convergence", async () => {
    const p = await client.get<KubeObject & { status?: { observedGeneration?: number } }>({
      ...PLUGIN,
      name: "sgxplugin",
    });
    if ((p.status?.observedGeneration ?? 0) < generation) return false;
    const ds = await client.get<
      KubeObject & { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }
    >({ ...DS, namespace: NS, name: "sgxplugin" });
    return ds.spec?.template?.metadata?.annotations?.["bench/change"] === String(CHANGES);
  });
  const convergeMs = performance.now() - t0;
  const ran = (await reconciles(metrics)) - before;

  // The API server's own write rate for the same objects: N applies of the DaemonSet, back to back.
  const ds = await client.get<KubeObject>({ ...DS, namespace: NS, name: "sgxplugin" });
  const t1 = performance.now();
  for (let i = 1; i <= CHANGES; i++) {
    await client.apply(
      {
        ...DS,
        metadata: { name: "sgxplugin", namespace: NS, annotations: { "bench/direct": String(i) } },
      } as KubeObject,
      { force: true, fieldManager: "bench" },
    );
  }
  const directMs = performance.now() - t1;
  void ds;

  const perSec = (n: number, ms: number) => (n / (ms / 1000)).toFixed(1);
  console.log(`operator (compiled), SGXPlugin + LAS controllers, ${CHANGES} back-to-back spec changes`);
  console.log(`  RSS: ${rssEmpty.toFixed(1)} MiB started, ${rssIdle.toFixed(1)} MiB idle with a HEALTHY SGXPlugin`);
  console.log(
    `  burst: submitted in ${(submittedMs / 1000).toFixed(2)} s, converged in ${(convergeMs / 1000).toFixed(2)} s; ${ran} reconciles (${perSec(ran, convergeMs)}/s), ${perSec(CHANGES, convergeMs)} changes/s`,
  );
  console.log(`  API server, same object, direct server-side applies: ${perSec(CHANGES, directMs)} writes/s`);
  console.log(
    `  ratio (operator changes/s ÷ API writes/s): ${(CHANGES / convergeMs / (CHANGES / directMs)).toFixed(2)}`,
  );
} finally {
  op?.kill("SIGTERM");
  await op?.exited;
  rmSync(state, { recursive: true, force: true });
  await stopCluster?.();
}
