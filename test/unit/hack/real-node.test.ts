// The real node's pure parts: configuration renderers, the TOML writer, the teardown variables, the opt-in switch.
import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import { binaryPaths, requestedRealNode } from "../../../hack/cluster/binaries.ts";
import { componentSpecs, SERVICE_CIDR } from "../../../hack/cluster/components.ts";
import { clusterLayout } from "../../../hack/cluster/layout.ts";
import { CLUSTER_DNS_IP, NODE_IP, POD_SUBNET } from "../../../hack/cluster/node/addresses.ts";
import {
  cniConfig,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  type NodePorts,
  otherRegistriesHostsToml,
  registryHostsToml,
} from "../../../hack/cluster/node/configs.ts";
import { teardownEnv } from "../../../hack/cluster/node/host.ts";
import { nodeLayout } from "../../../hack/cluster/node/layout.ts";
import { stringifyToml } from "../../../hack/cluster/node/toml.ts";
import { inBenchmarkRange } from "../../harness/real-node-enabled.ts";

const ports: NodePorts = {
  kubelet: 41001,
  kubeletHealthz: 41002,
  kubeProxyHealthz: 41003,
  kubeProxyMetrics: 41004,
  registry: 41005,
  corednsReady: 41006,
};
const layout = nodeLayout("/c", "/run/x");

/** Every IPv4 address or CIDR in a text. */
const addresses = (text: string) => [...text.matchAll(/\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d+)?\b/g)].map((m) => m[0]);
const allowed = (a: string) => a.startsWith("127.0.0.1") || inBenchmarkRange(a.split("/")[0] ?? "");

describe("real node configuration", () => {
  test("every address the node's configuration names is loopback or inside 198.18.0.0/15", () => {
    const texts = [
      containerdConfig(layout, "/bin/runc"),
      cniConfig(layout),
      kubeletConfig(layout, ports, "/c/pki/ca.crt", "unix:///run/x/containerd.sock"),
      kubeProxyConfig(layout, ports),
      registryHostsToml(ports),
      otherRegistriesHostsToml(),
      SERVICE_CIDR,
    ];
    const found = texts.flatMap(addresses);
    expect(found.length).toBeGreaterThan(5);
    expect(found.filter((a) => !allowed(a))).toEqual([]);
  });

  test("pods route only 198.18.0.0/15 and are not masqueraded: nothing they send leaves the machine", () => {
    const bridge = (JSON.parse(cniConfig(layout)) as { plugins: Record<string, unknown>[] }).plugins[0] as {
      ipMasq: boolean;
      ipam: { routes: { dst: string }[]; ranges: { subnet: string }[][] };
    };
    expect(bridge.ipMasq).toBe(false);
    expect(bridge.ipam.routes).toEqual([{ dst: "198.18.0.0/15" }]);
    expect(bridge.ipam.ranges[0]?.[0]?.subnet).toBe(POD_SUBNET);
  });

  test("kubelet serves only the node address, trusts the cluster CA and refuses anonymous callers", () => {
    const config = parse(kubeletConfig(layout, ports, "/c/pki/ca.crt", "unix:///s")) as Record<string, unknown>;
    expect(config).toMatchObject({
      address: NODE_IP,
      port: 41001,
      readOnlyPort: 0,
      healthzBindAddress: "127.0.0.1",
      failCgroupV1: false,
      cgroupDriver: "cgroupfs",
      clusterDNS: [CLUSTER_DNS_IP],
      authentication: { anonymous: { enabled: false }, x509: { clientCAFile: "/c/pki/ca.crt" } },
    });
  });

  test("kube-proxy listens on loopback and opens NodePorts only on the node address", () => {
    const config = parse(kubeProxyConfig(layout, ports)) as Record<string, unknown>;
    expect(config).toMatchObject({
      healthzBindAddress: "127.0.0.1:41003",
      metricsBindAddress: "127.0.0.1:41004",
      nodePortAddresses: [`${NODE_IP}/32`],
    });
  });

  test("containerd keeps its sockets, state and runc root in its own directories and pins the local pause image", () => {
    const parsed = Bun.TOML.parse(containerdConfig(layout, "/bin/runc")) as {
      grpc: { address: string };
      plugins: Record<string, Record<string, unknown>>;
    };
    expect(parsed.grpc.address).toBe("/run/x/containerd.sock");
    expect(parsed.plugins["io.containerd.cri.v1.runtime"]?.restrict_oom_score_adj).toBe(true);
    expect(parsed.plugins["io.containerd.cri.v1.images"]?.pinned_images).toEqual({
      sandbox: "scone.local/pause:busybox",
    });
    expect(parsed.plugins["io.containerd.internal.v1.opt"]?.path).toBe("/c/node/containerd-opt");
  });

  test("the local registry is plain HTTP on loopback only", () => {
    expect(Bun.TOML.parse(registryHostsToml(ports))).toEqual({
      server: "http://127.0.0.1:41005",
      host: { "http://127.0.0.1:41005": { capabilities: ["pull", "resolve"] } },
    });
  });

  test("every other registry is a closed loopback port: a pull of an outside name fails without a DNS query", () => {
    expect(Bun.TOML.parse(otherRegistriesHostsToml())).toEqual({
      server: "http://127.0.0.1:9",
      host: { "http://127.0.0.1:9": { capabilities: ["pull", "resolve"] } },
    });
  });

  test("with a real node the API server listens on the node address and publishes its endpoints", () => {
    const cp = { etcdClient: 1, etcdPeer: 2, apiserver: 3, kwok: 4 };
    const plain = componentSpecs(binaryPaths("1.37.2", "/cache"), clusterLayout("/c"), cp)["kube-apiserver"].args;
    expect(plain).toContain("--bind-address=127.0.0.1");
    expect(plain).toContain("--endpoint-reconciler-type=none");
    const specs = componentSpecs(binaryPaths("1.37.2", "/cache"), clusterLayout("/c"), cp, {
      apiserverAddress: NODE_IP,
      inClusterEndpoints: true,
      simulatedPodCidr: "198.18.2.1/24",
    });
    const withNode = specs["kube-apiserver"].args;
    expect(specs.kwok.args).toContain("--cidr=198.18.2.1/24");
    expect(withNode).toContain(`--bind-address=${NODE_IP}`);
    expect(withNode).toContain(`--advertise-address=${NODE_IP}`);
    expect(withNode).toContain("--endpoint-reconciler-type=lease");
  });
});

describe("TOML writer", () => {
  test("round-trips through Bun's TOML parser, quoting keys that are not bare", () => {
    const table = { a: 1, b: 'x"y\\z', c: true, d: ["p", "q"], t: { "io.x.v1": { k: "v", n: { m: 2 } } } };
    expect(Bun.TOML.parse(stringifyToml(table))).toEqual(table);
  });
  test("refuses numbers TOML cannot hold", () => {
    expect(() => stringifyToml({ n: Number.NaN })).toThrow("not a finite number");
  });
});

describe("teardown variables", () => {
  test("are single-quoted shell assignments", () => {
    const text = teardownEnv(layout, "/cache/kube-proxy", { "kernel.panic": "0" });
    expect(text).toContain("NODE_DIR='/c/node'\n");
    expect(text).toContain("SYSCTLS='kernel.panic=0'\n");
  });
  test("refuse a path that could break out of the quotes", () => {
    expect(() => teardownEnv(nodeLayout("/tmp/it's", "/run/x"), "/k", {})).toThrow("NODE_DIR");
  });
});

describe("SCONE_REAL_NODE", () => {
  test("is off unless 1 or true, and anything else is refused by name", () => {
    expect(requestedRealNode({})).toBe(false);
    expect(requestedRealNode({ SCONE_REAL_NODE: "0" })).toBe(false);
    expect(requestedRealNode({ SCONE_REAL_NODE: "1" })).toBe(true);
    expect(() => requestedRealNode({ SCONE_REAL_NODE: "yes" })).toThrow("SCONE_REAL_NODE=yes");
  });
});
