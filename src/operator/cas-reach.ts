// How the operator reaches a CAS's client API. In a pod: the CAS Service (DNS). As a local process (development,
// KWOK clusters, an operator run outside the cluster): a port-forward to NAME-0 through the API server, the way
// the CLI and upstream's `kubectl provision` reach it. One local listener per CAS is kept open between probes
// (every connection opens its own tunnel, so the listener outlives pod restarts); a listener unused for a while
// (its CAS was deleted or moved out of reach) is closed, and all of them when the operator stops.
import type { KubeClient } from "../kube/client.ts";
import type { PortForward, PortForwardOptions } from "../kube/port-forward.ts";
import type { CAS } from "../resources/cas.ts";
import type { CasAddress } from "./cas/client-probe.ts";
import { names } from "./cas/names.ts";

/** The CAS renderer uses spec.service.clientPort as the container port too. */
const DEFAULT_CLIENT_PORT = 8081;
/** Several probe periods: a healthy CAS is probed far more often than this. */
const DEFAULT_IDLE_MS = 10 * 60_000;

export type OpenPortForward = (target: PortForwardOptions) => Promise<PortForward>;

export interface CasPortForwardsOptions {
  readonly idleMs?: number;
  readonly now?: () => number;
  /** Opens a listener (default: src/kube/port-forward.ts over the client's connection). */
  readonly open?: OpenPortForward;
}

interface Entry {
  readonly forward: Promise<PortForward>;
  lastUsedMs: number;
}

export class CasPortForwards {
  private readonly entries = new Map<string, Entry>();
  private readonly idleMs: number;
  private readonly now: () => number;
  private readonly open: OpenPortForward;

  constructor(client: KubeClient, options: CasPortForwardsOptions = {}) {
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.now = options.now ?? Date.now;
    this.open =
      options.open ??
      (async (target) => {
        const { startPortForward } = await import("../kube/port-forward.ts");
        return startPortForward(client.transport.connection, target);
      });
  }

  /** Listeners open now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** The CasProbe's address resolver: the CAS's listener, opened on first use. */
  readonly resolve = async (cas: CAS, _signal: AbortSignal): Promise<CasAddress> => {
    await this.closeIdle();
    const target = {
      namespace: cas.metadata.namespace ?? "",
      pod: `${names(cas.metadata.name ?? "").statefulSet}-0`,
      port: cas.spec?.service?.clientPort ?? DEFAULT_CLIENT_PORT,
    };
    const key = `${target.namespace}/${target.pod}:${target.port}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { forward: this.open(target), lastUsedMs: this.now() };
      this.entries.set(key, entry);
    }
    entry.lastUsedMs = this.now();
    let forward: PortForward;
    try {
      forward = await entry.forward;
    } catch (err) {
      // A listener that could not open is not kept: the next probe tries again.
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw err;
    }
    // The CAS certificate names localhost (the owner config lists it), not the loopback IP.
    return { url: `https://127.0.0.1:${forward.localPort}`, serverName: "localhost" };
  };

  async closeIdle(): Promise<void> {
    const cutoff = this.now() - this.idleMs;
    const idle = [...this.entries].filter(([, e]) => e.lastUsedMs < cutoff);
    for (const [key] of idle) this.entries.delete(key);
    await Promise.all(idle.map(([, e]) => closeQuietly(e.forward)));
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => closeQuietly(e.forward)));
  }
}

async function closeQuietly(forward: Promise<PortForward>): Promise<void> {
  try {
    await (await forward).close();
  } catch {
    // Never opened, or already gone: nothing to close.
  }
}
