// The real worker node (issue 12): how long a cluster with the real node takes to be ready (and the node's share of
// it: containerd, images, pod network, kubelet on top of the control plane), the size of scone's single-platform
// image as the node imports it, and the RSS of the operator pod at idle (installed by `scone operator install
// --reconcile --only-operator --wait` on the real node, nothing to reconcile), read on the node: VmRSS of the
// container's process and memory.current of its cgroup. Figures for the table, without targets (info).
// Needs root and dist/scone; skips (exit 0) otherwise. One real node per machine: not while the realnode tests run.
// Run: node_modules/.bin/bun run bench/realnode.ts
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requestedK8sVersion } from "../hack/cluster/binaries.ts";
import { ControlPlane } from "../hack/cluster/control-plane.ts";
import { KubeClient } from "../src/kube/client.ts";
import { BINARY } from "../test/harness/flows.ts";
import { buildOperatorImage, readyOperatorPods } from "../test/harness/real-node-operator.ts";
import { median, reportFigure } from "./_figures.ts";

const NS = "scone-bench";
const IDLE_SAMPLES = 5;

if (process.getuid?.() !== 0 || !existsSync(BINARY)) {
  console.log(`skipped: needs root (a real node) and ${BINARY} (make build)`);
  process.exit(0);
}

/** The host process of a container (CRI id): the one whose cgroup path names the id; and its memory cgroup. */
function containerProcess(containerId: string): { pid: number; memoryFile: string | undefined } {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cgroups: string[] = [];
    try {
      cgroups = readFileSync(`/proc/${entry}/cgroup`, "utf8").split("\n");
    } catch {
      continue; // exited meanwhile
    }
    if (!cgroups.some((l) => l.includes(containerId))) continue;
    // cgroup v1 ("N:memory:/path", memory.usage_in_bytes) or v2 ("0::/path", memory.current), as mounted here.
    const v1 = cgroups.find((l) => /^\d+:memory:/.test(l))?.replace(/^\d+:memory:/, "");
    const v2 = cgroups.find((l) => l.startsWith("0::"))?.slice(3);
    const candidates = [
      ...(v1 ? [join("/sys/fs/cgroup/memory", v1, "memory.usage_in_bytes")] : []),
      ...(v2 ? [join("/sys/fs/cgroup", v2, "memory.current")] : []),
    ];
    return { pid: Number(entry), memoryFile: candidates.find((f) => existsSync(f)) };
  }
  throw new Error(`no process of container ${containerId} on this host`);
}

function vmRssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)\s*kB/)?.[1] ?? Number.NaN) * 1024;
}

const work = mkdtempSync(join(tmpdir(), "scone-bench-realnode-"));
let cp: ControlPlane | undefined;
try {
  let nodeSeconds = Number.NaN;
  const began = performance.now();
  cp = await ControlPlane.start({
    dir: join(work, "cluster"),
    k8sVersion: requestedK8sVersion(),
    realNode: true,
    ownerPid: process.pid,
    // The node's own start, as it reports it ("real node … Ready at … (1.6s)").
    log: (l) => {
      const m = /^real node \S+ Ready at \S+ \(([\d.]+)s\)/.exec(l);
      if (m) nodeSeconds = Number(m[1]);
    },
  });
  const clusterSeconds = (performance.now() - began) / 1000;
  console.log(`cluster with the real node ready: ${clusterSeconds.toFixed(1)} s, of which the node ${nodeSeconds} s`);
  reportFigure({
    figure: "cluster with the real node ready (s; info)",
    baseline: "-",
    scone: clusterSeconds.toFixed(1),
    ratio: clusterSeconds,
  });
  reportFigure({
    figure: "real node's share of that start (info)",
    baseline: `${clusterSeconds.toFixed(1)} s`,
    scone: `${nodeSeconds.toFixed(1)} s`,
    ratio: nodeSeconds / clusterSeconds,
  });

  const image = await buildOperatorImage(join(work, "image"));
  const archiveMb = statSync(image.archive).size / 1e6;
  console.log(`scone's image (${process.arch}, this machine's libc): ${archiveMb.toFixed(1)} MB archive`);
  reportFigure({
    figure: "image archive, one platform (MB; info)",
    baseline: "-",
    scone: archiveMb.toFixed(1),
    ratio: archiveMb,
  });
  const node = cp.realNode;
  if (!node) throw new Error("the cluster started without its real node");
  await node.importArchive(image.archive);

  const install = Bun.spawn(
    [
      BINARY,
      "operator",
      "install",
      "--no-image-signature-check", // the images here are unsigned (test/integration/images/signature.test.ts checks signatures)
      "--reconcile",
      "--only-operator",
      "--wait",
      "--kubeconfig",
      cp.kubeconfigPath,
      "-n",
      NS,
      "--operator-node-selector",
      "kubernetes.io/hostname=scone-real-node",
    ],
    { stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "", SCONE_STATE_DIR: join(work, "cli") } },
  );
  const [code, stderr] = await Promise.all([install.exited, new Response(install.stderr).text()]);
  if (code !== 0) throw new Error(`scone operator install exited ${code}: ${stderr.trim()}`);
  const admin = await KubeClient.load({ kubeconfig: cp.kubeconfigPath });
  const [pod] = await readyOperatorPods(admin, NS, 1);
  const containerId = (pod?.status?.containerStatuses?.[0]?.containerID ?? "").replace(/^containerd:\/\//, "");
  const { pid, memoryFile } = containerProcess(containerId);
  // Idle: Ready, the informers synced, nothing to reconcile. Sampled over a few seconds (RSS settles after start).
  const rss: number[] = [];
  const cgroupBytes: number[] = [];
  for (let i = 0; i < IDLE_SAMPLES; i++) {
    await Bun.sleep(2000);
    rss.push(vmRssBytes(pid));
    if (memoryFile) cgroupBytes.push(Number(readFileSync(memoryFile, "utf8").trim()));
  }
  const rssMb = median(rss) / 1e6;
  console.log(`operator pod at idle: VmRSS ${rssMb.toFixed(1)} MB (median of ${IDLE_SAMPLES}, pid ${pid} on the node)`);
  reportFigure({ figure: "operator pod RSS at idle (MB; info)", baseline: "-", scone: rssMb.toFixed(1), ratio: rssMb });
  if (memoryFile) {
    // The container's charge: its anonymous memory and the page cache charged to it. It can be below VmRSS: file
    // pages (the binary) count for the cgroup that first read them, e.g. the image import outside the container.
    const cgroupMb = median(cgroupBytes) / 1e6;
    console.log(`its cgroup's memory (${memoryFile}): ${cgroupMb.toFixed(1)} MB`);
    reportFigure({
      figure: "operator pod cgroup memory at idle (MB; info)",
      baseline: "-",
      scone: cgroupMb.toFixed(1),
      ratio: cgroupMb,
    });
  } else console.log("its memory cgroup is not mounted here: no cgroup figure");
} finally {
  await cp?.stop();
  rmSync(work, { recursive: true, force: true });
}
