// CAS pods on the KWOK cluster are backed by the CAS simulator (sim/kwok-cas), and everything reaches it through the
// API server only, as it would reach a real CAS from outside a cluster: `kubectl logs -c cas|audit`, port-forward
// (kubectl's and scone's own src/kube/port-forward.ts) and exec (kubectl's and src/kube/exec.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchSimulator } from "../../sim/cas/launch.ts";
import { stopOrphanedSimulator } from "../../sim/kwok-cas/instance.ts";
import { type CasPodRuntime, DEFAULT_SNAPSHOT_INTERVAL_MS, startCasPodRuntime } from "../../sim/kwok-cas/runtime.ts";
import { CLAIM_NAMESPACE_LABEL } from "../../sim/kwok-cas/volumes.ts";
import { PodSnapshotSource } from "../../src/backup/pod-snapshot-source.ts";
import { KubeClient } from "../../src/kube/client.ts";
import type { ClusterConnection } from "../../src/kube/config.ts";
import { loadKubeConfig } from "../../src/kube/config.ts";
import { NotFoundError } from "../../src/kube/errors.ts";
import { ExecError, execInPod } from "../../src/kube/exec.ts";
import { PortForwardError, startPortForward } from "../../src/kube/port-forward.ts";
import { renderCasService, renderCasStatefulSet } from "../../src/operator/cas/render.ts";
import type { CAS } from "../../src/resources/cas.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { resolveServiceTarget } from "../harness/service-target.ts";
import { portForward } from "../harness/simulated-pods.ts";
import { attestCas, CasClient } from "../support/cas-legacy/client.ts";
import { generateCliConfig, identityPem } from "../support/cas-legacy/identity.ts";

const TIMEOUT = 180_000;
const NAME = "cas";
const POD = `${NAME}-0`;
const ns = `kwok-cas-${Math.random().toString(36).slice(2, 8)}`;
const key = `${ns}/${POD}`;
const renderOpts = { serviceVersion: "6.0.7", operatorNamespace: "scone-system" };

/** A pod shaped like the one src/operator/cas/render.ts puts in the CAS StatefulSet (PVC-backed database). */
function casPod(node: string, snapshotClaim = true) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: POD,
      namespace: ns,
      labels: { "app.kubernetes.io/name": "cas", "app.kubernetes.io/instance": NAME },
    },
    spec: {
      nodeName: node,
      containers: [
        {
          name: "cas",
          image: "registry.scontain.com/scone.cloud/cas:6.0.6",
          ports: [
            { name: "client", containerPort: 8081 },
            { name: "enclave", containerPort: 18765 },
          ],
          env: [
            { name: "CAS_DATABASE_SNAPSHOTS_INTERVAL", value: "1s" },
            { name: "CAS_DATABASE_SNAPSHOTS_DIRECTORY", value: "/var/mnt/cas-database-snapshots" },
          ],
          volumeMounts: [
            { name: "database", mountPath: "/etc/cas/db" },
            { name: "audit-log", mountPath: "/var/log/cas/audit" },
            { name: "database-snapshots", mountPath: "/var/mnt/cas-database-snapshots" },
          ],
        },
        {
          name: "audit",
          image: "registry.scontain.com/scone.cloud/cas:6.0.6",
          command: ["tail", "-n", "+1", "-F", "/var/log/cas/audit/cas_audit.log"],
          volumeMounts: [{ name: "audit-log", mountPath: "/var/log/cas/audit", readOnly: true }],
        },
      ],
      volumes: [
        { name: "database", persistentVolumeClaim: { claimName: `database-${POD}` } },
        { name: "audit-log", emptyDir: {} },
        snapshotClaim
          ? { name: "database-snapshots", persistentVolumeClaim: { claimName: `database-snapshots-${POD}` } }
          : { name: "database-snapshots", emptyDir: {} },
      ],
    },
  };
}

/** Names of the members of a POSIX tar archive (ustar headers: name in the first 100 bytes of each 512-byte block). */
function tarNames(archive: Uint8Array): string[] {
  const names: string[] = [];
  let at = 0;
  while (at + 512 <= archive.length) {
    const header = archive.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const name = new TextDecoder().decode(header.subarray(0, 100)).replace(/\0.*$/s, "");
    const size = Number.parseInt(new TextDecoder().decode(header.subarray(124, 136)).replace(/\0.*$/s, "").trim(), 8);
    names.push(name);
    at += 512 + Math.ceil((Number.isNaN(size) ? 0 : size) / 512) * 512;
  }
  return names;
}

const lastField = (text: string, label: string): string | undefined =>
  text
    .split("\n")
    .find((l) => l.includes(label))
    ?.trim()
    .split(/\s+/)
    .at(-1);

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(250);
  }
}

describe.skipIf(!clusterAvailable())("CAS pods on KWOK nodes run the CAS simulator", () => {
  let cluster: LocalCluster;
  let conn: ClusterConnection;
  let runtime: CasPodRuntime;
  let stateDir: string;
  let casKeyHash = "";
  const logs: string[] = [];

  const kubectl = async (args: string[], stdin?: string) => {
    const result = await cluster.kubectl(["-n", ns, ...args], stdin === undefined ? undefined : { stdin });
    if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };

  /** A CasClient through scone's own port-forward (the way the CLI and an out-of-cluster operator reach CAS). */
  const withCas = async <T>(fn: (url: string) => Promise<T>): Promise<T> => {
    const forward = await startPortForward(conn, { namespace: ns, pod: POD, port: 8081 });
    try {
      const url = `https://127.0.0.1:${forward.localPort}`;
      // kwok sees a re-pointed PortForward through its watch: the first request may come a moment early.
      await waitUntil("the port-forward to reach CAS", async () =>
        (await fetch(`${url}/v1/version`, { tls: { rejectUnauthorized: false } })).ok ? true : undefined,
      );
      return await fn(url);
    } finally {
      await forward.close();
    }
  };

  beforeAll(async () => {
    cluster = await sharedCluster();
    conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    stateDir = await mkdtemp(join(tmpdir(), "scone-kwok-cas-"));
    runtime = await startCasPodRuntime({
      kubeconfig: cluster.kubeconfigPath,
      stateDir,
      log: (line) => logs.push(line),
    });
    await cluster.kubectl(["create", "namespace", ns]);
    // Pods are refused until the controller-manager has made the namespace's default ServiceAccount.
    await waitUntil("the default ServiceAccount", async () =>
      (await cluster.kubectl(["-n", ns, "get", "serviceaccount", "default"])).code === 0 ? true : undefined,
    );
    await kubectl(["apply", "-f", "-"], JSON.stringify(casPod("sgx-node-1")));
    await runtime.waitForPod(key, 120_000); // the first simulator of this process: a cold start on a loaded machine
  }, TIMEOUT);

  afterAll(async () => {
    // Each step on its own: one that fails must not leave the others undone.
    const step = (p: Promise<unknown> | undefined) => Promise.resolve(p).catch(() => undefined);
    await step(cluster?.kubectl(["delete", "namespace", ns, "--wait=false"]));
    await step(runtime?.stop());
    await step(
      cluster?.kubectl(["delete", "persistentvolumes", "-l", `${CLAIM_NAMESPACE_LABEL}=${ns}`, "--wait=false"]),
    );
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  }, TIMEOUT);

  test(
    "kubectl logs -c cas shows the CAS console with the key hash and provisioning token lines",
    async () => {
      const console = await waitUntil("the console", async () => {
        const text = await kubectl(["logs", POD, "-c", "cas"]);
        return text.includes("CAS provisioning token") ? text : undefined;
      });
      casKeyHash = lastField(console, "CAS key hash") ?? "";
      expect(casKeyHash.length).toBeGreaterThan(40);
      expect(lastField(console, "CAS provisioning token")).toMatch(/^[0-9a-f]{32}$/);
    },
    TIMEOUT,
  );

  test(
    "kubectl port-forward reaches the simulator's client API",
    async () => {
      // kwok learns of the pod's PortForward object through its own watch: wait until it routes (withCas does).
      await withCas(async () => {});
      const forward = await portForward(cluster, ns, POD, 8081);
      try {
        const attested = await attestCas(`https://127.0.0.1:${forward.localPort}`, { casKeyHash });
        expect(attested.report.provisioned).toBe(false);
        expect(attested.report.version).toBe("6.0.6");
      } finally {
        await forward.stop();
      }
    },
    TIMEOUT,
  );

  test(
    "provisioning through scone's port-forward; the audit container's log shows it",
    async () => {
      const console = await kubectl(["logs", POD, "-c", "cas"]);
      const token = lastField(console, "CAS provisioning token") ?? "";
      const owner = await generateCliConfig("kwok-cas-owner");
      await withCas(async (url) => {
        const { caCertPem } = await attestCas(url, { casKeyHash });
        // The certificate names the Service; through a port-forward the client checks that name.
        const client = new CasClient({ url, caCertPem, identity: identityPem(owner), serverName: `${NAME}.${ns}.svc` });
        await client.provision({ token, casKeyHash, ownerConfig: '[audit_log]\nmode = "signed"\nsink = "file"\n' });
        expect((await client.health()).provisioned).toBe(true);
      });
      const audit = await waitUntil("the provisioned audit entry", async () => {
        const text = await kubectl(["logs", POD, "-c", "audit"]);
        return text.includes('"event":"provisioned"') ? text : undefined;
      });
      const events = audit
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { event: string }).event);
      expect(events).toContain("cas_started");
      expect(events).toContain("provisioned");
    },
    TIMEOUT,
  );

  test(
    "exec in the cas container sees the pod's mounts: tar of the last completed snapshot holds both files",
    async () => {
      const listing = await waitUntil("a snapshot with the provisioned database", async () => {
        const out = await kubectl([
          "exec",
          POD,
          "-c",
          "cas",
          "--",
          "ls",
          "/var/mnt/cas-database-snapshots/last-completed",
        ]);
        return out.includes("cas.db") && out.includes("cas.key-store") ? out : undefined;
      });
      expect(listing.split("\n").filter(Boolean).sort()).toEqual(["cas.db", "cas.key-store"]);
      const tar = await execInPod(conn, {
        namespace: ns,
        pod: POD,
        container: "cas",
        command: ["tar", "-C", "/var/mnt/cas-database-snapshots/last-completed", "-cf", "-", "."],
      });
      expect(tar.exitCode).toBe(0);
      expect(tarNames(tar.stdout).sort()).toEqual(["./", "./cas.db", "./cas.key-store"]);
      const failing = await execInPod(conn, {
        namespace: ns,
        pod: POD,
        container: "cas",
        command: ["ls", "/etc/cas/db/no-such-file"],
      });
      expect(failing.exitCode).not.toBe(0);
      expect(failing.stderr).toContain("no-such-file");
      // The backup flow's own reader (readlink last-completed, then tar of that snapshot) through the same exec.
      const into = await mkdtemp(join(tmpdir(), "scone-kwok-cas-backup-"));
      try {
        const source = new PodSnapshotSource({ namespace: ns, name: NAME, exec: (o) => execInPod(conn, o) });
        const fetched = await source.fetch(into);
        expect(fetched.marker ?? "").toStartWith("snapshot-"); // readlink of last-completed worked through the shim
        for (const file of ["cas.db", "cas.key-store"]) expect((await stat(join(into, file))).size).toBeGreaterThan(0);
      } finally {
        await rm(into, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );

  test(
    "kubectl logs -f -c audit follows the audit log; restart-cas restarts the CAS and the port moves with it",
    async () => {
      const { binaryPaths } = await import("../../hack/cluster/binaries.ts");
      const follow = Bun.spawn(
        [
          binaryPaths(cluster.k8sVersion).kubectl,
          `--kubeconfig=${cluster.kubeconfigPath}`,
          "-n",
          ns,
          "logs",
          "-f",
          POD,
          "-c",
          "audit",
        ],
        { stdout: "pipe", stderr: "pipe" },
      );
      try {
        // The running simulator's endpoints: a restart starts a new simulator, with endpoints of its own.
        const before = runtime.pods().get(key)?.endpoints;
        expect(before).toBeDefined();
        let seen = "";
        const reader = follow.stdout.getReader();
        const startedTwice = (async () => {
          for (;;) {
            const chunk = await reader.read();
            if (chunk.done) return false;
            seen += new TextDecoder().decode(chunk.value);
            if ((seen.match(/"event":"cas_started"/g) ?? []).length >= 2) return true;
          }
        })();
        await waitUntil("the follower to print the log so far", async () =>
          seen.includes("provisioned") ? true : undefined,
        );
        expect(await kubectl(["exec", POD, "-c", "cas", "--", "bash", "restart-cas"])).toContain(
          "CAS restart requested",
        );
        expect(await Promise.race([startedTwice, Bun.sleep(90_000).then(() => false)])).toBe(true);
        // Waiting on the new simulator itself, not on a new port number (the OS may hand out the same port again).
        await waitUntil("the restarted CAS", async () => {
          const now = runtime.pods().get(key)?.endpoints;
          return now !== undefined && now !== before ? now : undefined;
        });
        await runtime.waitForPod(key);
        const report = await withCas(async (url) => (await attestCas(url, { casKeyHash })).report);
        expect(report.provisioned).toBe(true);
      } finally {
        follow.kill();
        await follow.exited;
      }
    },
    TIMEOUT,
  );

  test(
    "a deleted and re-created pod keeps the provisioned database (PVC), on the same node",
    async () => {
      await kubectl(["delete", "pod", POD, "--wait=true", "--timeout=120s"]);
      await waitUntil("the simulator to stop", async () => (runtime.pods().has(key) ? undefined : true));
      await kubectl(["apply", "-f", "-"], JSON.stringify(casPod("sgx-node-1")));
      await runtime.waitForPod(key);
      const console = await waitUntil("the new console", async () => {
        const text = await kubectl(["logs", POD, "-c", "cas"]);
        return text.includes("CAS key hash") ? text : undefined;
      });
      expect(lastField(console, "CAS key hash")).toBe(casKeyHash);
      expect(console).not.toContain("CAS provisioning token");
      const health = await withCas(async (url) => {
        const { caCertPem, report } = await attestCas(url, { casKeyHash });
        expect(report.provisioned).toBe(true);
        return new CasClient({ url, caCertPem, serverName: "localhost" }).health();
      });
      expect(health.provisioned).toBe(true);
    },
    TIMEOUT,
  );

  test(
    "moved to a node without a registered backup, the CAS cannot unseal its database; once one is registered, its next restart can",
    async () => {
      await kubectl(["delete", "pod", POD, "--wait=true", "--timeout=120s"]);
      await waitUntil("the simulator to stop", async () => (runtime.pods().has(key) ? undefined : true));
      await kubectl(["apply", "-f", "-"], JSON.stringify(casPod("sgx-node-2")));
      const refused = await waitUntil("the refusal in the console", async () => {
        const text = await kubectl(["logs", POD, "-c", "cas"]);
        return text.includes("cannot unseal") ? text : undefined;
      });
      expect(refused).toContain("sealed to node sgx-node-1");
      const errors: Error[] = [];
      const forward = await startPortForward(conn, {
        namespace: ns,
        pod: POD,
        port: 8081,
        onError: (e) => errors.push(e),
      });
      try {
        await expect(
          attestCas(`https://127.0.0.1:${forward.localPort}`, { casKeyHash, timeoutMs: 5_000 }),
        ).rejects.toThrow();
        await waitUntil("the port-forward error", async () => (errors.length > 0 ? true : undefined));
        expect(errors[0]).toBeInstanceOf(PortForwardError);
      } finally {
        await forward.close();
      }

      // The backup controller's registration label (SCONE-STACK.md), for the version this CAS runs.
      const label = `cas-registered-${NAME}.${ns}-6.0.6`;
      await cluster.kubectl(["label", "node", "sgx-node-2", `${label}=true`, "--overwrite"]);
      try {
        // The same pod: the refused CAS crash-loops like a real one, and a restart after the registration opens it.
        await runtime.waitForPod(key);
        const report = await withCas(async (url) => (await attestCas(url, { casKeyHash })).report);
        expect(report.provisioned).toBe(true);
      } finally {
        await cluster.kubectl(["label", "node", "sgx-node-2", `${label}-`]);
      }
    },
    TIMEOUT,
  );

  test(
    "API errors come back typed: a missing pod is NotFound for port-forward and exec",
    async () => {
      await expect(
        startPortForward(conn, { namespace: ns, pod: "missing-0", port: 8081, checkPod: true }),
      ).rejects.toBeInstanceOf(NotFoundError);
      // Without the up-front check (the default), the API server's answer to the upgrade itself comes back typed.
      const errors: Error[] = [];
      const forward = await startPortForward(conn, {
        namespace: ns,
        pod: "missing-0",
        port: 8081,
        onError: (e) => errors.push(e),
      });
      try {
        await fetch(`http://127.0.0.1:${forward.localPort}/`).catch(() => undefined);
        await waitUntil("the tunnel error", async () => (errors.length > 0 ? true : undefined));
        expect(errors[0]).toBeInstanceOf(NotFoundError);
      } finally {
        await forward.close();
      }
      await expect(execInPod(conn, { namespace: ns, pod: "missing-0", command: ["true"] })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(
        execInPod(conn, { namespace: ns, pod: POD, container: "cas", command: ["no-such-command-kwok-cas"] }),
      ).rejects.toBeInstanceOf(ExecError);
    },
    TIMEOUT,
  );

  test(
    "the StatefulSet and Service the CAS renderer makes: claims get volumes, the pod runs the simulator, the Service port-forwards",
    async () => {
      const cas = {
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name: "rendered", namespace: ns },
        spec: {
          image: "registry.scontain.com/scone.cloud/cas:6.0.7",
          databaseSnapshots: { enabled: true, interval: "1s", persistence: { enabled: true } },
          // sgx-node-3 and no other, whatever labels other test files left on the shared nodes.
          nodeSelector: { "las.scontain.com/capable": "true", "kubernetes.io/hostname": "sgx-node-3" },
        },
      } as CAS;
      const sts = renderCasStatefulSet(cas, renderOpts);
      // The CAS defaults select nodes labelled by LAS (none runs here): label one SGX node for this test.
      const lasLabel = "las.scontain.com/capable";
      const had = await cluster.kubectl([
        "get",
        "node",
        "sgx-node-3",
        "-o",
        `jsonpath={.metadata.labels.${lasLabel.replaceAll(".", "\\.")}}`,
      ]);
      if (had.stdout !== "true")
        await cluster.kubectl(["label", "node", "sgx-node-3", `${lasLabel}=true`, "--overwrite"]);
      try {
        await kubectl(["apply", "-f", "-"], JSON.stringify(sts));
        await kubectl(["apply", "-f", "-"], JSON.stringify(renderCasService(cas, renderOpts)));
        await expectRenderedPodRuns();
      } finally {
        if (had.stdout !== "true") await cluster.kubectl(["label", "node", "sgx-node-3", `${lasLabel}-`]);
      }
    },
    TIMEOUT,
  );

  /** The StatefulSet's pod on the labelled node, on PV-backed claims, running the image tag's simulator. */
  async function expectRenderedPodRuns(): Promise<void> {
    // The StatefulSet controller, the claims' volumes, the scheduler: allow a loaded machine its time.
    const pod = await runtime.waitForPod(`${ns}/rendered-0`, 120_000);
    expect(pod.plan.node).toBe("sgx-node-3");
    expect(pod.plan.version).toBe("6.0.7");
    // The renderer passes CAS no snapshot interval (how CAS reads one is not public): the simulator's default applies.
    expect(pod.plan.snapshots?.intervalMs).toBe(DEFAULT_SNAPSHOT_INTERVAL_MS);
    expect(pod.plan.database.backing).toEqual({ kind: "pvc", claim: "database-rendered-0" });
    const volumeName = await kubectl(["get", "pvc", "database-rendered-0", "-o", "jsonpath={.spec.volumeName}"]);
    const hostPath = await cluster.kubectl(["get", "pv", volumeName, "-o", "jsonpath={.spec.hostPath.path}"]);
    expect(hostPath.stdout).toBe(pod.paths.databaseDir);
    const console = await waitUntil("the console", async () => {
      const text = await kubectl(["logs", "rendered-0", "-c", "cas"]);
      return text.includes("CAS provisioning token") ? text : undefined;
    });
    expect(console).toContain("CAS simulator 6.0.7");
    // What `kubectl port-forward service/rendered 8081` does: the Service's client port → the pod's named port.
    const target = await resolveServiceTarget(KubeClient.fromConnection(conn), ns, "rendered", 8081);
    expect(target).toEqual({ pod: "rendered-0", port: 8081 });
    const forward = await startPortForward(conn, { namespace: ns, pod: target.pod, port: target.port });
    try {
      const keyHash = lastField(console, "CAS key hash") ?? "";
      const { report } = await attestCas(`https://127.0.0.1:${forward.localPort}`, { casKeyHash: keyHash });
      expect(report.version).toBe("6.0.7");
    } finally {
      await forward.close();
    }
    await kubectl(["delete", "statefulset", "rendered", "--wait=true", "--timeout=120s"]);
  }
});

describe("a simulator orphaned by a runtime that died", () => {
  test(
    "is stopped before a new one opens the same database; other processes are left alone",
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "scone-kwok-cas-orphan-"));
      const bystander = Bun.spawn(["sleep", "30"]);
      try {
        const sim = await launchSimulator({ dataDir });
        await Bun.write(join(dataDir, ".kwok-cas-simulator.pid"), `${sim.process.pid}\n`);
        stopOrphanedSimulator(dataDir);
        expect(await sim.process.exited).not.toBe(0);
        await Bun.write(join(dataDir, ".kwok-cas-simulator.pid"), `${bystander.pid}\n`);
        stopOrphanedSimulator(dataDir);
        // A kill would have been sent before stopOrphanedSimulator returned: the bystander then dies of our SIGTERM
        // only if it was left alone (no timing involved).
        bystander.kill("SIGTERM");
        await bystander.exited;
        expect(bystander.signalCode).toBe("SIGTERM");
      } finally {
        bystander.kill();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    TIMEOUT,
  );
});
