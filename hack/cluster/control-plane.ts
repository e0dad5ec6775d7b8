// Starts, attaches to and stops one local control plane: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok as detached processes, with a throwaway CA and four simulated nodes.
import { rmSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { AdminApi } from "./api.ts";
import { ensureBinaries, type KubeBinaries } from "./binaries.ts";
import {
  type ClusterNetwork,
  type ClusterPorts,
  type ComponentSpec,
  componentSpecs,
  etcdClientUrl,
  LOOPBACK_NETWORK,
} from "./components.ts";
import { compactToCurrentRevision, etcdHealthy } from "./etcd.ts";
import { writeAuditPolicy, writeClusterFiles } from "./files.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { type ClusterLayout, COMPONENTS, type ComponentName, clusterLayout } from "./layout.ts";
import { NODE_IP, SIMULATED_POD_CIDR } from "./node/addresses.ts";
import { ensureNodeBinaries, type NodeBinaries } from "./node/binaries.ts";
import { claimHost, mountsUnder } from "./node/host.ts";
import { nodeLayout } from "./node/layout.ts";
import { type NodeHost, RealNode } from "./node/real-node.ts";
import { nodeManifest, SIMULATED_NODES, type SimulatedNodeSpec } from "./nodes.ts";
import { freePorts } from "./ports.ts";
import { isRunning, killProcessGroupSync, launchDetached, type ProcessRecord, stopProcessGroup } from "./process.ts";
import { type ClusterState, readState, writeState } from "./state.ts";
import { HarnessError, waitForReady } from "./wait.ts";

export type Log = (line: string) => void;

export interface StartOptions {
  readonly dir: string;
  readonly k8sVersion: string;
  readonly log?: Log;
  /** Kill the cluster if this process dies without stopping it (test runs); unset for `make cluster`. */
  readonly ownerPid?: number;
  /** Upper bound for the whole start, binaries already built. */
  readonly timeoutMs?: number;
  /** Called before the first process starts, so an exit handler can kill a cluster that is still starting. */
  readonly onLaunching?: (cluster: ControlPlane) => void;
  /** Also a real worker node (kubelet, containerd, kube-proxy, cluster DNS, local registry); root only. */
  readonly realNode?: boolean;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface NodeLike {
  metadata?: { name?: string };
  spec?: { taints?: { key?: string }[] };
  status?: { conditions?: { type?: string; status?: string }[] };
}

const WATCHDOG = resolve(import.meta.dir, "watchdog.sh");
/** Components that only talk to the API server; restarted with it (see launchApiServer). */
const API_CLIENTS = ["kube-controller-manager", "kube-scheduler", "kwok"] as const;

function nodeIsReady(node: NodeLike): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Taints the node lifecycle controller sets while a node is not Ready, and lifts a moment after it is. */
const NOT_READY_TAINTS = new Set(["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]);

/** Ready, and the controller has caught up: no not-ready taint left to keep new pods off it. */
function nodeIsSchedulable(node: NodeLike): boolean {
  return nodeIsReady(node) && !(node.spec?.taints ?? []).some((t) => NOT_READY_TAINTS.has(t.key ?? ""));
}

export class ControlPlane {
  private constructor(
    readonly layout: ClusterLayout,
    private readonly state: ClusterState,
    readonly api: AdminApi,
    readonly caPem: string,
    private readonly log: Log,
  ) {
    this.realNode = state.node ? new RealNode(nodeLayout(layout.dir), state.node) : undefined;
  }

  /** The real worker node, when the cluster was started with one. */
  readonly realNode: RealNode | undefined;

  /** Serializes lifecycle changes: a test that timed out may still be restarting while the next one revives. */
  private queue: Promise<unknown> = Promise.resolve();
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  get server(): string {
    return this.state.server;
  }
  get k8sVersion(): string {
    return this.state.k8sVersion;
  }
  get kubeconfigPath(): string {
    return this.layout.adminKubeconfig;
  }
  get kubectlBinary(): string {
    return this.state.binaries.kubectl;
  }
  get processes(): Readonly<Partial<Record<ComponentName, ProcessRecord>>> {
    return this.state.processes;
  }

  /** Starts a new cluster in opts.dir (which must not hold one). Cleans up its processes if the start fails. */
  static async start(opts: StartOptions): Promise<ControlPlane> {
    const dir = resolve(opts.dir);
    if (await Bun.file(clusterLayout(dir).stateFile).exists()) {
      throw new Error(`${dir} already holds a cluster (state.json); stop it first (bun hack/cluster.ts down)`);
    }
    if (opts.realNode && process.getuid?.() !== 0) {
      throw new Error(
        "a real node needs root (kubelet, containerd, the pod network, an address on lo): run as root, " +
          "or leave SCONE_REAL_NODE unset for the KWOK nodes only",
      );
    }
    const binaries = await ensureBinaries(opts.k8sVersion, opts.log ?? (() => {}));
    const nodeBinaries = opts.realNode ? await ensureNodeBinaries(opts.k8sVersion, opts.log ?? (() => {})) : undefined;
    // A free port is free when asked, not necessarily when the component binds it: another cluster starting at
    // the same moment may take it. Such a start is repeated with new ports.
    for (let attempt = 1; ; attempt++) {
      try {
        return await ControlPlane.startOnce(opts, dir, binaries, nodeBinaries);
      } catch (error) {
        if (attempt >= 3 || !String(error).includes("address already in use")) throw error;
        opts.log?.(`a port was taken meanwhile; starting again with new ports`);
        await rm(dir, { recursive: true, force: true });
      }
    }
  }

  private static async startOnce(
    opts: StartOptions,
    dir: string,
    binaries: KubeBinaries,
    nodeBinaries: NodeBinaries | undefined,
  ): Promise<ControlPlane> {
    const log = opts.log ?? (() => {});
    const began = performance.now();
    const elapsed = () => `${((performance.now() - began) / 1000).toFixed(1)}s`;
    const layout = clusterLayout(dir);

    const [etcdClient, etcdPeer, apiserver, kwok] = await freePorts(4);
    const ports: ClusterPorts = { etcdClient: etcdClient!, etcdPeer: etcdPeer!, apiserver: apiserver!, kwok: kwok! };
    // A real node's pods reach the API server at the node's address; without one it stays on loopback.
    const network: ClusterNetwork = nodeBinaries
      ? { apiserverAddress: NODE_IP, inClusterEndpoints: true, simulatedPodCidr: SIMULATED_POD_CIDR }
      : LOOPBACK_NETWORK;
    const server = `https://${network.apiserverAddress}:${ports.apiserver}`;
    const pki = await writeClusterFiles(layout, binaries, server, nodeBinaries ? [NODE_IP] : []);
    const state: ClusterState = {
      format: 1,
      k8sVersion: opts.k8sVersion,
      server,
      ports,
      binaries,
      startedAt: new Date().toISOString(),
      processes: {},
      ...(nodeBinaries ? { network, node: await RealNode.newState(nodeBinaries) } : {}),
    };
    const api = new AdminApi(server, {
      caPem: pki.caCertPem,
      certPem: pki.certs.admin.certPem,
      keyPem: pki.certs.admin.keyPem,
    });
    const cluster = new ControlPlane(layout, state, api, pki.caCertPem, log);
    opts.onLaunching?.(cluster);
    const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
    try {
      if (opts.ownerPid !== undefined) await cluster.startWatchdog(opts.ownerPid);
      if (cluster.realNode) {
        await claimHost(cluster.realNode.layout, dir, cluster.realNode.state.binaries.kubeProxy, (owner) =>
          ControlPlane.isLive(owner),
        );
      }
      await cluster.startComponent("etcd");
      await cluster.waitFor("etcd to answer /health", deadline, () => etcdHealthy(etcdClientUrl(ports)), ["etcd"]);
      log(`etcd up (${elapsed()})`);
      await cluster.startComponent("kube-apiserver");
      await cluster.waitFor("kube-apiserver /readyz", deadline, () => api.ready(), ["etcd", "kube-apiserver"]);
      log(`kube-apiserver ready at ${server} (${elapsed()})`);
      await cluster.startComponent("kube-controller-manager");
      await cluster.startComponent("kube-scheduler");
      await cluster.createNodes(SIMULATED_NODES, deadline);
      await cluster.installKwokCrds(deadline);
      await cluster.startComponent("kwok");
      await cluster.waitFor("the default ServiceAccount", deadline, async () => {
        const reply = await api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default");
        return reply.status === 200;
      });
      await cluster.waitForSimulatedNodes(deadline);
      // The node has its own time budget: containerd, images, DNS and kubelet come on top of the control plane.
      await cluster.realNode?.start(cluster.nodeHost(), Date.now() + (opts.timeoutMs ?? 180_000));
      const nodes = SIMULATED_NODES.length + (cluster.realNode ? 1 : 0);
      log(`cluster ready: ${nodes} nodes, Kubernetes ${opts.k8sVersion} (${elapsed()})`);
      return cluster;
    } catch (error) {
      await cluster.realNode?.stop(() => cluster.saveState());
      await cluster.stopComponents();
      if (cluster.state.watchdog) await stopProcessGroup(cluster.state.watchdog, 1000);
      throw error;
    }
  }

  /** The cluster recorded in dir, or undefined when there is none. Does not judge its health. */
  static async attach(dir: string, log: Log = () => {}): Promise<ControlPlane | undefined> {
    const layout = clusterLayout(resolve(dir));
    const state = await readState(layout.stateFile);
    if (!state) return undefined;
    const [caPem, certPem, keyPem] = await Promise.all(
      [layout.pki.caCert, layout.pki.cert("admin"), layout.pki.key("admin")].map((file) => readFile(file, "utf8")),
    );
    const api = new AdminApi(state.server, { caPem: caPem!, certPem: certPem!, keyPem: keyPem! });
    return new ControlPlane(layout, state, api, caPem!, log);
  }

  /** True when the cluster recorded in dir still has a running process (another real node's owner, say). */
  static async isLive(dir: string): Promise<boolean> {
    const state = await readState(clusterLayout(resolve(dir)).stateFile).catch(() => undefined);
    const records = [...Object.values(state?.processes ?? {}), ...Object.values(state?.node?.processes ?? {})];
    return records.some((record) => record !== undefined && isRunning(record));
  }

  /** Problems found: a component not running, the API server not ready. Empty when healthy. */
  async problems(): Promise<string[]> {
    const found: string[] = [];
    for (const name of COMPONENTS) {
      const record = this.state.processes[name];
      if (!record || !isRunning(record)) found.push(`${name} is not running`);
    }
    found.push(...(this.realNode?.problems() ?? []));
    if (found.length === 0 && !(await this.api.ready())) found.push(`kube-apiserver ${this.server}/readyz is not ok`);
    return found;
  }

  /** Waits for a restart in progress (e.g. of a test that timed out), so the call meets a serving cluster. */
  async kubectl(args: string[], opts: { stdin?: string } = {}): Promise<KubectlResult> {
    await this.queue;
    const child = Bun.spawn([this.kubectlBinary, `--kubeconfig=${this.kubeconfigPath}`, ...args], {
      stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, KUBECONFIG: this.kubeconfigPath },
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr };
  }

  async stopComponent(name: ComponentName, graceMs = 2000): Promise<void> {
    const record = this.state.processes[name];
    if (!record) return;
    // kube-apiserver stops listening at once on SIGTERM but then drains open watches for up to a minute; every
    // component's state lives in etcd, so a short grace period loses nothing.
    await stopProcessGroup(record, graceMs);
    delete this.state.processes[name];
    await this.saveState();
  }

  async startComponent(name: ComponentName): Promise<void> {
    if (name === "kube-apiserver") await writeAuditPolicy(this.layout);
    const spec: ComponentSpec = componentSpecs(this.state.binaries, this.layout, this.state.ports, this.state.network)[
      name
    ];
    const record = launchDetached({
      binary: spec.binary,
      args: spec.args,
      env: spec.env,
      logFile: this.layout.log(name),
      cwd: this.layout.dir,
    });
    this.state.processes[name] = record;
    await this.saveState();
  }

  stopApiServer(): Promise<void> {
    return this.exclusive(() => this.stopComponent("kube-apiserver"));
  }

  /** Starts kube-apiserver again on its recorded port; resolves once /readyz is ok. */
  startApiServer(): Promise<void> {
    return this.exclusive(() => this.launchApiServer());
  }

  restartApiServer(): Promise<void> {
    return this.exclusive(() => this.restartApiServerNow());
  }

  private async restartApiServerNow(): Promise<void> {
    await Promise.all((["kube-apiserver", ...API_CLIENTS] as const).map((name) => this.stopComponent(name, 1000)));
    await this.launchApiServer();
  }

  private async launchApiServer(timeoutMs = 90_000): Promise<void> {
    const record = this.state.processes["kube-apiserver"];
    if (record && isRunning(record)) return;
    const began = Date.now();
    const deadline = began + timeoutMs;
    await this.startComponent("kube-apiserver");
    await this.waitFor("kube-apiserver /readyz after restart", deadline, () => this.api.ready(), [
      "etcd",
      "kube-apiserver",
    ]);
    // Their watches would reconnect by themselves, but with client-go's backoff, which grows with every outage
    // (measured: 1.5 s, 13 s, 55 s for three restarts in a row): fresh processes resume at once. They keep no state
    // of their own, all of it is in etcd.
    const ready = Date.now();
    await Promise.all(API_CLIENTS.map((name) => this.stopComponent(name, 1000)));
    await this.releaseNodeLeases(deadline);
    for (const name of API_CLIENTS) await this.startComponent(name);
    await this.waitForControllerManager(deadline);
    await this.waitForKwokLeases(deadline);
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    this.log(
      `kube-apiserver ready again after ${seconds(ready - began)}, controllers serving after ${seconds(Date.now() - ready)}`,
    );
  }

  /**
   * After an API-server restart the controller-manager's watches reconnect with backoff; until they do, a new
   * namespace gets no `default` ServiceAccount and pods in it are refused. A probe namespace shows when it is back.
   */
  private async waitForControllerManager(deadline: number): Promise<void> {
    const name = `scone-harness-probe-${crypto.randomUUID().slice(0, 8)}`;
    await this.waitFor(`probe namespace ${name} to be created`, deadline, async () => {
      const created = await this.api.request("POST", "/api/v1/namespaces", { metadata: { name } });
      return created.status === 201 || created.status === 409; // 409: an earlier attempt's answer was lost
    });
    await this.waitFor(
      "kube-controller-manager to serve again (default ServiceAccount of a new namespace)",
      deadline,
      async () => {
        const reply = await this.api.request("GET", `/api/v1/namespaces/${name}/serviceaccounts/default`);
        return reply.status === 200;
      },
    );
    await this.api.request("DELETE", `/api/v1/namespaces/${name}`).catch(() => undefined);
  }

  /**
   * After releaseNodeLeases, the Leases kwok creates again show that the new kwok manages the simulated nodes:
   * until then a new pod stays Pending and a node's status is nobody's (measured: up to 40 s without the release).
   */
  private async waitForKwokLeases(deadline: number): Promise<void> {
    await this.waitFor(`kwok to renew the Leases of ${SIMULATED_NODES.length} simulated nodes`, deadline, async () => {
      const reply = await this.api.request("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
      const leases = (reply.body as { items?: { metadata?: { name?: string }; spec?: { holderIdentity?: string } }[] })
        .items;
      const held = new Set((leases ?? []).filter((l) => l.spec?.holderIdentity).map((l) => l.metadata?.name));
      return SIMULATED_NODES.every((node) => held.has(node.name));
    });
  }

  /**
   * Compacts etcd to its current revision and restarts kube-apiserver, after which any older resourceVersion
   * answers 410 Gone (watch: "too old resource version"; exact list: Expired). The restart is needed because the
   * API server's watch cache keeps serving recent history from memory after etcd forgot it; in a real cluster
   * clients meet the same 410 when they reconnect to a restarted or lagging API server.
   */
  compactEtcd(): Promise<number> {
    return this.exclusive(async () => {
      const revision = await compactToCurrentRevision(etcdClientUrl(this.state.ports));
      await this.restartApiServerNow();
      return revision;
    });
  }

  /** Writes a kubeconfig holding a bound token (TokenRequest, 1 h) of that ServiceAccount and returns its path. */
  async serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
    await this.queue;
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`;
    const reply = await this.api.request("POST", path, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 3600 },
    });
    const token = (reply.body as { status?: { token?: string } }).status?.token;
    if (reply.status !== 201 || !token) {
      throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} answered ${reply.status}`);
    }
    await mkdir(this.layout.serviceAccountKubeconfigs, { recursive: true, mode: 0o700 });
    const file = join(this.layout.serviceAccountKubeconfigs, `${namespace}.${name}.kubeconfig`);
    await writeKubeconfig(file, {
      name: `system:serviceaccount:${namespace}:${name}`,
      server: this.server,
      caPem: this.caPem,
      credentials: { token },
      namespace,
    });
    return file;
  }

  /** Stops every process and removes the cluster directory. */
  stop(): Promise<void> {
    return this.exclusive(async () => {
      await this.realNode?.stop(() => this.saveState());
      await this.stopComponents();
      // Never through a mount the teardown could not remove (a volume could be a host directory).
      const mounted = mountsUnder(this.layout.dir);
      if (mounted.length > 0) throw new Error(`not removing ${this.layout.dir}: still mounted: ${mounted.join(", ")}`);
      // The directory goes before the watchdog: should this process die in between, the watchdog still cleans up.
      await rm(this.layout.dir, { recursive: true, force: true });
      if (this.state.watchdog) await stopProcessGroup(this.state.watchdog, 1000);
    });
  }

  /**
   * Starts again whatever component is no longer running (killed from outside, e.g. by bun's test runner, which
   * kills the child processes of a test that timed out), in dependency order, on the same ports and data.
   */
  revive(): Promise<ComponentName[]> {
    return this.exclusive(() => this.reviveNow());
  }

  private async reviveNow(): Promise<ComponentName[]> {
    const dead = await this.reviveControlPlane();
    const deadOnNode = this.realNode ? await this.realNode.revive(this.nodeHost()) : [];
    if (deadOnNode.length > 0) this.log(`restarted on the real node: ${deadOnNode.join(", ")}`);
    return dead;
  }

  private async reviveControlPlane(): Promise<ComponentName[]> {
    const dead = COMPONENTS.filter((name) => {
      const record = this.state.processes[name];
      return !record || !isRunning(record);
    });
    if (dead.length === 0) return dead;
    this.log(`restarting ${dead.join(", ")}`);
    if (dead.includes("etcd")) {
      await this.stopComponent("etcd"); // the rest of its process group, if any
      await this.startComponent("etcd");
      const healthy = () => etcdHealthy(etcdClientUrl(this.state.ports));
      await this.waitFor("etcd /health", Date.now() + 60_000, healthy, ["etcd"]);
    }
    if (dead.includes("kube-apiserver")) {
      // Restarts the API clients as well, as after any apiserver restart (see launchApiServer).
      await this.stopComponent("kube-apiserver");
      await this.launchApiServer();
    } else {
      for (const name of API_CLIENTS.filter((client) => dead.includes(client))) {
        await this.stopComponent(name);
        const deadline = Date.now() + 60_000;
        if (name === "kwok") await this.releaseNodeLeases(deadline);
        await this.startComponent(name);
        if (name === "kwok") await this.waitForKwokLeases(deadline);
      }
    }
    if (this.state.watchdog && !isRunning(this.state.watchdog) && this.state.ownerPid !== undefined) {
      await this.startWatchdog(this.state.ownerPid);
    }
    return dead;
  }

  /**
   * The four simulated nodes as the harness made them, all Ready: one a test deleted is created again, and one
   * created again (by the harness or by a test's cleanup) is waited for, so the next test file meets the nodes
   * every file expects. Labels and annotations are the tests' own business and stay as they are.
   */
  async ensureSimulatedNodes(timeoutMs = 90_000): Promise<void> {
    await this.queue;
    const deadline = Date.now() + timeoutMs;
    let present = new Set<string | undefined>();
    await this.waitFor("the list of nodes", deadline, async () => {
      const listed = await this.api.request("GET", "/api/v1/nodes");
      present = new Set(((listed.body as { items?: NodeLike[] }).items ?? []).map((n) => n.metadata?.name));
      return listed.status === 200;
    });
    await this.createNodes(
      SIMULATED_NODES.filter((spec) => !present.has(spec.name)),
      deadline,
    );
    await this.waitForSimulatedNodes(deadline);
  }

  /** Until every harness node is Ready and the controller has lifted its not-ready taints. */
  private async waitForSimulatedNodes(deadline: number): Promise<void> {
    const what = `the ${SIMULATED_NODES.length} simulated nodes to be Ready, without not-ready taints`;
    await this.waitFor(what, deadline, async () => {
      const reply = await this.api.request("GET", "/api/v1/nodes");
      const items = (reply.body as { items?: NodeLike[] }).items ?? [];
      const ready = new Set(items.filter(nodeIsSchedulable).map((node) => node.metadata?.name));
      return SIMULATED_NODES.every((spec) => ready.has(spec.name));
    });
  }

  /** Last resort from a process `exit` handler: SIGKILL every group, synchronously. */
  killSync(): void {
    for (const record of Object.values(this.state.processes)) if (record) killProcessGroupSync(record);
    for (const record of Object.values(this.state.node?.processes ?? {})) if (record) killProcessGroupSync(record);
  }

  /**
   * For SIGINT/SIGTERM: SIGKILL every group and remove the directory at once, without waiting for a lifecycle
   * change in progress. The watchdog exits by itself when it sees the directory gone.
   */
  destroySync(): void {
    this.killSync();
    this.realNode?.destroySync();
    if (mountsUnder(this.layout.dir).length === 0) rmSync(this.layout.dir, { recursive: true, force: true });
  }

  /** What the real node needs of this control plane. */
  private nodeHost(): NodeHost {
    return {
      server: this.server,
      caPem: this.caPem,
      caCertFile: this.layout.pki.caCert,
      caKeyFile: this.layout.pki.caKey,
      api: this.api,
      save: () => this.saveState(),
      log: this.log,
    };
  }

  private async stopComponents(): Promise<void> {
    // Dependents first, etcd last, so nothing logs a storm of connection errors on the way down.
    for (const name of [...COMPONENTS].reverse()) await this.stopComponent(name);
  }

  private async startWatchdog(ownerPid: number): Promise<void> {
    this.state.ownerPid = ownerPid;
    this.state.watchdog = launchDetached({
      binary: "/bin/sh",
      args: [WATCHDOG, String(ownerPid), this.layout.dir],
      logFile: "/dev/null",
      cwd: "/",
    });
  }

  private async saveState(): Promise<void> {
    await writeState(this.layout.stateFile, this.state);
    const records = [...Object.values(this.state.processes), ...Object.values(this.state.node?.processes ?? {})];
    const groups = records.map((record) => record?.pid);
    await writeFile(this.layout.pidsFile, `${groups.filter((pid) => pid !== undefined).join("\n")}\n`);
  }

  /** kwok watches PortForward objects from its start, so their CRD must be served before kwok runs. */
  private async installKwokCrds(deadline: number): Promise<void> {
    const { kwokPortForwardCrd, kwokLogsCrd, kwokExecCrd } = this.state.binaries;
    for (const file of [kwokPortForwardCrd, kwokLogsCrd, kwokExecCrd]) await this.installKwokCrd(file, deadline);
  }

  private async installKwokCrd(file: string, deadline: number): Promise<void> {
    const crd = parse((await readFile(file, "utf8")).replace(/^---\n/, "")) as {
      metadata: { name: string };
    };
    const path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    await this.waitFor(`kwok's CRD ${crd.metadata.name} to be created`, deadline, async () => {
      const created = await this.api.request("POST", path, crd);
      if (created.status === 201 || created.status === 409) return true;
      // Only a refusal is final; a timeout or a server still starting is tried again.
      if (created.status === 400 || created.status === 422) {
        throw new HarnessError(
          `installing kwok's CRD ${crd.metadata.name} answered ${created.status}: ${JSON.stringify(created.body)}`,
        );
      }
      return false;
    });
    await this.waitFor(`kwok's CRD ${crd.metadata.name} to be established`, deadline, async () => {
      const reply = await this.api.request("GET", `${path}/${crd.metadata.name}`);
      const conditions = (reply.body as { status?: { conditions?: { type: string; status: string }[] } }).status;
      return conditions?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
    });
  }

  /**
   * A new kwok process has a new holder identity and leaves nodes alone while their Leases are held by the
   * previous one (40 s): measured, a pod stayed Pending that long after a restart. Nothing else holds node Leases
   * here, so they can go; the new kwok creates them within a second.
   */
  private async releaseNodeLeases(deadline: number): Promise<void> {
    await this.waitFor("the node Leases to be deleted", deadline, async () => {
      const path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
      return (await this.api.request("DELETE", path)).status === 200;
    });
  }

  /** Creates the nodes (one that exists already is fine), trying again until the deadline on errors. */
  private async createNodes(specs: readonly SimulatedNodeSpec[], deadline: number): Promise<void> {
    for (const spec of specs) {
      await this.waitFor(`node ${spec.name} to be created`, deadline, async () => {
        const reply = await this.api.request("POST", "/api/v1/nodes", nodeManifest(spec));
        if (reply.status === 201 || reply.status === 409) return true;
        if (reply.status === 400 || reply.status === 422) {
          throw new HarnessError(`creating node ${spec.name} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
        }
        return false;
      });
    }
  }

  /** Polls check until true; fails fast with the log tail of a watched component that exits meanwhile. */
  private waitFor(
    what: string,
    deadline: number,
    check: () => Promise<boolean>,
    watched: readonly ComponentName[] = COMPONENTS,
  ): Promise<void> {
    return waitForReady(what, deadline, check, () =>
      watched.map((name) => ({ name, record: this.state.processes[name], logFile: this.layout.log(name) })),
    );
  }
}
