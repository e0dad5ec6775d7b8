// `make demo`: the compiled binary on an embedded local cluster. Starts the control plane (KWOK nodes, three with
// SGX), installs the CRDs, runs `dist/scone operator` as a local process (KWOK runs no containers), creates the
// SGX plugin and LAS, waits until they are HEALTHY, and prints what `kubectl get` shows. `--keep` leaves it running.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { requestedK8sVersion } from "./cluster/binaries.ts";
import { ControlPlane } from "./cluster/control-plane.ts";

const REPO = resolve(import.meta.dir, "..");
const SCONE = join(REPO, "dist", "scone");
const dir = resolve(process.env.SCONE_DEMO_DIR ?? join(REPO, ".state", "demo"));
const keep = process.argv.includes("--keep");
const step = (s: string) => console.log(`\n==> ${s}`);

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

const LAS = `apiVersion: base.scone.cloud/v1beta1
kind: LAS
metadata:
  name: las
spec:
  namespace: scone-system
  imagePullSecrets:
    - name: scone-operator-pull
`;
const SGX_PLUGIN = `apiVersion: base.scone.cloud/v1beta1
kind: SGXPlugin
metadata:
  name: sgxplugin
spec:
  namespace: scone-system
  nodeSelector:
    sgx.intel.com/capable: "true"
`;

async function main(): Promise<void> {
  if (!existsSync(SCONE)) throw new Error(`${SCONE} is missing: run 'make build' (make demo does)`);
  step("the binary");
  process.stdout.write(scone(["version"]));
  process.stdout.write(scone(["--help"]).split("\n").slice(0, 14).join("\n"));

  step(`a local Kubernetes ${requestedK8sVersion()} control plane with KWOK nodes (${dir})`);
  const old = await ControlPlane.attach(dir);
  if (old) await old.stop();
  mkdirSync(dir, { recursive: true });
  const cp = await ControlPlane.start({
    dir: join(dir, "cluster"),
    k8sVersion: requestedK8sVersion(),
    log: (l) => console.log(`    ${l}`),
    ...(keep ? {} : { ownerPid: process.pid }),
  });
  let operator: Bun.Subprocess | undefined;
  try {
    console.log(await kubectlOk(cp, ["get", "nodes", "-L", "sgx.intel.com/capable,topology.kubernetes.io/zone"]));

    step("CRDs from `scone manifests crds`");
    console.log(await kubectlOk(cp, ["apply", "--server-side", "-f", "-"], scone(["manifests", "crds"])));
    await kubectlOk(cp, ["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
    await kubectlOk(cp, ["create", "namespace", "scone-system"]);

    step("`scone operator` as a local process (KWOK runs no containers)");
    operator = Bun.spawn(
      [
        SCONE,
        "operator",
        "--kubeconfig",
        cp.kubeconfigPath,
        "-n",
        "scone-system",
        "--leader-elect",
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

    step("SGX plugin and LAS");
    console.log(await kubectlOk(cp, ["apply", "-f", "-"], `${SGX_PLUGIN}---\n${LAS}`));
    await waitForState(cp, "sgxplugin/sgxplugin", "HEALTHY");
    await waitForState(cp, "las/las", "HEALTHY");

    step("kubectl get cas,las,sgxplugin -A");
    console.log(await kubectlOk(cp, ["get", "cas,las,sgxplugin", "-A"]));
    console.log(
      await kubectlOk(cp, ["get", "nodes", "-L", "sgx.intel.com/capable,las.scontain.com/capable,las.scontain.com/ok"]),
    );
  } finally {
    operator?.kill("SIGTERM");
    await operator?.exited;
    if (keep) console.log(`\nleft running: export KUBECONFIG=${cp.kubeconfigPath}`);
    else await cp.stop();
  }
}

await main().catch((e) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
