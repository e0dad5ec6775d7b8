// `kubectl port-forward` in-process: a local TCP listener whose every connection is tunnelled to a pod port through
// the API server (pods/NAME/portforward?ports=P), one WebSocket per connection. This is how scone reaches a CAS from
// outside the cluster, where the Service's DNS name does not resolve.
//
// Protocol (kubelet's WebSocket port-forward, subprotocol v4.channel.k8s.io; the API server proxies the upgrade to
// the node): channel 0 carries the data, channel 1 the errors of that port; each channel's first two bytes are the
// port number (little endian) and are not data. An error text on channel 1 means the node could not connect to the
// port (e.g. nothing listens there); the local connection is then closed and onError is told.
import type { Socket, TCPSocketListener } from "bun";
import { type ChannelSocket, openChannelSocket } from "./channel-socket.ts";
import type { ClusterConnection } from "./config.ts";
import { Transport } from "./transport.ts";

export const PORT_FORWARD_PROTOCOL = "v4.channel.k8s.io";
const DATA_CHANNEL = 0;
const ERROR_CHANNEL = 1;
const PORT_PREFIX_BYTES = 2;

export interface PortForwardOptions {
  readonly namespace: string;
  readonly pod: string;
  /** The pod's port (container port). */
  readonly port: number;
  /** Local address to listen on; default 127.0.0.1 (never 0.0.0.0 unless asked: the tunnel carries our credentials). */
  readonly localAddress?: string;
  /** Local port; default 0 = any free port (read it from the result). */
  readonly localPort?: number;
  /** Time allowed for each tunnel's WebSocket upgrade (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** A tunnel failed (upgrade refused, node could not reach the port, stream broke). Also kept as `lastError`. */
  readonly onError?: (err: Error) => void;
  /**
   * Check first that the pod exists and is Running, as kubectl does, and fail fast (default false: a forward may be
   * opened before its pod exists and outlive the pod's restarts, since every connection opens its own tunnel).
   */
  readonly checkPod?: boolean;
}

export interface PortForward {
  readonly localAddress: string;
  readonly localPort: number;
  /** Tunnels open right now. */
  readonly activeConnections: number;
  /** The latest tunnel failure, to explain a connection the local client saw closed. */
  readonly lastError: Error | undefined;
  /** Stops listening and closes every tunnel. */
  close(): Promise<void>;
}

/** The node reported a failure for this port (channel 1), e.g. "connection refused". */
export class PortForwardError extends Error {
  override name = "PortForwardError";
}

/** Strips the port prefix (the first PORT_PREFIX_BYTES bytes of a channel), however the bytes were split. */
export class PortPrefixStripper {
  private remaining = PORT_PREFIX_BYTES;
  take(data: Uint8Array): Uint8Array {
    if (this.remaining === 0) return data;
    const skip = Math.min(this.remaining, data.length);
    this.remaining -= skip;
    return data.subarray(skip);
  }
}

interface Tunnel {
  ws?: ChannelSocket;
  /** Client bytes that arrived before the WebSocket was open. */
  early: Uint8Array[];
  /** Pod bytes the local socket has not accepted yet (backpressure). */
  unwritten: Uint8Array[];
  dataPrefix: PortPrefixStripper;
  errorPrefix: PortPrefixStripper;
  errorText: string;
  wsClosed: boolean;
  socketClosed: boolean;
}

type TunnelSocket = Socket<Tunnel>;

function flushToSocket(socket: TunnelSocket): void {
  const t = socket.data;
  while (t.unwritten.length > 0) {
    const chunk = t.unwritten[0] as Uint8Array;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      t.unwritten[0] = chunk.subarray(Math.max(written, 0));
      return; // the rest goes on drain
    }
    t.unwritten.shift();
  }
  if (t.wsClosed) socket.end();
}

/** kubectl's precondition: the pod exists (NotFoundError otherwise) and is Running. */
async function requireRunningPod(conn: ClusterConnection, namespace: string, pod: string): Promise<void> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}`;
  const found = await new Transport(conn).requestJson<{ status?: { phase?: string } }>({ path });
  const phase = found.status?.phase ?? "Unknown";
  if (phase !== "Running") {
    throw new PortForwardError(`port-forward: pod ${namespace}/${pod} is ${phase}, not Running`);
  }
}

export async function startPortForward(conn: ClusterConnection, opts: PortForwardOptions): Promise<PortForward> {
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
    throw new RangeError(`port-forward: port ${opts.port} is not a TCP port (1-65535)`);
  }
  if (opts.checkPod === true) await requireRunningPod(conn, opts.namespace, opts.pod);
  const localAddress = opts.localAddress ?? "127.0.0.1";
  let lastError: Error | undefined;
  const report = (err: Error) => {
    lastError = err;
    opts.onError?.(err);
  };
  const live = new Set<TunnelSocket>();
  const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(opts.pod)}/portforward`;

  const openTunnel = (socket: TunnelSocket) => {
    const t = socket.data;
    openChannelSocket(
      conn,
      {
        path,
        query: [["ports", String(opts.port)]],
        protocols: [PORT_FORWARD_PROTOCOL],
        timeoutMs: opts.connectTimeoutMs,
      },
      {
        onFrame(channel, data) {
          if (channel === DATA_CHANNEL) {
            const bytes = t.dataPrefix.take(data);
            if (bytes.length === 0 || t.socketClosed) return;
            t.unwritten.push(new Uint8Array(bytes));
            flushToSocket(socket);
          } else if (channel === ERROR_CHANNEL) {
            const bytes = t.errorPrefix.take(data);
            if (bytes.length > 0) t.errorText += new TextDecoder().decode(bytes);
          }
        },
        onClose(code, reason) {
          t.wsClosed = true;
          if (t.errorText.trim() !== "") {
            report(
              new PortForwardError(`port-forward to ${opts.namespace}/${opts.pod}:${opts.port}: ${t.errorText.trim()}`),
            );
          } else if (code !== 1000 && code !== 1005) {
            report(
              new PortForwardError(
                `port-forward to ${opts.namespace}/${opts.pod}:${opts.port}: stream closed (${code}${reason ? ` ${reason}` : ""})`,
              ),
            );
          }
          if (!t.socketClosed) flushToSocket(socket);
        },
      },
    ).then(
      (ws) => {
        if (t.socketClosed) {
          ws.close();
          return;
        }
        t.ws = ws;
        for (const chunk of t.early) ws.send(DATA_CHANNEL, chunk);
        t.early = [];
      },
      (err: unknown) => {
        report(err instanceof Error ? err : new Error(String(err)));
        t.wsClosed = true;
        socket.end();
      },
    );
  };

  let listener: TCPSocketListener<Tunnel>;
  try {
    listener = Bun.listen<Tunnel>({
      hostname: localAddress,
      port: opts.localPort ?? 0,
      socket: {
        open(socket) {
          socket.data = {
            early: [],
            unwritten: [],
            dataPrefix: new PortPrefixStripper(),
            errorPrefix: new PortPrefixStripper(),
            errorText: "",
            wsClosed: false,
            socketClosed: false,
          };
          live.add(socket);
          openTunnel(socket);
        },
        data(socket, chunk) {
          const t = socket.data;
          if (t.ws) t.ws.send(DATA_CHANNEL, chunk);
          else t.early.push(new Uint8Array(chunk));
        },
        drain(socket) {
          flushToSocket(socket);
        },
        close(socket) {
          const t = socket.data;
          t.socketClosed = true;
          live.delete(socket);
          t.ws?.close(1000);
        },
        error(socket, err) {
          report(err);
          socket.end();
        },
      },
    });
  } catch (err) {
    throw new Error(`port-forward: cannot listen on ${localAddress}:${opts.localPort ?? 0}: ${(err as Error).message}`);
  }

  return {
    localAddress,
    localPort: listener.port,
    get activeConnections() {
      return live.size;
    },
    get lastError() {
      return lastError;
    },
    async close() {
      listener.stop(true);
      for (const socket of live) {
        socket.data.ws?.close(1000);
        socket.end();
      }
      live.clear();
    },
  };
}
