// scone's port-forward over one SPDY session per forward (src/kube/spdy.ts, port-forward-session.ts, port-forward.ts)
// against a fake API server that speaks SPDY/3.1+portforward.k8s.io in its WebSocket the way the node does: header
// blocks read with zlib and SPDY's dictionary, a stream pair per request id, errors as text on the error stream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { constants, inflateSync } from "node:zlib";
import type { Server, ServerWebSocket } from "bun";
import type { ClusterConnection } from "../../../src/kube/config.ts";
import { staticToken } from "../../../src/kube/credentials.ts";
import { PortForwardError, startPortForward } from "../../../src/kube/port-forward.ts";
import { SPDY_PORT_FORWARD_PROTOCOL } from "../../../src/kube/port-forward-session.ts";
import {
  CONTROL_PING,
  CONTROL_RST_STREAM,
  CONTROL_SYN_STREAM,
  concat,
  controlStreamId,
  controlWord,
  dataFrames,
  FLAG_FIN,
  headerBlock,
  pingFrame,
  RST_CANCEL,
  SPDY_DICTIONARY_ADLER32,
  SpdyParser,
  SpdyWriter,
} from "../../../src/kube/spdy.ts";
import { roundTrip } from "./local-client.ts";
import { SPDY_DICTIONARY } from "./spdy-dictionary.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Reads a connection's header zlib stream as the node does: one inflater, SPDY's dictionary, block after block. */
class HeaderReader {
  private stream: Uint8Array = new Uint8Array(0);
  private seen = 0;
  next(compressed: Uint8Array): Record<string, string> {
    this.stream = concat([this.stream, compressed]);
    const all = inflateSync(this.stream, { dictionary: SPDY_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
    const block = all.subarray(this.seen);
    this.seen = all.length;
    const v = new DataView(block.buffer, block.byteOffset, block.length);
    const headers: Record<string, string> = {};
    let at = 4;
    for (let i = 0; i < v.getUint32(0); i++) {
      const nameLength = v.getUint32(at);
      const name = text(block.subarray(at + 4, at + 4 + nameLength));
      at += 4 + nameLength;
      const valueLength = v.getUint32(at);
      headers[name] = text(block.subarray(at + 4, at + 4 + valueLength));
      at += 4 + valueLength;
    }
    return headers;
  }
}

describe("SPDY framing", () => {
  test("header blocks are one zlib stream with SPDY's dictionary, readable block by block", () => {
    expect(adler32(SPDY_DICTIONARY)).toBe(SPDY_DICTIONARY_ADLER32);
    const writer = new SpdyWriter();
    const reader = new HeaderReader();
    const parser = new SpdyParser();
    const first = parser.push(writer.synStream(1, { streamtype: "error", port: "8081", requestid: "0" }));
    const second = parser.push(writer.synStream(3, { streamtype: "data", port: "8081", requestid: "0" }, FLAG_FIN));
    for (const [frames, id, type, flags] of [
      [first, 1, "error", 0],
      [second, 3, "data", FLAG_FIN],
    ] as const) {
      const frame = frames[0];
      if (frame?.kind !== "control") throw new Error("want a control frame");
      expect(frame.type).toBe(CONTROL_SYN_STREAM);
      expect(frame.version).toBe(3);
      expect(frame.flags).toBe(flags);
      expect(controlStreamId(frame.payload)).toBe(id);
      expect(reader.next(frame.payload.subarray(10))).toEqual({ streamtype: type, port: "8081", requestid: "0" });
    }
    expect(() => headerBlock({ streamType: "data" })).toThrow("must be lowercase");
  });

  test("frames are found however the bytes were cut; FIN only on the last piece of a split DATA frame", () => {
    const wire = concat([
      dataFrames(3, bytes("hello"), FLAG_FIN),
      pingFrame(7),
      dataFrames(5, new Uint8Array(0)),
      new Uint8Array([0x80, 0x03, 0x00, CONTROL_RST_STREAM, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, RST_CANCEL]),
    ]);
    const parser = new SpdyParser();
    const frames = [...wire].flatMap((b) => parser.push(new Uint8Array([b])));
    expect(frames.map((f) => f.kind)).toEqual(["data", "control", "data", "control"]);
    expect(frames[0]).toMatchObject({ streamId: 3, flags: FLAG_FIN });
    expect(text((frames[0] as { data: Uint8Array }).data)).toBe("hello");
    expect(frames[1]).toMatchObject({ type: CONTROL_PING });
    expect(controlWord((frames[1] as { payload: Uint8Array }).payload, 0)).toBe(7);
    expect(frames[3]).toMatchObject({ type: CONTROL_RST_STREAM });
    expect(controlWord((frames[3] as { payload: Uint8Array }).payload, 1)).toBe(RST_CANCEL);

    const big = new Uint8Array(0xffffff + 10);
    const split = new SpdyParser().push(dataFrames(9, big, FLAG_FIN));
    expect(split.map((f) => (f.kind === "data" ? [f.data.length, f.flags] : []))).toEqual([
      [0xffffff, 0],
      [10, FLAG_FIN],
    ]);
  });
});

// ---- the fake API server + node ----

interface Session {
  pod: string;
  index: number;
  parser: SpdyParser;
  headers: HeaderReader;
  streams: Map<number, { type: string; requestid: string }>;
  pairs: Map<string, { error?: number; data?: number; done?: boolean }>;
  received: { kind: string; streamId: number; detail?: number | string }[];
  closed: boolean;
}

const sessionsOf = new Map<string, Session[]>();
/** Pods whose node fails every pair of sessions opened before this index (a restarted pod: stale sessions). */
const staleBefore = new Map<string, number>();
let server: Server<Session>;
let conn: ClusterConnection;

function failPair(ws: ServerWebSocket<Session>, errorId: number, dataId: number, why: string) {
  ws.sendBinary(concat([dataFrames(errorId, bytes(why), FLAG_FIN), dataFrames(dataId, new Uint8Array(0), FLAG_FIN)]));
}

function onFrames(ws: ServerWebSocket<Session>, chunk: Uint8Array) {
  const s = ws.data;
  for (const frame of s.parser.push(chunk)) {
    if (frame.kind === "control") {
      const id = controlStreamId(frame.payload);
      if (frame.type === CONTROL_SYN_STREAM) {
        const h = s.headers.next(frame.payload.subarray(10));
        s.streams.set(id, { type: h.streamtype ?? "", requestid: h.requestid ?? "" });
        const pair = s.pairs.get(h.requestid ?? "") ?? {};
        if (h.streamtype === "error") pair.error = id;
        else pair.data = id;
        s.pairs.set(h.requestid ?? "", pair);
        if (pair.error !== undefined && pair.data !== undefined && h.port !== "8081") {
          failPair(ws, pair.error, pair.data, `port ${h.port} is not forwarded`);
        } else if (pair.error !== undefined && pair.data !== undefined) {
          // An idle timeout of the node, say, as the second connection opens on session 0.
          if (s.pod === "dropping" && s.index === 0 && h.requestid === "1") ws.close(1000, "idle");
          if (s.pod === "refusing" || s.index < (staleBefore.get(s.pod) ?? 0)) {
            failPair(ws, pair.error, pair.data, "dial tcp 127.0.0.1:8081: connect: connection refused");
          }
        }
      } else if (frame.type === CONTROL_RST_STREAM) {
        s.received.push({ kind: "rst", streamId: id, detail: controlWord(frame.payload, 1) });
      } else if (frame.type === CONTROL_PING) {
        s.received.push({ kind: "ping", streamId: 0, detail: controlWord(frame.payload, 0) });
      }
      continue;
    }
    const stream = s.streams.get(frame.streamId);
    if ((frame.flags & FLAG_FIN) !== 0) s.received.push({ kind: "fin", streamId: frame.streamId });
    if (stream?.type === "data" && frame.data.length > 0) {
      s.received.push({ kind: "data", streamId: frame.streamId, detail: text(frame.data) });
      ws.sendBinary(dataFrames(frame.streamId, bytes(`echo${s.index}:${text(frame.data)}`)));
    }
  }
}

beforeAll(() => {
  server = Bun.serve<Session>({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      const match = /^\/api\/v1\/namespaces\/ns\/pods\/([^/]+)\/portforward$/.exec(new URL(req.url).pathname);
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
      if (!match?.[1] || !offered.includes(SPDY_PORT_FORWARD_PROTOCOL)) {
        return Response.json({ kind: "Status", code: 400, message: "Upgrade request required" }, { status: 400 });
      }
      const pod = match[1];
      const list = sessionsOf.get(pod) ?? [];
      const data: Session = {
        pod,
        index: list.length,
        parser: new SpdyParser(),
        headers: new HeaderReader(),
        streams: new Map(),
        pairs: new Map(),
        received: [],
        closed: false,
      };
      list.push(data);
      sessionsOf.set(pod, list);
      if (srv.upgrade(req, { headers: { "Sec-WebSocket-Protocol": SPDY_PORT_FORWARD_PROTOCOL }, data })) {
        return undefined;
      }
      return new Response("upgrade failed", { status: 500 });
    },
    websocket: {
      open(ws) {
        if (ws.data.pod === "pinging") ws.sendBinary(pingFrame(2));
      },
      message(ws, message) {
        onFrames(ws, typeof message === "string" ? bytes(message) : new Uint8Array(message));
      },
      close(ws) {
        ws.data.closed = true;
      },
    },
  });
  conn = {
    server: `http://127.0.0.1:${server.port}`,
    insecureSkipTlsVerify: false,
    credentials: staticToken("test-token"),
    namespace: "ns",
    source: "test",
  };
});

afterAll(() => {
  server.stop(true);
});

async function waitFor(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

describe("port-forward over one SPDY session", () => {
  test("connections, one after another and at once, share one upgrade; each gets its own stream pair", async () => {
    const forward = await startPortForward(conn, { namespace: "ns", pod: "web", port: 8081 });
    try {
      expect(await roundTrip(forward.localPort, "one", "echo0:one".length)).toBe("echo0:one");
      expect(await roundTrip(forward.localPort, "two", "echo0:two".length)).toBe("echo0:two");
      const parallel = await Promise.all(
        ["a", "b", "c", "d"].map((m) => roundTrip(forward.localPort, m, `echo0:${m}`.length)),
      );
      expect(parallel).toEqual(["echo0:a", "echo0:b", "echo0:c", "echo0:d"]);
      expect(forward.upgrades).toBe(1);
      const [session] = sessionsOf.get("web") ?? [];
      expect(session?.pairs.size).toBe(6);
      // Each closed connection: end of data for the pod, then both streams cancelled.
      const first = session?.pairs.get("0");
      await waitFor("the first pair's cancel", () =>
        (session?.received ?? []).some((r) => r.kind === "rst" && r.streamId === first?.error),
      );
      expect(session?.received.filter((r) => r.streamId === first?.data).map((r) => r.kind)).toEqual([
        "data",
        "fin",
        "rst",
      ]);
      expect(session?.received.find((r) => r.kind === "rst" && r.streamId === first?.data)?.detail).toBe(RST_CANCEL);
    } finally {
      await forward.close();
    }
    await waitFor("the session to close", () => sessionsOf.get("web")?.[0]?.closed === true);
  });

  test("a session to a pod that restarted is replaced, and the connection goes again with the bytes it had sent", async () => {
    const errors: Error[] = [];
    const forward = await startPortForward(conn, {
      namespace: "ns",
      pod: "restarting",
      port: 8081,
      onError: (e) => errors.push(e),
    });
    try {
      expect(await roundTrip(forward.localPort, "before", "echo0:before".length)).toBe("echo0:before");
      staleBefore.set("restarting", 1); // the node no longer knows the pod session 0 names
      expect(await roundTrip(forward.localPort, "after", "echo1:after".length)).toBe("echo1:after");
      expect(await roundTrip(forward.localPort, "again", "echo1:again".length)).toBe("echo1:again");
      expect(errors).toEqual([]);
      expect(forward.upgrades).toBe(2);
      // The stale session is closed once its last connection ended.
      await waitFor("the stale session to close", () => sessionsOf.get("restarting")?.[0]?.closed === true);
      expect(sessionsOf.get("restarting")?.[1]?.closed).toBe(false);
    } finally {
      await forward.close();
    }
  });

  test("a session the node closes (normally) under a new connection: the connection goes again on a fresh one", async () => {
    const errors: Error[] = [];
    const forward = await startPortForward(conn, {
      namespace: "ns",
      pod: "dropping",
      port: 8081,
      onError: (e) => errors.push(e),
    });
    try {
      expect(await roundTrip(forward.localPort, "first", "echo0:first".length)).toBe("echo0:first");
      expect(await roundTrip(forward.localPort, "second", "echo1:second".length)).toBe("echo1:second");
      expect(errors).toEqual([]);
      expect(forward.upgrades).toBe(2);
    } finally {
      await forward.close();
    }
  });

  test("the node's failure on a fresh session closes the connection and is reported, after one retry at most", async () => {
    const errors: Error[] = [];
    const forward = await startPortForward(conn, {
      namespace: "ns",
      pod: "refusing",
      port: 8081,
      onError: (e) => errors.push(e),
    });
    try {
      expect(await roundTrip(forward.localPort, "x", 1)).toBe("");
      await waitFor("the error", () => errors.length === 1);
      expect(errors[0]).toBeInstanceOf(PortForwardError);
      expect(errors[0]?.message).toBe(
        "port-forward to ns/refusing:8081: dial tcp 127.0.0.1:8081: connect: connection refused",
      );
      expect(forward.lastError).toBe(errors[0]);
      expect(await roundTrip(forward.localPort, "y", 1)).toBe("");
      await waitFor("the second error", () => errors.length === 2);
      // The second connection came on the reused session, failed there, and once more on a fresh one.
      expect(forward.upgrades).toBe(2);
      expect(sessionsOf.get("refusing")?.flatMap((s) => [...s.pairs.keys()])).toEqual(["0", "1", "0"]);
    } finally {
      await forward.close();
    }
  });

  test("the node's pings are answered; closing the forward closes the session", async () => {
    const forward = await startPortForward(conn, { namespace: "ns", pod: "pinging", port: 8081 });
    try {
      expect(await roundTrip(forward.localPort, "p", "echo0:p".length)).toBe("echo0:p");
      const session = sessionsOf.get("pinging")?.[0];
      await waitFor("the ping's answer", () => (session?.received ?? []).some((r) => r.kind === "ping"));
      expect(session?.received.find((r) => r.kind === "ping")?.detail).toBe(2);
    } finally {
      await forward.close();
    }
    await waitFor("the session to close", () => sessionsOf.get("pinging")?.[0]?.closed === true);
  });
});
