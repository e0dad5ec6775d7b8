// One port-forward session carrying many forwarded connections, as kubectl does: a WebSocket to the pod's
// portforward subresource with subprotocol SPDY/3.1+portforward.k8s.io (the API server passes the SPDY bytes on to
// the node), and per connection a pair of SPDY streams — "error" and "data" — tied by a request id (kubelet's
// portforward.k8s.io protocol). A new connection then costs one stream pair on an open session instead of a
// WebSocket upgrade through the API server to the node (TLS, authentication, a second upgrade).
//
// Streams are opened without waiting for their replies: the node handles a stream's frames in order, so the data
// that follows a SYN_STREAM reaches a replied stream. The node writes a failure (e.g. nothing listens on the port)
// as text on the error stream and then closes both streams.
import { openRawSocket, type RawSocket } from "./channel-socket.ts";
import type { ClusterConnection } from "./config.ts";
import {
  CONTROL_GOAWAY,
  CONTROL_PING,
  CONTROL_RST_STREAM,
  CONTROL_SYN_STREAM,
  concat,
  controlStreamId,
  controlWord,
  dataFrames,
  FLAG_FIN,
  MAX_STREAM_ID,
  pingFrame,
  RST_CANCEL,
  RST_REFUSED_STREAM,
  rstStream,
  type SpdyFrame,
  SpdyParser,
  SpdyWriter,
} from "./spdy.ts";

export const SPDY_PORT_FORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io";

/** What a stream pair tells its connection. */
export interface StreamPairHandlers {
  /** Bytes from the pod's port. */
  onData(data: Uint8Array): void;
  /** Text the node wrote on the error stream, or why the session or a stream broke. */
  onError(text: string): void;
  /** Both streams are finished (closed or reset by the node, or the session is gone): nothing more comes. */
  onEnd(): void;
}

export interface StreamPair {
  send(data: Uint8Array): void;
  /** The local side is done: end of data to the pod, then both streams are cancelled. */
  close(): void;
}

interface PairState {
  readonly handlers: StreamPairHandlers;
  readonly dataId: number;
  readonly errorId: number;
  dataDone: boolean;
  errorDone: boolean;
  ended: boolean;
}

export class PortForwardSession {
  private readonly writer = new SpdyWriter();
  private readonly parser = new SpdyParser();
  private readonly streams = new Map<number, { pair: PairState; role: "data" | "error" }>();
  private readonly pairs = new Set<PairState>();
  private nextStreamId = 1;
  private nextRequestId = 0;
  private retired = false;
  private closed = false;
  private socket!: RawSocket;

  private constructor(private readonly onClosed?: () => void) {}

  /** Opens the session; rejects with the API server's typed error (NotFound, Forbidden, ...) when it refuses. */
  static async open(
    conn: ClusterConnection,
    path: string,
    options: { timeoutMs?: number; onClosed?: () => void } = {},
  ): Promise<PortForwardSession> {
    const session = new PortForwardSession(options.onClosed);
    session.socket = await openRawSocket(
      conn,
      { path, query: [], protocols: [SPDY_PORT_FORWARD_PROTOCOL], timeoutMs: options.timeoutMs },
      {
        onMessage: (bytes) => session.receive(bytes),
        onClose: (code, reason) => session.lost(code, reason),
      },
    );
    if (session.socket.protocol !== SPDY_PORT_FORWARD_PROTOCOL) {
      session.socket.close();
      throw new Error(
        `the API server chose subprotocol "${session.socket.protocol}", not ${SPDY_PORT_FORWARD_PROTOCOL}`,
      );
    }
    return session;
  }

  /** True while new connections may use this session. */
  get usable(): boolean {
    return !this.closed && !this.retired && this.nextStreamId + 4 <= MAX_STREAM_ID;
  }

  /** Stream pairs still open. */
  get activePairs(): number {
    return this.pairs.size;
  }

  /** No new pairs; the session closes once its last pair ends (the node's end of it may be stale). */
  retire(): void {
    this.retired = true;
    if (this.pairs.size === 0) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(1000);
    this.endAll("");
    this.onClosed?.();
  }

  openPair(port: number, handlers: StreamPairHandlers): StreamPair {
    if (!this.usable) throw new Error("port-forward session is closed to new connections");
    const requestid = String(this.nextRequestId++);
    const errorId = this.nextStreamId;
    const dataId = this.nextStreamId + 2;
    this.nextStreamId += 4;
    const pair: PairState = { handlers, dataId, errorId, dataDone: false, errorDone: false, ended: false };
    this.pairs.add(pair);
    this.streams.set(errorId, { pair, role: "error" });
    this.streams.set(dataId, { pair, role: "data" });
    const p = String(port);
    // As kubectl: the error stream first, closed at once on this side (nothing is written to it), then the data stream.
    this.socket.send(
      concat([
        this.writer.synStream(errorId, { streamtype: "error", port: p, requestid }),
        dataFrames(errorId, new Uint8Array(0), FLAG_FIN),
        this.writer.synStream(dataId, { streamtype: "data", port: p, requestid }),
      ]),
    );
    return {
      send: (data) => {
        if (!pair.ended && !this.closed) this.socket.send(dataFrames(dataId, data));
      },
      close: () => {
        if (pair.ended) return;
        if (!this.closed) {
          this.socket.send(
            concat([
              dataFrames(dataId, new Uint8Array(0), FLAG_FIN),
              rstStream(dataId, RST_CANCEL),
              rstStream(errorId, RST_CANCEL),
            ]),
          );
        }
        this.forget(pair);
      },
    };
  }

  private receive(bytes: Uint8Array): void {
    let frames: SpdyFrame[];
    try {
      frames = this.parser.push(bytes);
    } catch (err) {
      this.fail(`unreadable SPDY from the API server: ${(err as Error).message}`);
      return;
    }
    for (const frame of frames) {
      if (frame.kind === "data") this.onDataFrame(frame.streamId, frame.flags, frame.data);
      else this.onControlFrame(frame.type, frame.payload);
    }
  }

  private onDataFrame(streamId: number, flags: number, data: Uint8Array): void {
    const entry = this.streams.get(streamId);
    if (!entry) return; // a stream this side cancelled
    const { pair, role } = entry;
    if (data.length > 0) {
      if (role === "data") pair.handlers.onData(data);
      else pair.handlers.onError(new TextDecoder().decode(data));
    }
    if ((flags & FLAG_FIN) !== 0) this.finish(pair, role);
  }

  private onControlFrame(type: number, payload: Uint8Array): void {
    switch (type) {
      case CONTROL_RST_STREAM: {
        const entry = this.streams.get(controlStreamId(payload));
        if (!entry) return;
        if (entry.role === "data") {
          entry.pair.handlers.onError(`the node reset the stream (status ${controlWord(payload, 1)})`);
        }
        this.finish(entry.pair, entry.role);
        return;
      }
      case CONTROL_PING:
        // The node's keepalive: answered with the same id (this side sends none of its own).
        this.socket.send(pingFrame(controlWord(payload, 0)));
        return;
      case CONTROL_GOAWAY:
        this.retire();
        return;
      case CONTROL_SYN_STREAM:
        // Nothing is pushed to a port-forward client.
        this.socket.send(rstStream(controlStreamId(payload), RST_REFUSED_STREAM));
        return;
      default:
        // SYN_REPLY (streams are used without waiting for it), SETTINGS, HEADERS, WINDOW_UPDATE: nothing to do.
        return;
    }
  }

  private finish(pair: PairState, role: "data" | "error"): void {
    if (role === "data") pair.dataDone = true;
    else pair.errorDone = true;
    if (pair.dataDone && pair.errorDone) {
      this.forget(pair);
      pair.handlers.onEnd();
    }
  }

  private forget(pair: PairState): void {
    pair.ended = true;
    this.streams.delete(pair.dataId);
    this.streams.delete(pair.errorId);
    this.pairs.delete(pair);
    if (this.retired && this.pairs.size === 0) this.close();
  }

  private lost(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    // Even a normal close cuts the connections still open on it (an idle timeout of the node, a restarted API
    // server): a reason each, so a connection that had no answer yet goes again on a fresh session.
    this.endAll(`the session closed (${code}${reason ? ` ${reason}` : ""})`);
    this.onClosed?.();
  }

  private fail(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(1002, "protocol error");
    this.endAll(why);
    this.onClosed?.();
  }

  private endAll(why: string): void {
    for (const pair of [...this.pairs]) {
      if (pair.ended) continue;
      this.forget(pair);
      if (why) pair.handlers.onError(why);
      pair.handlers.onEnd();
    }
  }
}
