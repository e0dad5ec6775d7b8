// The real worker node beside the KWOK nodes (issue 12): kubelet + containerd + runc + CNI bridge + kube-proxy,
// cluster DNS, images from an OCI archive and from the local registry on loopback. Opt-in: root only, one real
// node per machine, about a minute to start; `make test-realnode` sets SCONE_REAL_NODE=1 and runs this directory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIRST_SERVICE_IP } from "../../../hack/cluster/components.ts";
import { CLUSTER_DNS_IP } from "../../../hack/cluster/node/addresses.ts";
import { writeBusyboxArchive, writeBusyboxLayout } from "../../../hack/cluster/node/oci-image.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { SGX_CAPABLE_LABEL } from "../../../src/resources/defaults.ts";
import { clusterAvailable, type LocalCluster, type RealNodeHandle, realNodeCluster } from "../../harness/cluster.ts";
import { adminClient, freshNamespace, waitFor } from "../../harness/kube.ts";
import { inBenchmarkRange, realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";

const TIMEOUT = 180_000;

interface PodView {
  metadata?: { name?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: {
      ready?: boolean;
      imageID?: string;
      state?: { waiting?: { reason?: string; message?: string } };
    }[];
  };
}

interface NodeView {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: {
    capacity?: Record<string, string>;
    addresses?: { type?: string; address?: string }[];
    conditions?: { type?: string; status?: string }[];
  };
}

describe.skipIf(!clusterAvailable() || !realNodeTestsEnabled())("real node", () => {
  let cluster: LocalCluster;
  let node: RealNodeHandle;
  let admin: KubeClient;
  let ns: string;
  let work: string;

  beforeAll(async () => {
    cluster = await realNodeCluster();
    if (!cluster.realNode) throw new Error("realNodeCluster() returned a cluster without a real node");
    node = cluster.realNode;
    admin = await adminClient(cluster);
    ns = await freshNamespace(admin, "realnode");
    work = await mkdtemp(join(tmpdir(), "scone-realnode-test-"));
  }, 600_000);

  afterAll(async () => {
    await admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => false);
    if (work) await rm(work, { recursive: true, force: true });
  }, 60_000);

  /** A busybox pod pinned to the real node; PID 1 ignores SIGTERM (sleep), hence the short grace period. */
  function podOn(name: string, image: string, pullPolicy: "Never" | "Always", script: string) {
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns },
      spec: {
        nodeSelector: { "kubernetes.io/hostname": node.name },
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "main",
            image,
            imagePullPolicy: pullPolicy,
            command: ["sh", "-c", script],
            // runc is built with seccomp: the runtime's default profile applies.
            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          },
        ],
      },
    };
  }

  /** Until the pod runs and is ready; a container stuck on its image or creation fails at once, with the reason. */
  async function running(name: string): Promise<PodView> {
    const outcome = await waitFor(
      `pod ${ns}/${name} to run on ${node.name}`,
      async () => {
        const pod = await admin.get<PodView & { apiVersion: string; kind: string }>({
          apiVersion: "v1",
          kind: "Pod",
          namespace: ns,
          name,
        });
        const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
        if (waiting && /Err|BackOff|CreateContainer/.test(waiting.reason ?? "")) {
          return { failed: `${waiting.reason}: ${waiting.message}` };
        }
        return pod.status?.phase === "Running" && pod.status.containerStatuses?.[0]?.ready ? { pod } : undefined;
      },
      120_000,
    );
    if ("failed" in outcome) throw new Error(`pod ${ns}/${name}: ${outcome.failed}`);
    return outcome.pod;
  }

  async function kubectl(args: string[]): Promise<string> {
    const result = await cluster.kubectl(["-n", ns, ...args]);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }

  test(
    "the node is Ready beside the KWOK nodes, at an address in 198.18.0.0/15, with no SGX label or resource",
    async () => {
      const real = await admin.get<NodeView & { apiVersion: string; kind: string }>({
        apiVersion: "v1",
        kind: "Node",
        name: node.name,
      });
      expect(real.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      const internal = real.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "";
      expect(internal).toBe(node.ip);
      expect(inBenchmarkRange(internal)).toBe(true);
      expect(Object.keys(real.metadata?.labels ?? {}).filter((k) => k.includes("sgx"))).toEqual([]);
      expect(Object.keys(real.status?.capacity ?? {}).filter((k) => k.includes("sgx"))).toEqual([]);
      // SGX stays on the simulated nodes.
      const sgxNodes = await admin.list<NodeView & { apiVersion: string; kind: string }>(
        { apiVersion: "v1", kind: "Node" },
        { labelSelector: `${SGX_CAPABLE_LABEL}=true` },
      );
      expect(sgxNodes.items.length).toBeGreaterThan(0);
      expect(sgxNodes.items.map((n) => n.metadata?.name)).not.toContain(node.name);
    },
    TIMEOUT,
  );

  test(
    "a pod from an imported OCI archive runs, with logs and exec through the API server and a pod IP in 198.18.0.0/15",
    async () => {
      const image = `scone.local/archive-test:${Math.random().toString(36).slice(2, 8)}`;
      const archive = join(work, "archive-test.oci.tar");
      await writeBusyboxArchive(archive, [{ name: image, cmd: ["sh"] }], work);
      await node.importArchive(archive);
      await admin.create(podOn("from-archive", image, "Never", 'echo "hello from $(hostname)"; exec sleep 3600'));
      const pod = await running("from-archive");
      expect(pod.spec?.nodeName).toBe(node.name);
      expect(inBenchmarkRange(pod.status?.podIP ?? "")).toBe(true);
      const logs = await waitFor("the pod's log line", async () => {
        const text = await kubectl(["logs", "from-archive"]);
        return text.includes("hello") ? text : undefined;
      });
      expect(logs.trim()).toBe("hello from from-archive");
      expect((await kubectl(["exec", "from-archive", "--", "sh", "-c", "echo $((6 * 7)) $(hostname)"])).trim()).toBe(
        "42 from-archive",
      );
    },
    TIMEOUT,
  );

  test(
    "a pod pulls its image from the local registry on loopback",
    async () => {
      const tag = Math.random().toString(36).slice(2, 8);
      const layout = join(work, `pushed-${tag}`);
      await writeBusyboxLayout(layout, [{ name: `scone.local/pushed:${tag}`, cmd: ["sh"] }], work);
      const reference = await node.pushLayout(layout, `scone-test/busybox:${tag}`);
      expect(reference.startsWith("127.0.0.1:")).toBe(true);
      await admin.create(podOn("from-registry", reference, "Always", "echo pulled; exec sleep 3600"));
      const pod = await running("from-registry");
      expect(pod.status?.containerStatuses?.[0]?.imageID).toStartWith(`${node.registry}/scone-test/busybox@sha256:`);
      expect((await kubectl(["logs", "from-registry"])).trim()).toBe("pulled");
    },
    TIMEOUT,
  );

  test(
    "a simulated pod on a KWOK node answers real-node pods at its pod IP and through its Service",
    async () => {
      const labels = { app: "simulated-cas" };
      await admin.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "simulated-cas", namespace: ns, labels },
        spec: {
          nodeSelector: { [SGX_CAPABLE_LABEL]: "true" },
          containers: [{ name: "cas", image: "registry.invalid/cas:simulated", ports: [{ containerPort: 8081 }] }],
        },
      });
      const podIp = await waitFor("kwok to give the simulated pod an IP", async () => {
        const pod = await admin.get<PodView & { apiVersion: string; kind: string }>({
          apiVersion: "v1",
          kind: "Pod",
          namespace: ns,
          name: "simulated-cas",
        });
        return pod.status?.phase === "Running" ? pod.status.podIP : undefined;
      });
      expect(inBenchmarkRange(podIp)).toBe(true);
      const unexpose = await node.exposeSimulatedPod(podIp);
      // The "simulator": a server on the pod's own address, as a CAS simulator would listen.
      const server = Bun.serve({ hostname: podIp, port: 8081, fetch: () => new Response("simulated CAS\n") });
      try {
        await admin.create({
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "cas", namespace: ns },
          spec: { selector: labels, ports: [{ name: "api", port: 18765, targetPort: 8081 }] },
        });
        await admin.create(podOn("cas-client", node.busyboxImage, "Never", "exec sleep 3600"));
        await running("cas-client");
        // HTTP/1.0 over busybox nc (its static wget crashes here with SIGSEGV): the body ends the answer.
        const fetchFrom = async (host: string, port: number) => {
          const script = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${host} ${port}`;
          const answer = await kubectl(["exec", "cas-client", "--", "sh", "-c", script]);
          return answer.includes("simulated CAS") ? answer : undefined;
        };
        expect(await fetchFrom(podIp, 8081)).toEndWith("simulated CAS\n");
        // The endpoint controller and kube-proxy pick the Service up asynchronously.
        const viaService = await waitFor("the Service to lead to the simulated pod", () =>
          fetchFrom(`cas.${ns}.svc.cluster.local`, 18765),
        );
        expect(viaService).toStartWith("HTTP/1.1 200");
      } finally {
        await server.stop(true);
        await unexpose();
      }
    },
    TIMEOUT,
  );

  test(
    "a pod IP with no pod behind it is unreachable at once from a pod: nothing follows the default route out",
    async () => {
      await admin.create(podOn("stray-client", node.busyboxImage, "Never", "exec sleep 3600"));
      await running("stray-client");
      // A simulated pod's address that no test put on lo (kwok hands out 198.18.2.x from .1 upwards).
      const script = "nc -w 5 198.18.2.250 8081 </dev/null 2>&1; echo exit=$?";
      const answer = await kubectl(["exec", "stray-client", "--", "sh", "-c", script]);
      expect(answer).toContain("No route to host");
      expect(answer.trim()).toEndWith("exit=1");
    },
    TIMEOUT,
  );

  test(
    "cluster DNS resolves kubernetes.default.svc.cluster.local from a pod, and the pod reaches the API server",
    async () => {
      await admin.create(podOn("dns-client", node.busyboxImage, "Never", "exec sleep 3600"));
      await running("dns-client");
      const resolvConf = await kubectl(["exec", "dns-client", "--", "cat", "/etc/resolv.conf"]);
      expect(resolvConf).toContain(`nameserver ${CLUSTER_DNS_IP}`);
      const lookup = await kubectl(["exec", "dns-client", "--", "nslookup", "kubernetes.default.svc.cluster.local"]);
      expect(lookup).toContain(`Address: ${FIRST_SERVICE_IP}`);
      // Through the `kubernetes` Service (kube-proxy) to the API server on the node's address: the TCP handshake.
      const connect = await kubectl([
        "exec",
        "dns-client",
        "--",
        "sh",
        "-c",
        "nc -w 5 kubernetes.default.svc.cluster.local 443 </dev/null && echo connected",
      ]);
      expect(connect.trim()).toBe("connected");
    },
    TIMEOUT,
  );
});
