// The real worker node beside the KWOK nodes: containerd (+ runc, CNI bridge), kubelet and kube-proxy, with CoreDNS
// as cluster DNS and a local OCI registry on loopback, all detached processes like the control plane. Opt-in
// (ControlPlane.start({ realNode: true }), SCONE_REAL_NODE=1 make cluster): without it nothing here runs.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AdminApi } from "../api.ts";
import { writeKubeconfig } from "../kubeconfig.ts";
import { issueCertificate, type KeyPairPem, type LeafSpec } from "../pki.ts";
import { freePorts } from "../ports.ts";
import { isRunning, killProcessGroupSync, launchDetached, type ProcessRecord, stopProcessGroup } from "../process.ts";
import { HarnessError, waitForReady } from "../wait.ts";
import { NODE_IP, NODE_NAME, SIMULATED_POD_PREFIX } from "./addresses.ts";
import type { NodeBinaries } from "./binaries.ts";
import {
  BUSYBOX_IMAGE,
  cniConfig,
  containerdConfig,
  corefile,
  hostResolvConf,
  kubeletConfig,
  kubeProxyConfig,
  type NodePorts,
  otherRegistriesHostsToml,
  registryHost,
  registryHostsToml,
  SANDBOX_IMAGE,
} from "./configs.ts";
import { coreDnsObjects } from "./dns-objects.ts";
import { runTeardown, TEARDOWN_SCRIPT } from "./host.ts";
import { NODE_COMPONENTS, type NodeComponent, type NodeLayout } from "./layout.ts";
import { writeBusyboxArchive } from "./oci-image.ts";

export interface RealNodeState {
  readonly ports: NodePorts;
  readonly binaries: NodeBinaries;
  processes: Partial<Record<NodeComponent, ProcessRecord>>;
}

/** What the node needs of its control plane. */
export interface NodeHost {
  readonly server: string;
  readonly caPem: string;
  readonly caKeyFile: string;
  readonly caCertFile: string;
  readonly api: AdminApi;
  /** Persists the cluster state (and the process groups the watchdog kills). */
  readonly save: () => Promise<void>;
  readonly log: (line: string) => void;
}

const COREDNS_USER = "system:scone-coredns";

/** Node-side identities: the API server maps CN to the user, O to groups (kubelet: the Node authorizer's form). */
const IDENTITIES: Record<"kubelet" | "kube-proxy" | "coredns", LeafSpec> = {
  kubelet: { subject: `CN=system:node:${NODE_NAME}, O=system:nodes`, client: true },
  // Bound by default to system:node-proxier.
  "kube-proxy": { subject: "CN=system:kube-proxy", client: true },
  // Bound by the ClusterRole the harness creates (dns-objects.ts).
  coredns: { subject: `CN=${COREDNS_USER}`, client: true },
};

export class RealNode {
  constructor(
    readonly layout: NodeLayout,
    readonly state: RealNodeState,
  ) {}

  static async newState(binaries: NodeBinaries): Promise<RealNodeState> {
    const [kubelet, kubeletHealthz, kubeProxyHealthz, kubeProxyMetrics, registry, corednsReady] = await freePorts(6);
    const ports = { kubelet, kubeletHealthz, kubeProxyHealthz, kubeProxyMetrics, registry, corednsReady } as NodePorts;
    return { ports, binaries, processes: {} };
  }

  get registry(): string {
    return registryHost(this.state.ports);
  }

  /** Configuration, certificates and images, then the processes in dependency order; resolves once Ready. */
  async start(host: NodeHost, deadline: number): Promise<void> {
    const began = performance.now();
    const elapsed = () => `${((performance.now() - began) / 1000).toFixed(1)}s`;
    await this.writeFiles(host);
    await this.launch("containerd", host);
    await this.waitFor("containerd to answer", deadline, () => this.ctrOk(), ["containerd"]);
    const archive = join(this.layout.images, "busybox.oci.tar");
    await writeBusyboxArchive(
      archive,
      [
        { name: SANDBOX_IMAGE, entrypoint: ["/bin/sleep", "2147483647"] },
        { name: BUSYBOX_IMAGE, cmd: ["sh"] },
      ],
      this.layout.images,
    );
    await this.importArchive(archive);
    host.log(`containerd up, busybox and pause images imported (${elapsed()})`);
    await this.launch("registry", host);
    await this.waitFor(`the registry on ${this.registry}`, deadline, async () => {
      const reply = await fetch(`http://${this.registry}/v2/`, { signal: AbortSignal.timeout(2000) });
      return reply.status === 200;
    });
    for (const [path, object] of coreDnsObjects(COREDNS_USER)) {
      await this.waitFor(`${path} to accept ${JSON.stringify(object.metadata)}`, deadline, async () => {
        const reply = await host.api.request("POST", path, object);
        if (reply.status === 201 || reply.status === 409) return true;
        if (reply.status === 400 || reply.status === 422) {
          throw new HarnessError(`POST ${path}: ${JSON.stringify(reply.body)}`);
        }
        return false;
      });
    }
    await this.launch("coredns", host);
    await this.waitFor("CoreDNS to be ready", deadline, async () => {
      const reply = await fetch(`http://127.0.0.1:${this.state.ports.corednsReady}/ready`, {
        signal: AbortSignal.timeout(2000),
      });
      return reply.status === 200;
    });
    await this.launch("kubelet", host);
    await this.launch("kube-proxy", host);
    await this.waitFor(`node ${NODE_NAME} to be Ready`, deadline, async () => {
      const reply = await host.api.request("GET", `/api/v1/nodes/${NODE_NAME}`);
      const node = reply.body as {
        spec?: { taints?: { key?: string }[] };
        status?: { conditions?: { type?: string; status?: string }[] };
      };
      const ready = node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      return ready && !(node.spec?.taints ?? []).some((t) => t.key?.startsWith("node.kubernetes.io/"));
    });
    host.log(`real node ${NODE_NAME} Ready at ${NODE_IP} (${elapsed()})`);
  }

  /** `ctr images import` into the k8s.io namespace (the one the CRI plugin uses). */
  async importArchive(archive: string): Promise<void> {
    const result = await this.ctr(["images", "import", "--platform", "linux/amd64", archive]);
    if (result.code !== 0) throw new Error(`ctr images import ${archive} failed: ${result.stderr.trim()}`);
  }

  /**
   * SIGKILLs a container's task through containerd, as `crictl stop --timeout 0` or the OOM killer would: no SIGTERM,
   * so the process gets no chance to clean up. `containerId` is the CRI id (pod status `containerID` without the
   * `containerd://` scheme); the kubelet then restarts the container by the pod's restartPolicy.
   */
  async killContainer(containerId: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(containerId)) throw new Error(`container id ${containerId}: expected 64 hex digits`);
    const result = await this.ctr(["tasks", "kill", "--signal", "SIGKILL", containerId]);
    if (result.code !== 0) throw new Error(`ctr tasks kill ${containerId} failed: ${result.stderr.trim()}`);
  }

  /** Pushes an OCI image layout directory (one image) to the local registry; returns the full reference. */
  async pushLayout(layoutDir: string, repositoryAndTag: string): Promise<string> {
    const reference = `${this.registry}/${repositoryAndTag}`;
    const child = Bun.spawn([this.state.binaries.crane, "push", "--insecure", layoutDir, reference], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    if (code !== 0) throw new Error(`crane push ${layoutDir} ${reference} failed: ${stderr.trim()}`);
    return reference;
  }

  /**
   * Puts a simulated (KWOK) pod's address on lo, so a server the test binds there answers the real node's pods at
   * the pod IP and through its Services (kube-proxy routes to it like to any endpoint). Returns the undo; the
   * teardown removes whatever a test left.
   */
  async exposeSimulatedPod(podIp: string): Promise<() => Promise<void>> {
    const octets = podIp.split(".");
    if (!podIp.startsWith(SIMULATED_POD_PREFIX) || octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o))) {
      throw new Error(`pod IP ${podIp}: expected a simulated pod's address (${SIMULATED_POD_PREFIX}x)`);
    }
    const ip = async (verb: "add" | "del") => {
      const child = Bun.spawn(["ip", "addr", verb, `${podIp}/32`, "dev", "lo"], { stdout: "ignore", stderr: "pipe" });
      const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
      if (code !== 0 && !(verb === "add" && stderr.includes("File exists"))) {
        throw new Error(`ip addr ${verb} ${podIp}/32 dev lo: ${stderr.trim()}`);
      }
    };
    await ip("add");
    return () => ip("del");
  }

  /** Names of node components not running (for ControlPlane.problems). */
  problems(): string[] {
    return NODE_COMPONENTS.filter((name) => {
      const record = this.state.processes[name];
      return !record || !isRunning(record);
    }).map((name) => `${name} (real node) is not running`);
  }

  /** Starts again what was killed from outside, in dependency order. */
  async revive(host: NodeHost): Promise<NodeComponent[]> {
    const dead = NODE_COMPONENTS.filter((name) => {
      const record = this.state.processes[name];
      return !record || !isRunning(record);
    });
    for (const name of dead) {
      const record = this.state.processes[name];
      if (record) await stopProcessGroup(record, 1000);
      await this.launch(name, host);
    }
    return dead;
  }

  /** Stops every process, then removes every trace from the machine (teardown.sh). */
  async stop(save: () => Promise<void>): Promise<void> {
    for (const name of [...NODE_COMPONENTS].reverse()) {
      const record = this.state.processes[name];
      if (!record) continue;
      await stopProcessGroup(record, name === "kubelet" || name === "containerd" ? 5000 : 2000);
      delete this.state.processes[name];
      await save();
    }
    const child = Bun.spawn(["/bin/sh", TEARDOWN_SCRIPT, this.layout.teardownEnv], {
      stdout: "ignore",
      stderr: "ignore",
    });
    await child.exited;
  }

  /** From exit and signal handlers: SIGKILL and teardown, synchronously. */
  destroySync(): void {
    for (const record of Object.values(this.state.processes)) if (record) killProcessGroupSync(record);
    runTeardown(this.layout.teardownEnv);
  }

  private async writeFiles(host: NodeHost): Promise<void> {
    const { layout, state } = this;
    for (const dir of [layout.cniConfDir, layout.cniIpamDir, layout.kubeletRoot, layout.podLogs, layout.images]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    await mkdir(join(layout.registryHosts, this.registry), { recursive: true });
    await mkdir(join(layout.registryHosts, "_default"), { recursive: true });
    const [caCertPem, caKeyPem] = await Promise.all([
      readFile(host.caCertFile, "utf8"),
      readFile(host.caKeyFile, "utf8"),
    ]);
    const kubeconfigs: [string, keyof typeof IDENTITIES][] = [
      [layout.kubeletKubeconfig, "kubelet"],
      [layout.kubeProxyKubeconfig, "kube-proxy"],
      [layout.corednsKubeconfig, "coredns"],
    ];
    for (const [path, who] of kubeconfigs) {
      const pair: KeyPairPem = await issueCertificate(caCertPem, caKeyPem, IDENTITIES[who]);
      await writeKubeconfig(path, {
        name: who,
        server: host.server,
        caPem: host.caPem,
        credentials: { clientCertPem: pair.certPem, clientKeyPem: pair.keyPem },
      });
    }
    const runtimeEndpoint = `unix://${layout.containerdSocket}`;
    await writeFile(layout.containerdConfig, containerdConfig(layout, state.binaries.runc));
    await writeFile(join(layout.registryHosts, this.registry, "hosts.toml"), registryHostsToml(state.ports));
    await writeFile(join(layout.registryHosts, "_default", "hosts.toml"), otherRegistriesHostsToml());
    await writeFile(join(layout.cniConfDir, "10-scone.conflist"), cniConfig(layout));
    await writeFile(layout.kubeletConfig, kubeletConfig(layout, state.ports, host.caCertFile, runtimeEndpoint));
    await writeFile(layout.kubeProxyConfig, kubeProxyConfig(layout, state.ports));
    await writeFile(layout.corefile, corefile(layout, state.ports));
    await writeFile(layout.resolvConf, hostResolvConf());
  }

  private command(name: NodeComponent): { binary: string; args: string[]; env?: Record<string, string> } {
    const { layout, state } = this;
    const bin = state.binaries;
    switch (name) {
      case "containerd":
        // The shim is looked up on PATH.
        return {
          binary: bin.containerd,
          args: ["--config", layout.containerdConfig],
          env: { PATH: `${bin.containerdDir}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` },
        };
      case "registry":
        return { binary: bin.crane, args: ["registry", "serve", "--address", this.registry] };
      case "coredns":
        return { binary: bin.coredns, args: ["-conf", layout.corefile] };
      case "kubelet":
        return {
          binary: bin.kubelet,
          args: [
            `--config=${layout.kubeletConfig}`,
            `--kubeconfig=${layout.kubeletKubeconfig}`,
            `--root-dir=${layout.kubeletRoot}`,
            `--node-ip=${NODE_IP}`,
            `--hostname-override=${NODE_NAME}`,
            "--node-labels=scone.cloud/real-node=true",
          ],
        };
      case "kube-proxy":
        return { binary: bin.kubeProxy, args: [`--config=${layout.kubeProxyConfig}`] };
    }
  }

  private async launch(name: NodeComponent, host: NodeHost): Promise<void> {
    const { binary, args, env } = this.command(name);
    this.state.processes[name] = launchDetached({
      binary,
      args,
      env,
      logFile: this.layout.log(name),
      cwd: this.layout.dir,
    });
    await host.save();
  }

  private async ctr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = Bun.spawn(
      [this.state.binaries.ctr, "--address", this.layout.containerdSocket, "-n", "k8s.io", ...args],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr };
  }

  private async ctrOk(): Promise<boolean> {
    return (await this.ctr(["version"])).code === 0;
  }

  private waitFor(
    what: string,
    deadline: number,
    check: () => Promise<boolean>,
    watched: readonly NodeComponent[] = NODE_COMPONENTS,
  ): Promise<void> {
    const processes = () =>
      watched.map((name) => ({ name, record: this.state.processes[name], logFile: this.layout.log(name) }));
    return waitForReady(what, deadline, check, processes, 15);
  }
}
