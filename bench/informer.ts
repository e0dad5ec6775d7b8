// Informer catch-up time and memory with many objects: creates N ConfigMaps (default 10,000) in one namespace,
// then, in a fresh child process per variant (so RSS figures do not bleed into each other), starts an informer
// and measures list-and-watch catch-up time and RSS, with and without managedFields stripping.
// Cluster: SCONE_BENCH_KUBECONFIG, else a throwaway local cluster from test/harness. Prints figures; never fails
// on speed.
import type { V1ConfigMap } from "@kubernetes/client-node";
import { KubeClient } from "../src/kube/client.ts";
import { AlreadyExistsError } from "../src/kube/errors.ts";
import { clientListWatch, Informer } from "../src/kube/informer.ts";
import type { KubeLogger } from "../src/kube/types.ts";

const CM = { apiVersion: "v1", kind: "ConfigMap" } as const;
const NAMESPACE = "scone-bench-informer";
const LABEL = "scone.cloud/bench=informer";
const COUNT = Number(process.env.SCONE_BENCH_CONFIGMAPS ?? 10_000);
const quiet: KubeLogger = { debug() {}, info() {}, warn() {}, error() {} };
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

interface Figures {
  variant: string;
  objects: number;
  syncMs: number;
  watchLagMs: number;
  rssBeforeMiB: string;
  rssAfterMiB: string;
  rssDeltaMiB: string;
  heapUsedMiB: string;
}

/** Child: one informer variant, figures as one JSON line on stdout. */
async function measure(kubeconfig: string, variant: "full" | "stripped"): Promise<void> {
  const client = await KubeClient.load({ kubeconfig });
  Bun.gc(true);
  const rssBefore = process.memoryUsage().rss;
  const inf = new Informer<V1ConfigMap>(
    clientListWatch(client, { type: CM, namespace: NAMESPACE, labelSelector: LABEL }),
    { logger: quiet, stripManagedFields: variant === "stripped" },
  );
  const t0 = performance.now();
  inf.start();
  await inf.waitForSync();
  const syncMs = performance.now() - t0;
  // Watch lag: a write after the sync, timed until the informer reports it.
  const name = `probe-${variant}-${Date.now()}`;
  const seen = new Promise<void>((resolve) => {
    inf.addHandlers({ add: (o) => o.metadata?.name === name && resolve() });
  });
  const t1 = performance.now();
  await client.create({ ...CM, metadata: { name, namespace: NAMESPACE, labels: { "scone.cloud/bench": "informer" } } });
  await seen;
  const watchLagMs = performance.now() - t1;
  Bun.gc(true);
  const mem = process.memoryUsage();
  const figures: Figures = {
    variant,
    objects: inf.list().length,
    syncMs: Math.round(syncMs),
    watchLagMs: Math.round(watchLagMs),
    rssBeforeMiB: mib(rssBefore),
    rssAfterMiB: mib(mem.rss),
    rssDeltaMiB: mib(mem.rss - rssBefore),
    heapUsedMiB: mib(mem.heapUsed),
  };
  await inf.stop();
  await client.delete({ ...CM, name, namespace: NAMESPACE });
  console.log(JSON.stringify(figures));
}

async function populate(client: KubeClient): Promise<void> {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } }).catch((err: unknown) => {
    if (!(err instanceof AlreadyExistsError)) throw err;
  });
  const existing = (await client.listAll(CM, { namespace: NAMESPACE, labelSelector: LABEL })).items.length;
  const payload = "x".repeat(256);
  const t0 = performance.now();
  let next = existing;
  // A few writes in flight: enough to keep the API server busy without tripping priority-and-fairness limits.
  const worker = async () => {
    while (next < COUNT) {
      const i = next++;
      await client
        .create({
          ...CM,
          metadata: { name: `cm-${i}`, namespace: NAMESPACE, labels: { "scone.cloud/bench": "informer" } },
          data: { index: String(i), payload },
        })
        .catch((err: unknown) => {
          if (!(err instanceof AlreadyExistsError)) throw err;
        });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const created = COUNT - existing;
  const s = (performance.now() - t0) / 1000;
  console.log(
    created > 0
      ? `created ${created} ConfigMaps in ${s.toFixed(1)} s (${Math.round(created / s)}/s); ${COUNT} in ${NAMESPACE}`
      : `${existing} ConfigMaps already in ${NAMESPACE}`,
  );
}

async function main(): Promise<void> {
  const [mode, kubeconfigArg, variant] = process.argv.slice(2);
  if (mode === "--measure" && kubeconfigArg && (variant === "full" || variant === "stripped")) {
    return measure(kubeconfigArg, variant);
  }
  let stopCluster: (() => Promise<void>) | undefined;
  let kubeconfig = process.env.SCONE_BENCH_KUBECONFIG;
  if (!kubeconfig) {
    const { startLocalCluster } = await import("../test/harness/cluster.ts");
    const cluster = await startLocalCluster();
    kubeconfig = cluster.kubeconfigPath;
    stopCluster = () => cluster.stop();
  }
  try {
    const client = await KubeClient.load({ kubeconfig });
    console.log(
      `informer bench against ${client.transport.connection.server} (${(await client.serverVersion()).gitVersion})`,
    );
    await populate(client);
    const rows: Figures[] = [];
    for (const v of ["full", "stripped"] as const) {
      const child = Bun.spawnSync([process.execPath, "run", import.meta.path, "--measure", kubeconfig, v], {
        stderr: "inherit",
      });
      const line = child.stdout.toString().trim().split("\n").at(-1) ?? "";
      if (child.exitCode !== 0 || !line.startsWith("{"))
        throw new Error(`measure ${v} failed (exit ${child.exitCode})`);
      rows.push(JSON.parse(line) as Figures);
    }
    console.log("variant    objects  list+sync ms  watch lag ms  RSS before  RSS after  RSS delta  heap used (MiB)");
    for (const r of rows) {
      console.log(
        `${r.variant.padEnd(9)} ${String(r.objects).padStart(8)} ${String(r.syncMs).padStart(13)} ${String(r.watchLagMs).padStart(13)} ` +
          `${r.rssBeforeMiB.padStart(11)} ${r.rssAfterMiB.padStart(10)} ${r.rssDeltaMiB.padStart(10)} ${r.heapUsedMiB.padStart(10)}`,
      );
    }
    if (!process.env.SCONE_BENCH_KEEP && process.env.SCONE_BENCH_KUBECONFIG) {
      await client.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NAMESPACE });
    }
  } finally {
    await stopCluster?.();
  }
}

await main();
