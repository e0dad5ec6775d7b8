// Tests of the local-cluster harness itself: what every other integration test relies on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { SIMULATED_NODES } from "../../hack/cluster/nodes.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { addSimulatedNode, removeSimulatedNode } from "../harness/simulated-nodes.ts";
import { portForward, type RunningPortForward, routePodPort } from "../harness/simulated-pods.ts";

interface KubeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    conditions?: { type: string; status: string }[];
  };
}

interface KubeconfigFile {
  clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
  users: { user: { token?: string; "client-certificate-data"?: string; "client-key-data"?: string } }[];
}

// Explicit per-test limits: bun's default is 5 s, and a timed-out test has its child processes killed by bun.
// Above the sum of a test's waits (60 s each for what the scheduler, controllers or kwok do), so a slow machine
// fails with the wait that timed out, not with a bare test timeout.
const START_TIMEOUT_MS = 300_000;
const TEST_TIMEOUT_MS = 150_000;
/** Tests that restart the API server (up to 90 s each, see hack/cluster/control-plane.ts) and then wait. */
const RESTART_TIMEOUT_MS = 360_000;

const fromB64 = (text: string | undefined) => Buffer.from(text ?? "", "base64").toString();

describe.skipIf(!clusterAvailable())("local cluster harness", () => {
  let cluster: LocalCluster;
  const suffix = Math.random().toString(36).slice(2, 7);
  const namespaces: string[] = [];

  beforeAll(async () => {
    cluster = await sharedCluster();
  }, START_TIMEOUT_MS);

  // The pods of these namespaces hold SGX capacity on the shared nodes: gone before the next file runs. Each
  // deletion on its own, so one failing does not leave the rest.
  afterAll(async () => {
    await Promise.all(
      namespaces.map((ns) => cluster?.kubectl(["delete", "namespace", ns, "--wait=false"]).catch(() => undefined)),
    );
  }, 60_000);

  async function kubectlOk(args: string[], stdin?: string): Promise<string> {
    const result = await cluster.kubectl(args, stdin === undefined ? {} : { stdin });
    if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  async function getJson<T>(args: string[]): Promise<T> {
    return JSON.parse(await kubectlOk([...args, "-o", "json"])) as T;
  }

  async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      const value = await probe().catch((error: unknown) => {
        lastError = error;
        return undefined;
      });
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`);
      }
      await Bun.sleep(200);
    }
  }

  /** A new namespace, once pods can be created in it (the controller-manager made its default ServiceAccount). */
  async function namespace(prefix: string): Promise<string> {
    const name = `${prefix}-${suffix}`;
    await kubectlOk(["create", "namespace", name]);
    namespaces.push(name);
    await eventually(`ServiceAccount ${name}/default`, async () =>
      (await cluster.kubectl(["get", "serviceaccount", "-n", name, "default"])).code === 0 ? true : undefined,
    );
    return name;
  }

  async function adminFetch(path: string): Promise<Response> {
    const config = parse(await Bun.file(cluster.kubeconfigPath).text()) as KubeconfigFile;
    const user = config.users[0]?.user;
    return fetch(`${cluster.server}${path}`, {
      tls: {
        ca: cluster.caPem,
        cert: fromB64(user?.["client-certificate-data"]),
        key: fromB64(user?.["client-key-data"]),
      },
    });
  }

  async function runningPodOn(ns: string, selector: string): Promise<KubeObject> {
    return eventually(`a Running pod (${selector}) in ${ns}`, async () => {
      const pods = await getJson<{ items: KubeObject[] }>(["get", "pods", "-n", ns, "-l", selector]);
      return pods.items.find((pod) => pod.status?.phase === "Running");
    });
  }

  test(
    "serves the requested Kubernetes version to the admin kubeconfig (client certificate)",
    async () => {
      const expected = (process.env.SCONE_K8S_VERSION ?? "1.37.2").replace(/^v/, "");
      expect(cluster.k8sVersion).toBe(expected);
      const version = await getJson<{ serverVersion: { gitVersion: string } }>(["version"]);
      expect(version.serverVersion.gitVersion).toBe(`v${expected}`);

      const config = parse(await Bun.file(cluster.kubeconfigPath).text()) as KubeconfigFile;
      expect(config.clusters[0]?.cluster.server).toBe(cluster.server);
      expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(fromB64(config.clusters[0]?.cluster["certificate-authority-data"])).toBe(cluster.caPem);
      expect(config.users[0]?.user["client-certificate-data"]).toBeString();
      expect(await (await adminFetch("/readyz")).text()).toBe("ok");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "keeps private keys and kubeconfigs readable by the owner only",
    async () => {
      const secrets = [cluster.kubeconfigPath, ...["ca", "admin", "apiserver", "sa"].map((k) => `pki/${k}.key`)];
      for (const file of secrets) {
        const path = file.startsWith("/") ? file : join(cluster.dir, file);
        expect({ path, mode: (await stat(path)).mode & 0o777 }).toEqual({ path, mode: 0o600 });
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "runs 3 SGX nodes across two zones and 1 plain node, all Ready",
    async () => {
      // The harness's nodes only: other files may add nodes of their own. Waited for, as a file before this one
      // may have deleted a node and created it again (Ready once kwok initialises it).
      const harnessNodes = new Set(SIMULATED_NODES.map((spec) => spec.name));
      const nodes = await eventually("the harness's 4 nodes to be Ready", async () => {
        const items = (await getJson<{ items: KubeObject[] }>(["get", "nodes"])).items.filter((node) =>
          harnessNodes.has(node.metadata.name),
        );
        const ready = items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        return ready.length === harnessNodes.size ? items : undefined;
      });
      const summary = nodes
        .map((node) => ({
          name: node.metadata.name,
          zone: node.metadata.labels?.["topology.kubernetes.io/zone"],
          sgx: node.metadata.labels?.["sgx.intel.com/capable"] ?? null,
          hostname: node.metadata.labels?.["kubernetes.io/hostname"],
          os: node.metadata.labels?.["kubernetes.io/os"],
          enclaveCapacity: node.status?.capacity?.["sgx.intel.com/enclave"] ?? null,
          enclaveAllocatable: node.status?.allocatable?.["sgx.intel.com/enclave"] ?? null,
          ready: node.status?.conditions?.find((c) => c.type === "Ready")?.status,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const sgxNode = (name: string, zone: string) => ({
        name,
        zone,
        sgx: "true",
        hostname: name,
        os: "linux",
        enclaveCapacity: "20",
        enclaveAllocatable: "20",
        ready: "True",
      });
      expect(summary).toEqual([
        { ...sgxNode("plain-node-1", "zone-b"), sgx: null, enclaveCapacity: null, enclaveAllocatable: null },
        sgxNode("sgx-node-1", "zone-a"),
        sgxNode("sgx-node-2", "zone-a"),
        sgxNode("sgx-node-3", "zone-b"),
      ]);
      for (const node of nodes) expect(Number(node.status?.allocatable?.cpu)).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "adds and removes an extra simulated node without touching the shared ones",
    async () => {
      const name = `extra-sgx-${suffix}`;
      await addSimulatedNode(cluster, { name, zone: "zone-c", sgx: true });
      try {
        const node = await getJson<KubeObject>(["get", "node", name]);
        expect(node.metadata.labels?.["topology.kubernetes.io/zone"]).toBe("zone-c");
        expect(node.status?.allocatable?.["sgx.intel.com/enclave"]).toBe("20");
        expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      } finally {
        await removeSimulatedNode(cluster, name);
      }
      await eventually("the extra node to be gone", async () => {
        const result = await cluster.kubectl(["get", "node", name]);
        return result.code !== 0 ? true : undefined;
      });
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a Deployment with an SGX nodeSelector gets a Running pod on an SGX node",
    async () => {
      const ns = await namespace("harness-deploy");
      const deployment = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "enclave-app", namespace: ns },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "enclave-app" } },
          template: {
            metadata: { labels: { app: "enclave-app" } },
            spec: {
              nodeSelector: { "sgx.intel.com/capable": "true" },
              containers: [
                {
                  name: "app",
                  image: "example.invalid/app:1",
                  resources: { limits: { "sgx.intel.com/enclave": "1" } },
                },
              ],
            },
          },
        },
      };
      await kubectlOk(["apply", "-f", "-"], JSON.stringify(deployment));
      const pod = await runningPodOn(ns, "app=enclave-app");
      expect(pod.spec?.nodeName).toStartWith("sgx-node-");
      const ready = await eventually("the Deployment to report 2 ready replicas", async () => {
        const current = await getJson<{ status?: { readyReplicas?: number } }>([
          "get",
          "deployment",
          "-n",
          ns,
          "enclave-app",
        ]);
        return current.status?.readyReplicas === 2 ? current : undefined;
      });
      expect(ready.status?.readyReplicas).toBe(2);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "serves logs of, and runs exec in, a simulated pod through the API server",
    async () => {
      const ns = await namespace("harness-logs");
      await kubectlOk(["run", "talker", "-n", ns, "--image=example.invalid/talker:1", "--labels=app=talker"]);
      const pod = await runningPodOn(ns, "app=talker");
      const logs = await kubectlOk(["logs", "-n", ns, pod.metadata.name]);
      expect(logs).toContain("scone local cluster: simulated container started");
      const exec = await kubectlOk(["exec", "-n", ns, pod.metadata.name, "--", "echo", `hello-${suffix}`]);
      expect(exec.trim()).toBe(`hello-${suffix}`);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "port-forwards a simulated pod's port to a server of the test (kwok PortForward)",
    async () => {
      const ns = await namespace("harness-forward");
      const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(`pong-${suffix}`) });
      if (server.port === undefined) throw new Error("Bun.serve did not report its port");
      try {
        await kubectlOk(["run", "web", "-n", ns, "--image=example.invalid/web:1", "--port=8080", "--labels=app=web"]);
        await runningPodOn(ns, "app=web");
        await routePodPort(cluster, { namespace: ns, pod: "web", port: 8080, target: { port: server.port } });
        let forward: RunningPortForward | undefined;
        try {
          // kwok picks up the PortForward object through a watch: the first attempt may come before it, and a
          // failed stream can end kubectl port-forward, so a forward that exited is started again.
          const body = await eventually("the forwarded port to answer", async () => {
            if (forward && !forward.running()) forward = undefined;
            forward ??= await portForward(cluster, ns, "web", 8080);
            const response = await fetch(`http://127.0.0.1:${forward.localPort}/`, {
              signal: AbortSignal.timeout(3000),
            });
            return response.ok ? response.text() : undefined;
          });
          expect(body).toBe(`pong-${suffix}`);
        } finally {
          await forward?.stop();
        }
      } finally {
        server.stop(true);
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "enforces RBAC: a ServiceAccount token without rights gets 403, with a RoleBinding 200",
    async () => {
      const ns = await namespace("harness-rbac");
      await kubectlOk(["create", "serviceaccount", "-n", ns, "nobody"]);
      const path = await cluster.serviceAccountKubeconfig(ns, "nobody");
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const config = parse(await Bun.file(path).text()) as KubeconfigFile;
      expect(config.clusters[0]?.cluster.server).toBe(cluster.server);
      const token = config.users[0]?.user.token;
      expect(token).toBeString();
      const listPods = () =>
        fetch(`${cluster.server}/api/v1/namespaces/${ns}/pods`, {
          headers: { authorization: `Bearer ${token}` },
          tls: { ca: cluster.caPem },
        });
      const denied = await listPods();
      expect(denied.status).toBe(403);
      expect(((await denied.json()) as { message: string }).message).toContain(`system:serviceaccount:${ns}:nobody`);

      await kubectlOk([
        "create",
        "rolebinding",
        "-n",
        ns,
        "nobody-view",
        "--clusterrole=view",
        `--serviceaccount=${ns}:nobody`,
      ]);
      const allowed = await eventually("the RoleBinding to take effect", async () => {
        const response = await listPods();
        return response.status === 200 ? response : undefined;
      });
      expect(allowed.status).toBe(200);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "restartApiServer brings the API server back on the same address with its data",
    async () => {
      const ns = await namespace("harness-restart");
      await kubectlOk(["create", "configmap", "-n", ns, "kept", "--from-literal=answer=42"]);
      await cluster.stopApiServer();
      expect((await cluster.kubectl(["get", "--raw", "/readyz", "--request-timeout=2s"])).code).not.toBe(0);
      await cluster.startApiServer();
      await cluster.restartApiServer();
      const kept = await getJson<{ data: Record<string, string> }>(["get", "configmap", "-n", ns, "kept"]);
      expect(kept.data).toEqual({ answer: "42" });
      // The simulated nodes and the controllers reconnect: a new pod still becomes Running.
      await kubectlOk(["run", "after-restart", "-n", ns, "--image=example.invalid/x:1", "--labels=app=after-restart"]);
      expect((await runningPodOn(ns, "app=after-restart")).status?.phase).toBe("Running");
    },
    RESTART_TIMEOUT_MS,
  );

  test(
    "compactEtcd makes an older resourceVersion answer 410 Gone",
    async () => {
      const ns = await namespace("harness-compact");
      await kubectlOk(["create", "configmap", "-n", ns, "churn", "--from-literal=n=0"]);
      const before = await getJson<KubeObject>(["get", "configmap", "-n", ns, "churn"]);
      const oldVersion = before.metadata.resourceVersion;
      for (const n of [1, 2, 3]) {
        await kubectlOk(["patch", "configmap", "-n", ns, "churn", "-p", JSON.stringify({ data: { n: String(n) } })]);
      }
      const listAt = (rv: string | undefined) =>
        adminFetch(`/api/v1/namespaces/${ns}/configmaps?resourceVersion=${rv}&resourceVersionMatch=Exact`);
      expect((await listAt(oldVersion)).status).toBe(200);

      await cluster.compactEtcd();

      const expired = await listAt(oldVersion);
      expect(expired.status).toBe(410);
      const watch = await adminFetch(`/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${oldVersion}`);
      const firstEvent = JSON.parse((await watch.text()).split("\n")[0] ?? "{}") as {
        type?: string;
        object?: { code?: number };
      };
      expect({ type: firstEvent.type, code: firstEvent.object?.code }).toEqual({ type: "ERROR", code: 410 });
    },
    RESTART_TIMEOUT_MS,
  );
});

// The pure parts of the harness, checked without a cluster: what the requirements say each piece must carry.
describe("local cluster building blocks", () => {
  test("the per-cluster CA signs each component's certificate with the identity the API server maps", async () => {
    await import("reflect-metadata");
    const x509 = await import("@peculiar/x509");
    const { createClusterPki } = await import("../../hack/cluster/pki.ts");
    const pki = await createClusterPki("10.96.0.1");
    const ca = new x509.X509Certificate(pki.caCertPem);
    const subjects: Record<string, string> = {};
    for (const [name, pair] of Object.entries(pki.certs)) {
      const cert = new x509.X509Certificate(pair.certPem);
      expect({ name, signedByCa: await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }) }).toEqual({
        name,
        signedByCa: true,
      });
      subjects[name] = cert.subject;
      expect(pair.keyPem).toStartWith("-----BEGIN PRIVATE KEY-----");
    }
    expect(subjects).toEqual({
      apiserver: "CN=kube-apiserver",
      admin: "CN=scone-admin, O=system:masters",
      "controller-manager": "CN=system:kube-controller-manager",
      scheduler: "CN=system:kube-scheduler",
      kwok: "CN=kwok-controller, O=system:masters",
      "apiserver-kubelet-client": "CN=kube-apiserver-kubelet-client, O=system:masters",
    });
    const serving = new x509.X509Certificate(pki.certs.apiserver.certPem);
    const san = serving.getExtension(x509.SubjectAlternativeNameExtension);
    const names = san?.names.items.map((item) => `${item.type}:${item.value}`) ?? [];
    for (const expected of ["ip:127.0.0.1", "ip:10.96.0.1", "dns:localhost", "dns:kubernetes.default.svc"]) {
      expect(names).toContain(expected);
    }
    expect(pki.serviceAccountPubPem).toStartWith("-----BEGIN PUBLIC KEY-----");
  });

  test("the API server keeps RBAC and the default admission chain; the controllers get the SA keys", async () => {
    const { componentSpecs } = await import("../../hack/cluster/components.ts");
    const { binaryPaths } = await import("../../hack/cluster/binaries.ts");
    const { clusterLayout } = await import("../../hack/cluster/layout.ts");
    const ports = { etcdClient: 40001, etcdPeer: 40002, apiserver: 40003, kwok: 40004 };
    const specs = componentSpecs(binaryPaths("1.37.2", "/cache"), clusterLayout("/c"), ports);
    const apiserver = specs["kube-apiserver"].args;
    expect(apiserver).toContain("--authorization-mode=Node,RBAC");
    expect(apiserver).toContain("--secure-port=40003");
    expect(apiserver).toContain("--service-account-signing-key-file=/c/pki/sa.key");
    expect(apiserver.filter((arg) => /^--(admission-control|disable-admission-plugins)=/.test(arg))).toEqual([]);
    const kcm = specs["kube-controller-manager"].args;
    for (const flag of [
      "--use-service-account-credentials",
      "--root-ca-file=/c/pki/ca.crt",
      "--service-account-private-key-file=/c/pki/sa.key",
    ]) {
      expect(kcm).toContain(flag);
    }
    expect(specs.etcd.args).toContain("--unsafe-no-fsync");
    expect(specs.kwok.args).toContain("--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake");
    expect(specs.kwok.args).toContain("--server-address=127.0.0.1:40004");
  });

  test("kwok's config: the given Stages, then cluster-wide logs and exec", async () => {
    const { parseAllDocuments } = await import("yaml");
    const { renderKwokConfig, criLogLines } = await import("../../hack/cluster/kwok-config.ts");
    const rendered = renderKwokConfig({
      stagesYaml:
        "---\nkind: Stage\nmetadata: {name: node-initialize}\n---\nkind: Stage\nmetadata: {name: pod-ready}\n",
      containerLogFile: "/c/simulated-container.log",
      execWorkDir: "/c/exec",
    });
    const docs = parseAllDocuments(rendered).map((doc) => doc.toJS() as { kind: string; spec?: unknown });
    expect(docs.map((doc) => doc.kind)).toEqual(["Stage", "Stage", "ClusterLogs", "ClusterExec"]);
    expect(docs[2]?.spec).toEqual({ logs: [{ logsFile: "/c/simulated-container.log" }] });
    expect(docs[3]?.spec).toEqual({ execs: [{ local: { workDir: "/c/exec" } }] });
    // kubelet's CRI log format, which kwok's log reader parses.
    expect(criLogLines(["hello"], new Date("2026-01-02T03:04:05.678Z"))).toBe(
      "2026-01-02T03:04:05.678000000Z stdout F hello\n",
    );
  });

  test("three SGX nodes over two zones and one plain node; enclave capacity only where SGX is", async () => {
    const { nodeManifest, SIMULATED_NODES } = await import("../../hack/cluster/nodes.ts");
    const nodes = SIMULATED_NODES.map(nodeManifest);
    const sgx = nodes.filter((node) => node.metadata?.labels?.["sgx.intel.com/capable"] === "true");
    expect(sgx.map((node) => node.metadata?.labels?.["topology.kubernetes.io/zone"]).sort()).toEqual([
      "zone-a",
      "zone-a",
      "zone-b",
    ]);
    for (const node of nodes) {
      const enclave = sgx.includes(node) ? "20" : undefined;
      expect(node.status?.capacity?.["sgx.intel.com/enclave"]).toBe(enclave);
      expect(node.status?.allocatable?.["sgx.intel.com/enclave"]).toBe(enclave);
      expect(node.metadata?.annotations?.["kwok.x-k8s.io/node"]).toBe("fake");
    }
  });

  test("ports are picked below the kernel's ephemeral range, where no bind(0) or outgoing connection lands", async () => {
    const { ephemeralRangeStart, pickablePorts, freePorts } = await import("../../hack/cluster/ports.ts");
    expect(ephemeralRangeStart("32768\t60999\n")).toBe(32768);
    expect(ephemeralRangeStart("garbage")).toBeUndefined();
    expect(pickablePorts(32768)).toEqual({ from: 10_000, to: 32767 });
    // Too few ports below the range: the OS picks (port 0) instead.
    expect(pickablePorts(10_500)).toBeUndefined();
    expect(pickablePorts(undefined)).toBeUndefined();
    const ports = await freePorts(4);
    expect(new Set(ports).size).toBe(4);
    const pool = pickablePorts(ephemeralRangeStart(await Bun.file("/proc/sys/net/ipv4/ip_local_port_range").text()));
    for (const port of ports) {
      if (pool) expect(port >= pool.from && port <= pool.to).toBe(true);
      else expect(port).toBeGreaterThan(0);
    }
  });

  test("SCONE_K8S_VERSION must name a full release", async () => {
    const { requestedK8sVersion } = await import("../../hack/cluster/binaries.ts");
    expect(requestedK8sVersion({})).toBe("1.37.2");
    expect(requestedK8sVersion({ SCONE_K8S_VERSION: "v1.35.4" })).toBe("1.35.4");
    expect(() => requestedK8sVersion({ SCONE_K8S_VERSION: "1.37" })).toThrow("SCONE_K8S_VERSION=1.37");
  });
});
