// Shared by the integration tests of every folder: a client on the test cluster, polling, and a TCP proxy the test can
// cut so an informer loses its watch while the test keeps writing through its own direct connection.
import { afterAll, beforeAll } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { KubeClient } from "../../src/kube/client.ts";
import { loadKubeConfig } from "../../src/kube/config.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { type LocalCluster, sharedCluster } from "./cluster.ts";

export async function adminClient(cluster: LocalCluster): Promise<KubeClient> {
  return KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
}

export async function waitFor<T>(
  what: string,
  // false counts as "not yet" like undefined, so predicates can be returned as they are.
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}

/**
 * Until the API server can call the admission webhooks that match `probe`: a dry-run create of it answers without
 * "failed calling webhook" (a refusal by the webhook counts: it answered). An install without --wait returns before
 * the operator has filled caBundle and listens; an empty caBundle reads as "x509: certificate signed by unknown
 * authority".
 */
export async function waitForWebhooksAdmit(client: KubeClient, probe: KubeObject, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `the admission webhooks to answer for ${probe.kind} ${probe.metadata?.namespace ?? ""}/${probe.metadata?.name ?? ""}`,
    async () => {
      try {
        await client.create(probe, { dryRun: true });
        return true;
      } catch (e) {
        if (/failed calling webhook|no endpoints available|connection refused/i.test(String(e))) throw e;
        return true;
      }
    },
    timeoutMs,
  );
}

export async function freshNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  // Pods are refused until the controller-manager has made the namespace's default ServiceAccount.
  await waitFor(`serviceaccount ${name}/default`, () =>
    client.tryGet({ apiVersion: "v1", kind: "ServiceAccount", namespace: name, name: "default" }),
  );
  return name;
}

export interface TestEnv {
  cluster: LocalCluster;
  admin: KubeClient;
  ns: string;
}

/** Inside a describe: the shared cluster, an admin client and a namespace of this suite's own (deleted after). */
export function useTestNamespace(prefix: string): TestEnv {
  const env = {} as TestEnv;
  beforeAll(async () => {
    env.cluster = await sharedCluster();
    env.admin = await adminClient(env.cluster);
    env.ns = await freshNamespace(env.admin, prefix);
  }, 300_000);
  afterAll(async () => {
    await env.admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: env.ns }).catch(() => false);
  }, 60_000);
  return env;
}

export interface Pair {
  upstream?: Socket<Pair>;
  pending: Uint8Array[];
  client: Socket<Pair>;
}

/**
 * Connects a pair's client to host:port: what the client sent meanwhile (`pending`) goes first, the answers go back,
 * and the client is ended when the upstream ends or cannot be reached. `onClose` runs when the upstream closes.
 */
export function connectUpstream(pair: Pair, hostname: string, port: number, onClose?: () => void): void {
  void Bun.connect<Pair>({
    hostname,
    port,
    data: pair,
    socket: {
      open(up) {
        pair.upstream = up;
        for (const chunk of pair.pending) up.write(chunk);
        pair.pending = [];
      },
      data(_up, chunk) {
        pair.client.write(chunk);
      },
      close() {
        pair.client.end();
        onClose?.();
      },
      error() {
        pair.client.end();
      },
    },
  }).catch(() => pair.client.end());
}

/** A TCP pass-through to the API server. block() drops every connection and refuses new ones until unblock(). */
export class CuttableProxy {
  private blocked = false;
  private readonly pairs = new Set<Pair>();
  private readonly listener: TCPSocketListener<Pair>;

  constructor(upstreamHost: string, upstreamPort: number) {
    const pairs = this.pairs;
    const self = this;
    this.listener = Bun.listen<Pair>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(client) {
          if (self.blocked) {
            client.end();
            return;
          }
          const pair: Pair = { client, pending: [] };
          client.data = pair;
          pairs.add(pair);
          connectUpstream(pair, upstreamHost, upstreamPort, () => pairs.delete(pair));
        },
        data(client, chunk) {
          const pair = client.data;
          if (pair.upstream) pair.upstream.write(chunk);
          else pair.pending.push(new Uint8Array(chunk));
        },
        close(client) {
          client.data?.upstream?.end();
          if (client.data) pairs.delete(client.data);
        },
        error(client) {
          client.data?.upstream?.end();
        },
      },
    });
  }

  get port(): number {
    return this.listener.port;
  }

  block(): void {
    this.blocked = true;
    for (const p of this.pairs) {
      p.client.end();
      p.upstream?.end();
    }
    this.pairs.clear();
  }

  unblock(): void {
    this.blocked = false;
  }

  stop(): void {
    this.block();
    this.listener.stop(true);
  }
}

/** A client that reaches the cluster through `proxy` (same CA and client certificate). */
export async function clientThrough(cluster: LocalCluster, proxy: CuttableProxy): Promise<KubeClient> {
  const conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
  // The serving certificate names 127.0.0.1; an IP match does not depend on the port.
  return KubeClient.fromConnection({ ...conn, server: `https://127.0.0.1:${proxy.port}` });
}
