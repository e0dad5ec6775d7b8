// `make demo`: the compiled binary on an embedded local cluster. Starts the control plane (KWOK nodes, three with
// SGX) and the CAS simulator behind CAS pods, runs `dist/scone operator` as a local process (KWOK runs no
// containers), installs with `scone operator install`, provisions a CAS with `scone cas provision --wait`, and ends
// with `kubectl get cas,las,sgxplugin -A`: everything HEALTHY, the CAS provisioned and attestable — checked, not
// just printed: any other outcome exits non-zero with the reason. `--keep` leaves the cluster running.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { auditEventsOf, forbiddenRequests } from "./cluster/audit.ts";
import { requestedK8sVersion } from "./cluster/binaries.ts";
import { ControlPlane } from "./cluster/control-plane.ts";
import { freePorts } from "./cluster/ports.ts";

const REPO = resolve(import.meta.dir, "..");
const SCONE = resolve(process.env.SCONE_BINARY ?? join(REPO, "dist", "scone"));
const dir = resolve(process.env.SCONE_DEMO_DIR ?? join(REPO, ".state", "demo"));
const keep = process.argv.includes("--keep");
const step = (s: string) => console.log(`\n==> ${s}`);

const NS = "scone-system";
const OPERATOR_PID_FILE = join(dir, "operator.pid");
const SIMULATOR_PID_FILE = ".kwok-cas-simulator.pid"; // sim/kwok-cas/instance.ts, in each CAS database dir
/** Every CLI call gets this state dir: the demo never reads or writes the user's ~/.local/state/scone. */
const CLI_ENV = { ...process.env, KUBECONFIG: "", SCONE_STATE_DIR: join(dir, "cli-state") };

/** What the demo started, for the cleanup (normal end, failure, Ctrl-C / SIGTERM). */
const started: {
  cp?: ControlPlane;
  operator?: Bun.Subprocess;
  runtimes: { stop(): Promise<void> }[];
} = { runtimes: [] };

/**
 * Runs the compiled binary with its output shown as it comes; rejects on a non-zero exit, or when the operator
 * exits meanwhile (every step after its start needs it). Asynchronous on purpose: the CAS pod runtime and the
 * backup controller run in this process and must keep reacting meanwhile — so every call MUST be awaited, or the
 * demo tears the cluster down under a command still running.
 */
async function run(args: string[]): Promise<void> {
  const p = Bun.spawn([SCONE, ...args], { stdout: "inherit", stderr: "inherit", env: CLI_ENV });
  const code = await whileOperatorRuns(p.exited);
  if (code !== 0) throw new Error(`scone ${args.join(" ")} exited ${code}`);
}

function scone(args: string[]): string {
  const r = Bun.spawnSync([SCONE, ...args], { stdout: "pipe", stderr: "inherit", env: CLI_ENV });
  if (r.exitCode !== 0) throw new Error(`scone ${args.join(" ")} exited ${r.exitCode}`);
  return r.stdout.toString();
}

/** `work`, unless the operator process exits first: then the reason with the end of its log, at once. */
async function whileOperatorRuns<T>(work: Promise<T>): Promise<T> {
  const operator = started.operator;
  if (!operator) return work;
  const died = operator.exited.then((code) => {
    const log = existsSync(join(dir, "operator.log")) ? readFileSync(join(dir, "operator.log"), "utf8") : "";
    const tail = log.trimEnd().split("\n").slice(-15).join("\n");
    throw new Error(`scone operator exited ${code} (log: ${join(dir, "operator.log")}):\n${tail}`);
  });
  died.catch(() => undefined); // only observed through the race below
  return Promise.race([work, died]);
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
    const r = await whileOperatorRuns(cp.kubectl(["get", resource, "-o", "jsonpath={.status.state}"]));
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

async function statusOf(cp: ControlPlane, resource: string[]): Promise<Record<string, unknown>> {
  const out = await kubectlOk(cp, ["get", ...resource, "-o", "jsonpath={.status}"]);
  return out.trim() === "" ? {} : (JSON.parse(out) as Record<string, unknown>);
}

/**
 * An earlier demo killed without its cleanup (SIGKILL) may have left its operator and CAS simulators running (its
 * cluster has a watchdog): stop them by their pid files before the directory goes. Only processes whose command
 * line is what the demo started are touched.
 */
async function stopLeftovers(): Promise<void> {
  for (const old of readdirSync(dir, { withFileTypes: true }).filter(
    (e) => e.isDirectory() && e.name.startsWith("cluster"),
  )) {
    await (await ControlPlane.attach(join(dir, old.name)))?.stop();
  }
  if (existsSync(OPERATOR_PID_FILE)) {
    const pid = Number(readFileSync(OPERATOR_PID_FILE, "utf8").trim());
    const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
    if (pid > 1 && cmdline.includes("operator") && cmdline.includes(join(dir, "operator-state"))) {
      process.kill(pid, "SIGKILL");
    }
  }
  const casPods = join(dir, "cas-pods");
  if (existsSync(casPods)) {
    const { stopOrphanedSimulator } = await import("../sim/kwok-cas/instance.ts");
    for (const pidFile of new Bun.Glob(`**/${SIMULATOR_PID_FILE}`).scanSync({ cwd: casPods, dot: true })) {
      stopOrphanedSimulator(dirname(join(casPods, pidFile)));
    }
  }
}

let cleaning: Promise<void> | undefined;
/** Stops what the demo started, once (the normal end and a signal may both ask). */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const { cp, operator, runtimes } = started;
    operator?.kill("SIGTERM");
    await operator?.exited;
    rmSync(OPERATOR_PID_FILE, { force: true });
    for (const r of runtimes.reverse()) await r.stop();
    if (cp && keep) {
      // Only the cluster outlives the demo: the operator and the CAS simulator ended with it, so the CAS's status
      // is no longer kept up to date. The next demo stops this cluster.
      console.log(`\ncluster left running (the operator and CAS simulator stopped with the demo):`);
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

  step(`a local Kubernetes ${requestedK8sVersion()} control plane with KWOK nodes (${dir})`);
  mkdirSync(dir, { recursive: true });
  // A fresh start every time: an earlier demo's cluster, CAS databases and owner identity would change the story.
  await stopLeftovers();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cp = await ControlPlane.start({
    // A directory of this run's own: a watchdog of an earlier, killed demo may still be cleaning up its directory.
    dir: join(dir, `cluster-${process.pid}`),
    k8sVersion: requestedK8sVersion(),
    log: (l) => console.log(`    ${l}`),
    // Should this process be SIGKILLed, the watchdog stops the cluster; with --keep it must outlive the demo.
    ...(keep ? {} : { ownerPid: process.pid }),
    onLaunching: (c) => {
      started.cp = c;
    },
  });
  started.cp = cp;
  console.log(await kubectlOk(cp, ["get", "nodes", "-L", "sgx.intel.com/capable,topology.kubernetes.io/zone"]));

  step("the CAS simulator behind CAS pods, and the backup controller (KWOK runs no containers)");
  const { startCasPodRuntime } = await import("../sim/kwok-cas/runtime.ts");
  const { startBackupControllerSim } = await import("../sim/backup-controller/runtime.ts");
  started.runtimes.push(await startCasPodRuntime({ kubeconfig: cp.kubeconfigPath, stateDir: join(dir, "cas-pods") }));
  started.runtimes.push(await startBackupControllerSim({ kubeconfig: cp.kubeconfigPath }));

  // Free ports, not fixed ones: a second demo, a test run or anything else on this machine may hold any fixed port.
  const [webhookPort, probePort, metricsPort] = (await freePorts(3)).map(String) as [string, string, string];
  const install = (...extra: string[]) =>
    run([
      "operator",
      "install",
      "--kubeconfig",
      cp.kubeconfigPath,
      "-n",
      NS,
      "--local-operator",
      `127.0.0.1:${webhookPort}`,
      "--reconcile",
      ...extra,
    ]);
  step("scone operator install --only-operator --reconcile (namespace, CRDs, RBAC, webhook configurations)");
  await install("--only-operator");

  // With the installed ServiceAccount's token only: the demo shows the installed RBAC is all the operator needs.
  step(`\`scone operator\` as a local process with the installed ServiceAccount, webhooks on 127.0.0.1:${webhookPort}`);
  started.operator = Bun.spawn(
    [
      SCONE,
      "operator",
      "--kubeconfig",
      await cp.serviceAccountKubeconfig(NS, "scone-controller-manager"),
      "-n",
      NS,
      "--leader-elect",
      "--webhook-mode",
      "url",
      "--webhook-port",
      webhookPort,
      "--state-dir",
      join(dir, "operator-state"),
      "--probe-port",
      probePort,
      "--metrics-port",
      metricsPort,
    ],
    { stdout: Bun.file(join(dir, "operator.log")), stderr: Bun.file(join(dir, "operator.stderr.log")), env: CLI_ENV },
  );
  writeFileSync(OPERATOR_PID_FILE, `${started.operator.pid}\n`);
  console.log(`    logs: ${join(dir, "operator.log")}`);

  step("scone operator install --reconcile (SGX plugin, LAS)");
  await install();
  await waitForState(cp, "sgxplugin/sgxplugin", "HEALTHY");
  await waitForState(cp, "las/las", "HEALTHY");

  step("scone cas provision cas -n scone-system --wait (owner identity, attestation, sessions, backup controller)");
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
  ]);

  step("kubectl get cas,las,sgxplugin -A");
  console.log(await kubectlOk(cp, ["get", "cas,las,sgxplugin", "-A"]));
  console.log(
    await kubectlOk(cp, ["get", "nodes", "-L", "sgx.intel.com/capable,las.scontain.com/capable,las.scontain.com/ok"]),
  );
  const problems = endStateProblems({
    cas: await statusOf(cp, ["cas/cas", "-n", NS]),
    las: await statusOf(cp, ["las/las"]),
    sgxplugin: await statusOf(cp, ["sgxplugin/sgxplugin"]),
  });
  // The operator ran with the installed RBAC only: the API server refused it nothing (its audit log says).
  const refused = forbiddenRequests(
    auditEventsOf(readFileSync(cp.layout.auditLog, "utf8"), `system:serviceaccount:${NS}:scone-controller-manager`),
  );
  problems.push(...refused.map((r) => `the API server refused the operator (403): ${r}`));
  if (problems.length > 0) throw new Error(`the end state is not the promised one:\n  ${problems.join("\n  ")}`);
  console.log("demo ok: CAS HEALTHY, provisioned and attestable; LAS and SGXPlugin HEALTHY");
}

if (import.meta.main) {
  // Ctrl-C / SIGTERM (e.g. a test's timeout): the same cleanup, so no operator, simulator or cluster is left behind.
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(signal, () => {
      console.error(`\ndemo interrupted (${signal}): cleaning up`);
      void cleanup().finally(() => {
        started.operator?.kill("SIGKILL"); // started by main() while the cleanup ran
        process.exit(code);
      });
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
