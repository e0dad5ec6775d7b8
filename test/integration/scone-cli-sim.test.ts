// scone's CAS driver (src/cas/driver: LocalCliRunner + CasDriver) drives a CAS of the local cluster through the
// compiled stand-in SCONE CLI (`make sim-cli`'s build of sim/scone-cli) over a port-forward to the CAS pod on a KWOK
// node, where sim/kwok-cas runs the simulated CAS: the path a user with a local SCONE CLI (`--scone-cli PATH`) takes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SIM_CLI_BUILD_FLAGS } from "../../hack/image/sconecli-image.ts";
import { type CasPodRuntime, startCasPodRuntime } from "../../sim/kwok-cas/runtime.ts";
import { parseProvisioningLines, SconeCliError } from "../../src/cas/driver/commands.ts";
import { CasDriver } from "../../src/cas/driver/driver.ts";
import { LocalCliRunner } from "../../src/cas/driver/runner.ts";
import { loadKubeConfig } from "../../src/kube/config.ts";
import { type PortForward, startPortForward } from "../../src/kube/port-forward.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/kube.ts";

const TIMEOUT = 180_000;
const NAME = "cas";
const POD = `${NAME}-0`;
const ns = `scone-cli-sim-${Math.random().toString(36).slice(2, 8)}`;
const ROOT = join(import.meta.dir, "../..");
const AUDIT_DIR = "/var/log/cas/audit";

/** What sim/kwok-cas needs of a CAS pod: its labels, node, the `cas` container (image tag = version, client port). */
const cas = {
  name: "cas",
  image: "registry.scontain.com/scone.cloud/cas:6.0.6",
  ports: [{ name: "client", containerPort: 8081 }],
  volumeMounts: [
    { name: "state", mountPath: "/etc/cas/db" },
    { name: "logs", mountPath: AUDIT_DIR },
  ],
};
const labels = { "app.kubernetes.io/name": "cas", "app.kubernetes.io/instance": NAME };
const casPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: POD, namespace: ns, labels },
  spec: {
    nodeName: "sgx-node-1",
    containers: [cas],
    volumes: ["state", "logs"].map((name) => ({ name, emptyDir: {} })),
  },
};

describe.skipIf(!clusterAvailable())("the CAS driver through the compiled stand-in CLI, over a port-forward", () => {
  let cluster: LocalCluster;
  let runtime: CasPodRuntime;
  let forward: PortForward;
  let dir: string;
  let driver: CasDriver;
  let address: string;

  const kubectl = async (args: string[], stdin?: string) => {
    const r = await cluster.kubectl(["-n", ns, ...args], stdin === undefined ? undefined : { stdin });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    cluster = await sharedCluster();
    dir = await mkdtemp(join(tmpdir(), "scone-cli-sim-"));
    const binary = join(dir, "scone-cli-sim");
    const build = Bun.spawn(
      [process.execPath, "build", ...SIM_CLI_BUILD_FLAGS, join(ROOT, "sim/scone-cli/main.ts"), "--outfile", binary],
      { stdout: "ignore", stderr: "pipe" },
    );
    if ((await build.exited) !== 0) throw new Error(`bun build --compile: ${await new Response(build.stderr).text()}`);
    runtime = await startCasPodRuntime({ kubeconfig: cluster.kubeconfigPath, stateDir: join(dir, "kwok-cas") });
    await cluster.kubectl(["create", "namespace", ns]);
    await waitFor("the default ServiceAccount", async () =>
      (await cluster.kubectl(["-n", ns, "get", "serviceaccount", "default"])).code === 0 ? true : undefined,
    );
    await kubectl(["apply", "-f", "-"], JSON.stringify(casPod));
    await runtime.waitForPod(`${ns}/${POD}`, 120_000);
    forward = await startPortForward(await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath }), {
      namespace: ns,
      pod: POD,
      port: 8081,
    });
    address = `127.0.0.1:${forward.localPort}`;
    driver = new CasDriver(
      new LocalCliRunner({
        binary: [binary],
        configPath: join(dir, "owner", "identity", "config.json"),
        // kwok may route the pod's PortForward a moment after the pod runs: the CLI's own retries cover that.
        env: { SCONE_CLI_RETRIES: "5" },
      }),
    );
  }, TIMEOUT);

  afterAll(async () => {
    const step = (p: Promise<unknown> | undefined) => Promise.resolve(p).catch(() => undefined);
    await step(forward?.close());
    await step(cluster?.kubectl(["delete", "namespace", ns, "--wait=false"]));
    await step(runtime?.stop());
    if (dir) await rm(dir, { recursive: true, force: true });
  }, TIMEOUT);

  test(
    "attest fails unprovisioned; provision, attest, sessions (plain and signed), list, audit log verified",
    async () => {
      const console = await waitFor(
        "the CAS console lines",
        async () => parseProvisioningLines(await kubectl(["logs", POD, "-c", "cas"])) ?? undefined,
      );
      const { casKeyHash, token } = console;

      const unprovisioned = await driver.attest({ address, casKeyHash }).catch((e: unknown) => e);
      expect(unprovisioned).toBeInstanceOf(SconeCliError);
      expect((unprovisioned as SconeCliError).message).toContain(`CAS ${address} is not provisioned`);

      const provisioned = await driver.provision({ address, casKeyHash, token, ownerConfigToml: "" });
      expect(provisioned.casKey).toBe(casKeyHash);
      expect((await driver.attest({ address, casKeyHash })).casKey).toBe(casKeyHash);

      const cas = { address, casKey: casKeyHash };
      const h1 = await driver.createSession(cas, "version: 0.3.10\nname: team\n");
      expect(await driver.readSession(cas, "team")).toBe("version: 0.3.10\nname: team\n");
      const h2 = await driver.updateSession(cas, `version: 0.3.10\nname: team\npredecessor: ${h1}\nsecrets: []\n`);
      expect(h2).not.toBe(h1);
      expect(await driver.readSession(cas, "team", h1)).toBe("version: 0.3.10\nname: team\n");
      expect(await driver.readSession(cas, "nobody")).toBeNull();

      const signed = await driver.signSession("version: 0.3.10\nname: team/signed\n");
      expect(JSON.parse(signed).signatures[0].signer).toBe((await driver.sessionSigningKey()).value);
      await driver.createSession(cas, signed);
      expect(await driver.listSessions(cas, "team")).toEqual(["team", "team/signed"]);

      const log = await kubectl(["exec", POD, "-c", "cas", "--", "cat", `${AUDIT_DIR}/cas_audit.log`]);
      expect(log).toContain('"event":"provisioned"');
      const verdict = await driver.verifyAuditLog({ log, cas: address, casKeyHash });
      expect(verdict.details).toContain("fully correct");
      expect(verdict.exitCode).toBe(0);
    },
    TIMEOUT,
  );
});
