// A simulated CAS pod (KWOK node, sim/kwok-cas) made reachable at its pod IP, as a real pod would be: the in-cluster
// operator on the real node reaches CAS through the CAS Service (kube-proxy → the pod IP), not through port-forwards.
// The pod IP goes on lo (RealNodeHandle.exposeSimulatedPod); listeners on it at the pod's ports pass each connection
// to the simulator's loopback port that the pod's kwok PortForward names at that moment. A re-created pod (new IP)
// or a restarted simulator (new port) is followed by polling.
import type { TCPSocketListener } from "bun";
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import type { RealNodeHandle } from "./cluster.ts";
import { connectUpstream, type Pair } from "./kube.ts";

interface PortForwardView extends KubeObject {
  spec?: { forwards?: { ports?: number[]; target?: { address?: string; port?: number } }[] };
}

/** One TCP listener on host:port; `target()` is asked for each connection. */
function passThrough(
  hostname: string,
  port: number,
  target: () => { host: string; port: number } | undefined,
  onConnection: () => void,
): TCPSocketListener<Pair> {
  return Bun.listen<Pair>({
    hostname,
    port,
    socket: {
      open(client) {
        onConnection();
        const to = target();
        if (!to) {
          client.end(); // like a refused connection while the CAS is not running
          return;
        }
        const pair: Pair = { client, pending: [] };
        client.data = pair;
        connectUpstream(pair, to.host, to.port);
      },
      data(client, chunk) {
        const pair = client.data;
        if (pair.upstream) pair.upstream.write(chunk);
        else pair.pending.push(new Uint8Array(chunk));
      },
      close: (client) => void client.data?.upstream?.end(),
      error: (client) => void client.data?.upstream?.end(),
    },
  });
}

/**
 * The pod IPs on lo, shared by every bridge of this process: KWOK may give a new pod the IP a deleted pod of another
 * bridge had, and that bridge's `ip addr del` (it follows its pod a round later) must not take the address away from
 * the new one. The address stays until the last bridge using it lets go.
 */
const exposed = new Map<string, { users: number; undo: () => Promise<void> }>();

async function expose(node: Pick<RealNodeHandle, "exposeSimulatedPod">, ip: string): Promise<() => Promise<void>> {
  const held = exposed.get(ip);
  if (held) held.users++;
  else exposed.set(ip, { users: 1, undo: await node.exposeSimulatedPod(ip) });
  let released = false;
  return async () => {
    const entry = exposed.get(ip);
    if (released || !entry) return;
    released = true;
    if (--entry.users > 0) return;
    exposed.delete(ip);
    await entry.undo();
  };
}

export class SimulatedPodBridge {
  private ip = "";
  private undo: (() => Promise<void>) | undefined;
  private listeners: TCPSocketListener<Pair>[] = [];
  private targets = new Map<number, { host: string; port: number }>();
  private stopped = false;
  /** Connections made to the pod IP so far (from the real node's pods: nothing else routes there). */
  connections = 0;
  private readonly loop: Promise<void>;

  constructor(
    private readonly admin: KubeClient,
    private readonly node: Pick<RealNodeHandle, "exposeSimulatedPod">,
    private readonly namespace: string,
    private readonly pod: string,
  ) {
    this.loop = this.follow();
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.sync();
      } catch {
        // The pod or its PortForward is between versions: try again on the next round.
      }
      await Bun.sleep(250);
    }
  }

  private async sync(): Promise<void> {
    const ref = { namespace: this.namespace, name: this.pod };
    const pod = await this.admin.tryGet<KubeObject & { status?: { podIP?: string } }>({
      apiVersion: "v1",
      kind: "Pod",
      ...ref,
    });
    const forward = await this.admin.tryGet<PortForwardView>({
      apiVersion: "kwok.x-k8s.io/v1alpha1",
      kind: "PortForward",
      ...ref,
    });
    const targets = new Map<number, { host: string; port: number }>();
    for (const f of forward?.spec?.forwards ?? [])
      for (const p of f.ports ?? [])
        if (f.target?.port) targets.set(p, { host: f.target.address ?? "127.0.0.1", port: f.target.port });
    const ip = pod?.metadata?.deletionTimestamp ? "" : (pod?.status?.podIP ?? "");
    const samePorts = [...targets.keys()].sort().join() === [...this.targets.keys()].sort().join();
    this.targets = targets;
    if (ip === this.ip && samePorts) return;
    await this.unbind();
    if (!ip || targets.size === 0) return;
    this.undo = await expose(this.node, ip);
    try {
      for (const port of targets.keys())
        this.listeners.push(
          passThrough(
            ip,
            port,
            () => this.targets.get(port),
            () => this.connections++,
          ),
        );
    } catch (e) {
      // The address is still another bridge's, whose pod had it (that bridge lets go on its next round): bound
      // again on the next round, instead of staying without listeners because the IP looked unchanged.
      await this.unbind();
      throw e;
    }
    this.ip = ip;
  }

  private async unbind(): Promise<void> {
    for (const l of this.listeners) l.stop(true);
    this.listeners = [];
    await this.undo?.();
    this.undo = undefined;
    this.ip = "";
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.unbind();
  }
}
