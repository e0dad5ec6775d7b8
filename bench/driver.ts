// The CAS driver's per-call latency (issue 13) through its two sources: the local SCONE CLI (`--scone-cli`, the
// stand-in .build/scone-cli-sim run as a process per call) and the sconecli pod of a CAS on the real node (exec:
// mkdir, the CLI, rm — plus, for the owner identity, the config in and out). Calls that need no CAS
// (`--version`, `self show-key-hash`), so the figure is the driver's own cost. Figures, no targets (info).
// The pod part needs root (a real node); without it only the local figures are printed. One real node per machine.
// Run: node_modules/.bin/bun run bench/driver.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requestedK8sVersion } from "../hack/cluster/binaries.ts";
import { ControlPlane } from "../hack/cluster/control-plane.ts";
import { NODE_NAME } from "../hack/cluster/node/addresses.ts";
import { writeLayout } from "../hack/image/oci.ts";
import { buildSconecliLayout, ensureSimCli, SIM_CLI } from "../hack/image/sconecli-image.ts";
import type { CasDriver } from "../src/cas/driver/driver.ts";
import { LocalCasDriverSource } from "../src/cas/driver/local-source.ts";
import type { CasDriverSource } from "../src/cas/driver/reach.ts";
import { casDriverSource } from "../src/cas/driver/source.ts";
import { KubeClient } from "../src/kube/client.ts";
import { median, reportFigure } from "./_figures.ts";

const CALLS = 30;
const VERSION = "6.0.6";
const work = mkdtempSync(join(tmpdir(), "scone-bench-driver-"));

/** Median and p90 of `CALLS` key-hash calls (after one warm-up call that creates the identity). */
async function perCall(driver: CasDriver): Promise<{ median: number; p90: number }> {
  await driver.keyHash();
  const ms: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await driver.keyHash();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: median(ms), p90: ms[Math.floor(ms.length * 0.9)] ?? Number.NaN };
}

async function measure(label: string, source: CasDriverSource, ns: string, configPath: string) {
  for (const [who, identity] of [
    ["operator", { kind: "operator" } as const],
    ["owner", { kind: "owner", configPath } as const],
  ] as const) {
    const conn = await source.connect({ namespace: ns, name: "cas" }, identity);
    const r = await perCall(conn.driver);
    await conn.release();
    console.log(`${label}, ${who} identity: median ${r.median.toFixed(1)} ms, p90 ${r.p90.toFixed(1)} ms per call`);
    reportFigure({
      figure: `CAS driver per call, ${label}, ${who} identity (ms; info)`,
      baseline: "-",
      scone: r.median.toFixed(1),
      ratio: r.median,
    });
  }
}

let cp: ControlPlane | undefined;
try {
  ensureSimCli();
  const local = new LocalCasDriverSource({
    binary: [join(process.cwd(), SIM_CLI)],
    stateDir: join(work, "local-state"),
    // No CAS is reached: the forward is not used by these calls.
    portForward: async () => ({
      localAddress: "127.0.0.1",
      localPort: 1,
      activeConnections: 0,
      lastError: undefined,
      close: async () => {},
    }),
  });
  await measure("local CLI process", local, "bench", join(work, "local-owner", "config.json"));

  if (process.getuid?.() !== 0) {
    console.log("pod source skipped: needs root (a real node)");
  } else {
    cp = await ControlPlane.start({
      dir: join(work, "cluster"),
      k8sVersion: requestedK8sVersion(),
      realNode: true,
      ownerPid: process.pid,
    });
    const node = cp.realNode;
    if (!node) throw new Error("the cluster started without its real node");
    const kube = await KubeClient.load({ kubeconfig: cp.kubeconfigPath });
    const { renderCrds } = await import("../src/resources/crds.ts");
    for (const crd of renderCrds()) await kube.apply(crd as never, { force: true, fieldManager: "bench" });
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
    const layoutDir = join(work, "layout");
    writeLayout(layoutDir, buildSconecliLayout({ reference: `sconecli:${VERSION}`, cli: ensureSimCli() }));
    await node.pushLayout(layoutDir, `sconecli:${VERSION}`);
    // The CRD may take a moment to serve: retry the create until it is established.
    for (let i = 0; ; i++) {
      try {
        await kube.create({
          apiVersion: "services.scone.cloud/v1beta1",
          kind: "CAS",
          metadata: { name: "cas", namespace: "bench" },
          spec: {},
        });
        break;
      } catch (err) {
        if (i > 50) throw err;
        await Bun.sleep(200);
      }
    }
    const pod = casDriverSource({
      kube,
      stateDir: join(work, "pod-state"),
      imageMirror: { imageRepo: node.registry },
      serviceVersion: VERSION,
      nodeSelector: { "kubernetes.io/hostname": NODE_NAME },
    });
    const t = performance.now();
    const first = await pod.connect({ namespace: "bench", name: "cas" }, { kind: "operator" });
    await first.driver.cliVersion();
    const startMs = performance.now() - t;
    console.log(
      `first connection (creates the sconecli pod, image pulled from the node's registry): ${startMs.toFixed(0)} ms`,
    );
    reportFigure({
      figure: "sconecli pod: first connection, pod created (ms; info)",
      baseline: "-",
      scone: startMs.toFixed(0),
      ratio: startMs,
    });
    const again = performance.now();
    await pod.connect({ namespace: "bench", name: "cas" }, { kind: "operator" });
    const connectMs = performance.now() - again;
    console.log(`later connection (pod found by label): ${connectMs.toFixed(1)} ms`);
    await measure("sconecli pod by exec", pod, "bench", join(work, "pod-owner", "config.json"));
  }
} finally {
  await cp?.stop();
  rmSync(work, { recursive: true, force: true });
}
