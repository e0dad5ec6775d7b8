// `make demo`: the compiled binary on an embedded local cluster. Starts the control plane (KWOK nodes, three with
// SGX) and the CAS simulator behind CAS pods, runs `dist/scone operator` as a local process (KWOK runs no
// containers), installs with `scone operator install`, provisions a CAS with `scone cas provision --wait`, and ends
// with `kubectl get cas,las,sgxplugin -A`: everything HEALTHY, the CAS provisioned and attestable. `--keep` leaves
// the cluster running.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { requestedK8sVersion } from "./cluster/binaries.ts";
import { ControlPlane } from "./cluster/control-plane.ts";

const REPO = resolve(import.meta.dir, "..");
const SCONE = join(REPO, "dist", "scone");
const dir = resolve(process.env.SCONE_DEMO_DIR ?? join(REPO, ".state", "demo"));
const keep = process.argv.includes("--keep");
const step = (s: string) => console.log(`\n==> ${s}`);

const NS = "scone-system";

/**
 * Runs the compiled binary with its output shown as it comes; throws on a non-zero exit. Asynchronous on purpose:
 * the CAS pod runtime and the backup controller run in this process and must keep reacting meanwhile.
 */
async function run(args: string[]): Promise<void> {
  const p = Bun.spawn([SCONE, ...args], { stdout: "inherit", stderr: "inherit" });
  const code = await p.exited;
  if (code !== 0) throw new Error(`scone ${args.join(" ")} exited ${code}`);
}

function scone(args: string[]): string {
  const r = Bun.spawnSync([SCONE, ...args], { stdout: "pipe", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`scone ${args.join(" ")} exited ${r.exitCode}`);
  return r.stdout.toString();
}

async function kubectlOk(cp: ControlPlane, args: string[], stdin?: string): Promise<string> {
  const r = await cp.kubectl(args, stdin === undefined ? {} : { stdin });
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

async function main(): Promise<void> {
  if (!existsSync(SCONE)) throw new Error(`${SCONE} is missing: run 'make build' (make demo does)`);
  step("the binary");
  process.stdout.write(scone(["version"]));
  process.stdout.write(scone(["--help"]).split("\n").slice(0, 14).join("\n"));

  step(`a local Kubernetes ${requestedK8sVersion()} control plane with KWOK nodes (${dir})`);
  mkdirSync(dir, { recursive: true });
  // A fresh start every time: an earlier demo's cluster, CAS databases and owner identity would change the story.
  for (const old of readdirSync(dir, { withFileTypes: true }).filter(
    (e) => e.isDirectory() && e.name.startsWith("cluster"),
  )) {
    await (await ControlPlane.attach(join(dir, old.name)))?.stop();
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cp = await ControlPlane.start({
    // A directory of this run's own: a watchdog of an earlier, killed demo may still be cleaning up its directory.
    dir: join(dir, `cluster-${process.pid}`),
    k8sVersion: requestedK8sVersion(),
    log: (l) => console.log(`    ${l}`),
    // No ownerPid watchdog: the finally block below stops the cluster (see the note in the closing report).

  });
  let operator: Bun.Subprocess | undefined;
  const runtimes: { stop(): Promise<void> }[] = [];
  try {
    console.log(await kubectlOk(cp, ["get", "nodes", "-L", "sgx.intel.com/capable,topology.kubernetes.io/zone"]));

    step("the CAS simulator behind CAS pods, and the backup controller (KWOK runs no containers)");
    const { startCasPodRuntime } = await import("../sim/kwok-cas/runtime.ts");
    const { startBackupControllerSim } = await import("../sim/backup-controller/runtime.ts");
    runtimes.push(await startCasPodRuntime({ kubeconfig: cp.kubeconfigPath, stateDir: join(dir, "cas-pods") }));
    runtimes.push(await startBackupControllerSim({ kubeconfig: cp.kubeconfigPath }));

    step("`scone operator` as a local process, serving its webhooks on 127.0.0.1:18743");
    operator = Bun.spawn(
      [
        SCONE,
        "operator",
        "--kubeconfig",
        cp.kubeconfigPath,
        "-n",
        NS,
        "--leader-elect",
        "--webhook-mode",
        "url",
        "--webhook-port",
        "18743",
        "--state-dir",
        join(dir, "operator-state"),
        "--probe-port",
        "18781",
        "--metrics-port",
        "18780",
      ],
      { stdout: Bun.file(join(dir, "operator.log")), stderr: "inherit" },
    );
    console.log(`    logs: ${join(dir, "operator.log")}`);

    step("scone operator install --reconcile (namespace, CRDs, RBAC, webhooks, SGX plugin, LAS)");
    run([
      "operator",
      "install",
      "--kubeconfig",
      cp.kubeconfigPath,
      "-n",
      NS,
      "--local-operator",
      "127.0.0.1:18743",
      "--reconcile",
    ]);
    await waitForState(cp, "sgxplugin/sgxplugin", "HEALTHY");
    await waitForState(cp, "las/las", "HEALTHY");

    step("scone cas provision cas -n scone-system --wait (owner identity, attestation, sessions, backup controller)");
    run([
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
    ]);

    step("kubectl get cas,las,sgxplugin -A");
    console.log(await kubectlOk(cp, ["get", "cas,las,sgxplugin", "-A"]));
    console.log(
      await kubectlOk(cp, ["get", "nodes", "-L", "sgx.intel.com/capable,las.scontain.com/capable,las.scontain.com/ok"]),
    );
  } finally {
    operator?.kill("SIGTERM");
    await operator?.exited;
    for (const r of runtimes.reverse()) await r.stop();
    if (keep) console.log(`\nleft running: export KUBECONFIG=${cp.kubeconfigPath}`);
    else await cp.stop();
  }
}

await main().catch((e) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
