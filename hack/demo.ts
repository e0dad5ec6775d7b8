// `make demo`: the compiled binary on an embedded local cluster, the operator running as it does in production. Starts
// the control plane with KWOK nodes (three with SGX) and the real worker node (root: kubelet, containerd), imports
// scone's own image (one platform, built from dist/scone) and the stand-in sconecli image (hack/image/sconecli-image.ts,
// the simulator's SCONE CLI) on the real node, installs with `scone operator install --reconcile --wait` with the
// operator pod pinned to the real node, provisions a CAS with `scone cas provision --wait --cli-node-selector` (the
// CAS runs on the KWOK nodes behind the CAS simulator, reachable at its pod IP; every CAS interaction of the
// provisioner and the operator goes through the CAS's sconecli pod on the real node, by exec),
// and ends with `kubectl get cas,las,sgxplugin -A` and the operator pod: everything HEALTHY, the CAS provisioned and
// attestable, the operator Ready on the real node — checked, not just printed: any other outcome exits non-zero
// with the reason. `--keep` leaves the cluster (and its real node) running.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { auditEventsOf, forbiddenRequests } from "./cluster/audit.ts";
import { requestedK8sVersion } from "./cluster/binaries.ts";
import { ControlPlane } from "./cluster/control-plane.ts";
import { NODE_NAME } from "./cluster/node/addresses.ts";

const REPO = resolve(import.meta.dir, "..");
const SCONE = resolve(process.env.SCONE_BINARY ?? join(REPO, "dist", "scone"));
const dir = resolve(process.env.SCONE_DEMO_DIR ?? join(REPO, ".state", "demo"));
const keep = process.argv.includes("--keep");
const step = (s: string) => console.log(`\n==> ${s}`);

const NS = "scone-system";
const OPERATOR_SA = `system:serviceaccount:${NS}:scone-controller-manager`;
const SIMULATOR_PID_FILE = ".kwok-cas-simulator.pid"; // sim/kwok-cas/instance.ts, in each CAS database dir
/** Every CLI call gets this state dir: the demo never reads or writes the user's ~/.local/state/scone. */
const CLI_ENV = { ...process.env, KUBECONFIG: "", SCONE_STATE_DIR: join(dir, "cli-state") };

/** What the demo started, for the cleanup (normal end, failure, Ctrl-C / SIGTERM). */
const started: {
  cp?: ControlPlane;
  runtimes: { stop(): Promise<void> }[];
} = { runtimes: [] };

/**
 * Runs the compiled binary with its output shown as it comes; rejects on a non-zero exit. Asynchronous on purpose:
 * the CAS pod runtime, the backup controller and the bridge to the CAS pod run in this process and must keep
 * reacting meanwhile — so every call MUST be awaited, or the demo tears the cluster down under a command still running.
 */
async function run(args: string[]): Promise<void> {
  const p = Bun.spawn([SCONE, ...args], { stdout: "inherit", stderr: "inherit", env: CLI_ENV });
  const code = await p.exited;
  if (code !== 0) throw new Error(`scone ${args.join(" ")} exited ${code}`);
}

function scone(args: string[]): string {
  const r = Bun.spawnSync([SCONE, ...args], { stdout: "pipe", stderr: "inherit", env: CLI_ENV });
  if (r.exitCode !== 0) throw new Error(`scone ${args.join(" ")} exited ${r.exitCode}`);
  return r.stdout.toString();
}

async function kubectlOk(cp: ControlPlane, args: string[]): Promise<string> {
  const r = await cp.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function waitForState(cp: ControlPlane, resource: string, want: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const r = await cp.kubectl(["get", resource, "-o", "jsonpath={.status.state}"]);
    last = r.stdout.trim() || r.stderr.trim();
    if (last === want) return;
    await Bun.sleep(1000);
  }
  throw new Error(`${resource} did not become ${want} within ${timeoutMs / 1000}s (last: ${last || "no status"})`);
}

/** The end state the demo promises, read from the resources' status; each miss is named. Pure. */
export function endStateProblems(status: {
  cas: Record<string, unknown>;
  las: Record<string, unknown>;
  sgxplugin: Record<string, unknown>;
}): string[] {
  const want: [string, Record<string, unknown>, string, string][] = [
    ["CAS scone-system/cas", status.cas, "state", "HEALTHY"],
    ["CAS scone-system/cas", status.cas, "provisioned", "Yes"],
    ["CAS scone-system/cas", status.cas, "attestable", "Yes"],
    ["LAS las", status.las, "state", "HEALTHY"],
    ["SGXPlugin sgxplugin", status.sgxplugin, "state", "HEALTHY"],
  ];
  return want
    .filter(([, s, field, value]) => s[field] !== value)
    .map(([what, s, field, value]) => `${what}: status.${field} is ${JSON.stringify(s[field] ?? null)}, want ${value}`);
}

/** The operator the demo promises: Ready pod(s) on the real node, none elsewhere. Pure. */
export function operatorPodProblems(pods: readonly PodSeen[], wantNode: string): string[] {
  return pods.length === 0 ? [`no operator pod in ${NS}`] : podProblems("operator", pods, wantNode);
}

/** The CAS's sconecli pod: the provisioner's and the operator's CAS calls ran in it, on the real node. Pure. */
export function cliPodProblems(pods: readonly PodSeen[], wantNode: string): string[] {
  return pods.length === 0 ? [`no sconecli pod of CAS ${NS}/cas`] : podProblems("sconecli", pods, wantNode);
}

interface PodSeen {
  name: string;
  node: string;
  ready: boolean;
}

function podProblems(what: string, pods: readonly PodSeen[], wantNode: string): string[] {
  return pods.flatMap((p) => [
    ...(p.node === wantNode ? [] : [`${what} pod ${p.name} runs on ${p.node || "no node"}, want ${wantNode}`]),
    ...(p.ready ? [] : [`${what} pod ${p.name} is not Ready`]),
  ]);
}

interface PodList {
  items: {
    metadata: { name: string };
    spec?: { nodeName?: string };
    status?: { containerStatuses?: { ready?: boolean }[] };
  }[];
}

const operatorPods = (cp: ControlPlane) => podsBy(cp, "control-plane=controller-manager");
const cliPods = async (cp: ControlPlane) =>
  podsBy(cp, (await import("../src/cas/driver/cli-pod.ts")).cliPodSelector("cas"));

async function podsBy(cp: ControlPlane, selector: string): Promise<PodSeen[]> {
  const out = await kubectlOk(cp, ["get", "pods", "-n", NS, "-l", selector, "-o", "json"]);
  return (JSON.parse(out) as PodList).items.map((p) => ({
    name: p.metadata.name,
    node: p.spec?.nodeName ?? "",
    ready:
      (p.status?.containerStatuses ?? []).every((c) => c.ready === true) &&
      (p.status?.containerStatuses ?? []).length > 0,
  }));
}

async function statusOf(cp: ControlPlane, resource: string[]): Promise<Record<string, unknown>> {
  const out = await kubectlOk(cp, ["get", ...resource, "-o", "jsonpath={.status}"]);
  return out.trim() === "" ? {} : (JSON.parse(out) as Record<string, unknown>);
}

/**
 * An earlier demo killed without its cleanup (SIGKILL) may have left its cluster (with the real node: there is one
 * per machine) and CAS simulators running (its cluster has a watchdog, unless --keep): stop them before the
 * directory goes. Only processes whose command line is what the demo started are touched.
 */
async function stopLeftovers(): Promise<void> {
  for (const old of readdirSync(dir, { withFileTypes: true }).filter(
    (e) => e.isDirectory() && e.name.startsWith("cluster"),
  )) {
    await (await ControlPlane.attach(join(dir, old.name)))?.stop();
  }
  const casPods = join(dir, "cas-pods");
  if (existsSync(casPods)) {
    const { stopOrphanedSimulator } = await import("../sim/kwok-cas/instance.ts");
    for (const pidFile of new Bun.Glob(`**/${SIMULATOR_PID_FILE}`).scanSync({ cwd: casPods, dot: true })) {
      stopOrphanedSimulator(dirname(join(casPods, pidFile)));
    }
  }
}

const SCONECLI_ARCHIVE_FLAG = "--write-sconecli-archive";

/** scone's image (build-image.ts, a process of its own) and the stand-in sconecli image (this file, as a child). */
async function buildImages(out: string) {
  mkdirSync(out, { recursive: true });
  const { buildOperatorImage } = await import("../test/harness/real-node-operator.ts");
  const child = Bun.spawn([process.execPath, "run", import.meta.path, SCONECLI_ARCHIVE_FLAG, out], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const sconecli = (async () => {
    const [code, stdout, stderr] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    if (code !== 0) throw new Error(`building the sconecli image failed (${code}): ${stderr.trim()}`);
    return JSON.parse(stdout) as { archive: string; reference: string };
  })();
  const [operator, cli] = await Promise.all([buildOperatorImage(out), sconecli]);
  return { operator, sconecli: cli };
}

let cleaning: Promise<void> | undefined;
/** Stops what the demo started, once (the normal end and a signal may both ask). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const { cp, runtimes } = started;
    for (const r of runtimes.reverse()) await r.stop();
    if (cp && keep) {
      // Only the cluster outlives the demo: the operator pod keeps running on the real node, but the CAS simulator
      // ended with the demo, so the CAS turns unhealthy. The next demo stops this cluster and its real node.
      console.log(`\ncluster and its real node left running (the CAS simulator stopped with the demo):`);
      console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
    } else await cp?.stop();
  })();
  return cleaning;
}

async function main(): Promise<void> {
  if (!existsSync(SCONE)) throw new Error(`${SCONE} is missing: run 'make build' (make demo does)`);
  step("the binary");
  process.stdout.write(scone(["version"]));
  process.stdout.write(scone(["--help"]).split("\n").slice(0, 14).join("\n"));

  if (process.getuid?.() !== 0) {
    throw new Error("the demo runs the operator on a real node (kubelet, containerd, the pod network): run it as root");
  }
  step(
    `a local Kubernetes ${requestedK8sVersion()} control plane with KWOK nodes and the real node ${NODE_NAME} (${dir})`,
  );
  mkdirSync(dir, { recursive: true });
  // A fresh start every time: an earlier demo's cluster, CAS databases and owner identity would change the story.
  await stopLeftovers();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Both images are built while the control plane starts, each in a process of its own: the builds are CPU-bound
  // (deflate of two ≈110 MB binaries), the start mostly waits. Awaited (and imported) once the real node is up.
  const images = buildImages(join(dir, "image"));
  images.catch(() => undefined); // a failed start must not leave this rejection unobserved; awaited below
  const cp = await ControlPlane.start({
    // A directory of this run's own: a watchdog of an earlier, killed demo may still be cleaning up its directory.
    dir: join(dir, `cluster-${process.pid}`),
    k8sVersion: requestedK8sVersion(),
    realNode: true,
    log: (l) => console.log(`    ${l}`),
    // Should this process be SIGKILLed, the watchdog stops the cluster; with --keep it must outlive the demo.
    ...(keep ? {} : { ownerPid: process.pid }),
    onLaunching: (c) => {
      started.cp = c;
    },
  });
  started.cp = cp;
  const node = cp.realNode;
  if (!node) throw new Error("the cluster started without its real node");
  console.log(await kubectlOk(cp, ["get", "nodes", "-L", "sgx.intel.com/capable,topology.kubernetes.io/zone"]));

  step("scone's image (this platform, from dist/scone), imported into the real node's containerd");
  const { operator, sconecli } = await images;
  await node.importArchive(operator.archive);
  console.log(`    ${operator.reference}`);
  // Under the name the pod source computes for the demo's image settings (no mirror, the default SCONE version:
  // what both the provisioner and the installed operator use), so the CLI pods find it without a pull.
  await node.importArchive(sconecli.archive);
  console.log(`    ${sconecli.reference} (the stand-in SCONE CLI)`);

  step("the CAS simulator behind CAS pods, and the backup controller (KWOK runs no containers)");
  const { startCasPodRuntime } = await import("../sim/kwok-cas/runtime.ts");
  const { startBackupControllerSim } = await import("../sim/backup-controller/runtime.ts");
  started.runtimes.push(await startCasPodRuntime({ kubeconfig: cp.kubeconfigPath, stateDir: join(dir, "cas-pods") }));
  started.runtimes.push(await startBackupControllerSim({ kubeconfig: cp.kubeconfigPath }));
  // The operator pod reaches the CAS through its Service, i.e. at the CAS pod's IP: the simulator answers there.
  const { KubeClient } = await import("../src/kube/client.ts");
  const { SimulatedPodBridge } = await import("../test/harness/simulated-pod-bridge.ts");
  const bridge = new SimulatedPodBridge(await KubeClient.load({ kubeconfig: cp.kubeconfigPath }), node, NS, "cas-0");
  started.runtimes.push(bridge);

  step(`scone operator install --reconcile --wait: the operator pod on ${NODE_NAME}, SGX plugin, LAS`);
  // No storage provisioner here: the operator's backup claim binds to a volume on this machine.
  const { preboundBackupVolume } = await import("../test/harness/backup-volume.ts");
  await preboundBackupVolume(await KubeClient.load({ kubeconfig: cp.kubeconfigPath }), NS);
  await run([
    "operator",
    "install",
    "--no-image-signature-check", // the images here are unsigned (test/integration/images/signature.test.ts checks signatures)
    "--kubeconfig",
    cp.kubeconfigPath,
    "-n",
    NS,
    "--reconcile",
    "--wait",
    // The KWOK nodes would take the pod too, and "run" it without running anything.
    "--operator-node-selector",
    `kubernetes.io/hostname=${NODE_NAME}`,
    // The plugin on the SGX nodes only: on the real node it would try to pull from registry.scontain.com.
    "--node-selector",
    "sgx.intel.com/capable=true",
  ]);
  await waitForState(cp, "sgxplugin/sgxplugin", "HEALTHY");
  await waitForState(cp, "las/las", "HEALTHY");

  step(
    `scone cas provision cas -n scone-system --wait --cli-node-selector kubernetes.io/hostname=${NODE_NAME} (owner identity, attestation, sessions, backup controller)`,
  );
  // The CAS's companions may be scheduled on any node: kept off the real node, which would try to pull them from
  // registry.scontain.com (nothing leaves this machine). The operator pod keeps running there, and the CAS's
  // sconecli pod is created there (it tolerates the cordon, src/cas/driver/cli-pod.ts).
  await kubectlOk(cp, ["cordon", NODE_NAME]);
  await run([
    "cas",
    "provision",
    "cas",
    "-n",
    NS,
    "--kubeconfig",
    cp.kubeconfigPath,
    "--target",
    join(dir, "cas-owner"),
    "--wait",
    // KWOK would "run" the CLI pod without running anything: the real node runs it (the operator's own CLI pods
    // go there too: install gave it --cli-node-selector from --operator-node-selector).
    "--cli-node-selector",
    `kubernetes.io/hostname=${NODE_NAME}`,
  ]);
  await kubectlOk(cp, ["uncordon", NODE_NAME]);

  step("kubectl get cas,las,sgxplugin -A");
  console.log(await kubectlOk(cp, ["get", "cas,las,sgxplugin", "-A"]));
  console.log(
    await kubectlOk(cp, ["get", "nodes", "-L", "sgx.intel.com/capable,las.scontain.com/capable,las.scontain.com/ok"]),
  );
  step(`kubectl get pods -n ${NS} -o wide`);
  console.log(await kubectlOk(cp, ["get", "pods", "-n", NS, "-o", "wide"]));
  const problems = endStateProblems({
    cas: await statusOf(cp, ["cas/cas", "-n", NS]),
    las: await statusOf(cp, ["las/las"]),
    sgxplugin: await statusOf(cp, ["sgxplugin/sgxplugin"]),
  });
  problems.push(...operatorPodProblems(await operatorPods(cp), NODE_NAME));
  problems.push(...cliPodProblems(await cliPods(cp), NODE_NAME));
  // The operator pod probed the CAS through its Service, at the CAS pod's IP (the CLI uses port-forwards instead).
  if (bridge.connections === 0) problems.push("the operator pod never connected to the CAS pod's IP");
  // The operator ran with the installed RBAC only: the API server refused it nothing (its audit log says).
  const refused = forbiddenRequests(auditEventsOf(readFileSync(cp.layout.auditLog, "utf8"), OPERATOR_SA));
  problems.push(...refused.map((r) => `the API server refused the operator (403): ${r}`));
  if (problems.length > 0) throw new Error(`the end state is not the promised one:\n  ${problems.join("\n  ")}`);
  console.log(
    `demo ok: CAS HEALTHY, provisioned and attestable; LAS and SGXPlugin HEALTHY; the operator Ready in its pod on ${NODE_NAME}`,
  );
}

if (import.meta.main && process.argv[2] === SCONECLI_ARCHIVE_FLAG) {
  // The child of buildImages: the archive, and its path and image name as JSON on stdout.
  const { writeSconecliArchive } = await import("../test/harness/real-node-operator.ts");
  console.log(JSON.stringify(await writeSconecliArchive(resolve(process.argv[3] ?? ""))));
} else if (import.meta.main) {
  // Ctrl-C / SIGTERM (e.g. a test's timeout): the same cleanup, so no simulator, cluster or real node is left behind.
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(signal, () => {
      console.error(`\ndemo interrupted (${signal}): cleaning up`);
      void cleanup().finally(() => process.exit(code));
    });
  }
  const failure = await main().then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  await cleanup();
  if (failure !== undefined) {
    console.error(`demo failed: ${failure}`);
    process.exit(1);
  }
}
