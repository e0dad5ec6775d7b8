// `kubectl port-forward` in-process: a local TCP listener whose every connection is tunnelled to a pod port through
// the API server (pods/NAME/portforward). This is how scone reaches a CAS from outside the cluster, where the
// Service's DNS name does not resolve.
//
// Like kubectl, connections share one session (src/kube/port-forward-session.ts: SPDY tunnelled in a WebSocket, a
// pair of streams per connection), so a new connection costs a stream pair instead of an upgrade through the API
// server to the node. The session is opened by the first connection, not before (a forward may be opened before its
// pod exists), and replaced when it breaks. A pod that restarted is a new pod for the node, and the session still
// names the old one: when the node reports a failure on a session the connection did not open, and the pod has sent
// nothing back yet, that session is retired and the connection is tried once more on a fresh one, with the bytes the
// client sent so far — so a forward outlives its pod's restarts as it did with a tunnel per connection.
//
// Where the API server does not offer SPDY tunnelling (PortForwardWebsockets off) — or the session's upgrade fails
// other than by the API server's refusal (a refusal stays a typed error) — each connection gets its own
// WebSocket (kubelet's WebSocket port-forward, subprotocol v4.channel.k8s.io): channel 0 carries the data, channel
// 1 the errors of that port; each channel's first two bytes are the port number (little endian) and are not data.
//
// Either way, an error text from the node means it could not connect to the port (e.g. nothing listens there); the
// local connection is then closed and onError is told.
import type { Socket, TCPSocketListener } from "bun";
import { type ChannelSocket, openChannelSocket } from "./channel-socket.ts";
import type { ClusterConnection } from "./config.ts";
import { KubeApiError } from "./errors.ts";
import { PortForwardSession, type StreamPair } from "./port-forward-session.ts";
import { Transport } from "./transport.ts";

export const PORT_FORWARD_PROTOCOL = "v4.channel.k8s.io";
const DATA_CHANNEL = 0;
const ERROR_CHANNEL = 1;
const PORT_PREFIX_BYTES = 2;
/** Client bytes kept for a retry on a fresh session until the pod answers; past this the connection is not retried. */
export const MAX_RETAINED_BYTES = 256 * 1024;

export interface PortForwardOptions {
  readonly namespace: string;
  readonly pod: string;
  /** The pod's port (container port). */
  readonly port: number;
  /** Local address to listen on; default 127.0.0.1 (never 0.0.0.0 unless asked: the tunnel carries our credentials). */
  readonly localAddress?: string;
  /** Local port; default 0 = any free port (read it from the result). */
  readonly localPort?: number;
  /** Time allowed for each WebSocket upgrade, the session's or a tunnel's (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** A tunnel failed (upgrade refused, node could not reach the port, stream broke). Also kept as `lastError`. */
  readonly onError?: (err: Error) => void;
  /**
   * Check first that the pod exists and is Running, as kubectl does, and fail fast (default false: a forward may be
   * opened before its pod exists and outlive the pod's restarts).
   */
  readonly checkPod?: boolean;
}

export interface PortForward {
  readonly localAddress: string;
  readonly localPort: number;
  /** Forwarded connections open right now. */
  readonly activeConnections: number;
  /** The latest tunnel failure, to explain a connection the local client saw closed. */
  readonly lastError: Error | undefined;
  /** Stops listening and closes every tunnel. */
  close(): Promise<void>;
}

/** startPortForward's forward: also how many WebSocket upgrades it made (sessions, or per-connection tunnels). */
export interface LocalPortForward extends PortForward {
  readonly upgrades: number;
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
  /** The connection's streams on the shared session. */
  pair?: StreamPair;
  /** Client bytes sent on a session this connection did not open, while the pod has answered nothing (a retry's). */
  retained?: Uint8Array[];
  retainedBytes: number;
  /** Set once the connection was tried again on a fresh session. */
  retried: boolean;
  /** The connection's own WebSocket, where SPDY tunnelling is not offered. */
  ws?: ChannelSocket;
  /** Client bytes that arrived before the session's streams or the WebSocket were open. */
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

export async function startPortForward(conn: ClusterConnection, opts: PortForwardOptions): Promise<LocalPortForward> {
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
    throw new RangeError(`port-forward: port ${opts.port} is not a TCP port (1-65535)`);
  }
  if (opts.checkPod === true) await requireRunningPod(conn, opts.namespace, opts.pod);
  const localAddress = opts.localAddress ?? "127.0.0.1";
  const target = `${opts.namespace}/${opts.pod}:${opts.port}`;
  let lastError: Error | undefined;
  const report = (err: Error) => {
    lastError = err;
    opts.onError?.(err);
  };
  const live = new Set<TunnelSocket>();
  const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(opts.pod)}/portforward`;
  let upgrades = 0;
  let stopped = false;

  // The shared session: `current` while it takes new connections, `opening` while its upgrade runs. Retired
  // sessions stay in `sessions` until their last connection ends, so close() can end them too.
  const sessions = new Set<PortForwardSession>();
  let current: PortForwardSession | undefined;
  let opening: Promise<PortForwardSession> | undefined;
  /** Set when the API server does not tunnel SPDY: every connection then gets its own WebSocket. */
  let perConnection = false;

  const acquireSession = async (): Promise<{ session: PortForwardSession; fresh: boolean }> => {
    if (current?.usable) return { session: current, fresh: false };
    opening ??= (async () => {
      try {
        upgrades++;
        const session = await PortForwardSession.open(conn, path, {
          timeoutMs: opts.connectTimeoutMs,
          onClosed: () => {
            sessions.delete(session);
            if (current === session) current = undefined;
          },
        });
        sessions.add(session);
        if (stopped) session.close();
        else current = session;
        return session;
      } finally {
        opening = undefined;
      }
    })();
    return { session: await opening, fresh: true };
  };

  const endWithError = (socket: TunnelSocket, text: string) => {
    const t = socket.data;
    if (text !== "") report(new PortForwardError(`port-forward to ${target}: ${text}`));
    t.wsClosed = true;
    if (!t.socketClosed) flushToSocket(socket);
  };

  const openOnSession = async (socket: TunnelSocket): Promise<void> => {
    const t = socket.data;
    let got: { session: PortForwardSession; fresh: boolean };
    try {
      got = await acquireSession();
      // Another connection may have retired it meanwhile (its node failed): then a fresh one.
      if (!got.session.usable && !stopped) got = await acquireSession();
    } catch (err) {
      if (!(err instanceof KubeApiError)) {
        // Not the API server refusing (no such pod, forbidden, ...) but the tunnel itself: the per-connection
        // WebSocket does what this forward did before sessions, wherever it works.
        perConnection = true;
        if (!t.socketClosed) openTunnel(socket);
        return;
      }
      report(err);
      t.wsClosed = true;
      socket.end();
      return;
    }
    if (t.socketClosed) return;
    if (stopped || !got.session.usable) {
      endWithError(socket, stopped ? "" : "the session to the node closed as the connection opened");
      return;
    }
    const { session, fresh } = got;
    t.retained = fresh || t.retried ? undefined : [];
    t.retainedBytes = 0;
    t.pair = session.openPair(opts.port, {
      onData(data) {
        t.retained = undefined; // the pod answered: this connection reached it
        if (t.socketClosed) return;
        t.unwritten.push(new Uint8Array(data));
        flushToSocket(socket);
      },
      onError(text) {
        t.errorText += text;
      },
      onEnd() {
        t.pair = undefined;
        const text = t.errorText.trim();
        t.errorText = "";
        if (text !== "" && t.retained && !t.socketClosed && !stopped) {
          // A session this connection did not open, and the node could not connect: likely a session to the pod
          // before it restarted. Retired (it closes once idle); this connection goes again on a fresh one.
          if (current === session) current = undefined;
          session.retire();
          t.early = [...t.retained, ...t.early];
          t.retained = undefined;
          t.retried = true;
          void openOnSession(socket);
          return;
        }
        endWithError(socket, text);
      },
    });
    for (const chunk of t.early) sendOnPair(t, chunk);
    t.early = [];
  };

  const sendOnPair = (t: Tunnel, chunk: Uint8Array) => {
    t.pair?.send(chunk);
    if (!t.retained) return;
    t.retainedBytes += chunk.length;
    if (t.retainedBytes > MAX_RETAINED_BYTES) t.retained = undefined;
    else t.retained.push(new Uint8Array(chunk));
  };

  const openTunnel = (socket: TunnelSocket) => {
    const t = socket.data;
    upgrades++;
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
          const text = t.errorText.trim();
          endWithError(
            socket,
            text !== "" || code === 1000 || code === 1005
              ? text
              : `stream closed (${code}${reason ? ` ${reason}` : ""})`,
          );
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
            retainedBytes: 0,
            retried: false,
            early: [],
            unwritten: [],
            dataPrefix: new PortPrefixStripper(),
            errorPrefix: new PortPrefixStripper(),
            errorText: "",
            wsClosed: false,
            socketClosed: false,
          };
          live.add(socket);
          if (perConnection) openTunnel(socket);
          else void openOnSession(socket);
        },
        data(socket, chunk) {
          const t = socket.data;
          if (t.pair) sendOnPair(t, chunk);
          else if (t.ws) t.ws.send(DATA_CHANNEL, chunk);
          else t.early.push(new Uint8Array(chunk));
        },
        drain(socket) {
          flushToSocket(socket);
        },
        close(socket) {
          const t = socket.data;
          t.socketClosed = true;
          live.delete(socket);
          t.pair?.close();
          t.pair = undefined;
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
    get upgrades() {
      return upgrades;
    },
    get lastError() {
      return lastError;
    },
    async close() {
      stopped = true;
      listener.stop(true);
      for (const socket of live) {
        socket.data.pair?.close();
        socket.data.ws?.close(1000);
        socket.end();
      }
      live.clear();
      for (const session of [...sessions]) session.close();
      current = undefined;
    },
  };
}
