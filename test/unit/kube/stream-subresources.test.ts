// src/kube port-forward and exec against a fake API server speaking the channel protocol over WebSocket (Bun.serve;
// port-forward falls back to it from SPDY sessions, test/unit/kube/port-forward-spdy.test.ts):
// framing, the port prefix, early client bytes, errors on the error channel, exit codes from the status channel,
// stdin with the v5 close frame, credentials on the upgrade, and the API server's own refusal as a typed error.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server, ServerWebSocket } from "bun";
import { channelSocketUrl, decodeFrame, encodeFrame } from "../../../src/kube/channel-socket.ts";
import type { ClusterConnection } from "../../../src/kube/config.ts";
import { staticToken } from "../../../src/kube/credentials.ts";
import { ForbiddenError, NotFoundError } from "../../../src/kube/errors.ts";
import { ExecError, execInPod, exitCodeFromStatus } from "../../../src/kube/exec.ts";
import { PortForwardError, PortPrefixStripper, startPortForward } from "../../../src/kube/port-forward.ts";
import { roundTrip } from "./local-client.ts";

interface Conn {
  pod: string;
  kind: "portforward" | "exec";
  query: URLSearchParams;
  received: Uint8Array[];
}

const PORT_LE = [0x91, 0x1f]; // 8081, little endian
const seenAuth: string[] = [];
const execStdin: Uint8Array[] = [];
let server: Server<Conn>;
let conn: ClusterConnection;

const send = (ws: ServerWebSocket<Conn>, channel: number, data: Uint8Array | string) =>
  ws.sendBinary(encodeFrame(channel, typeof data === "string" ? new TextEncoder().encode(data) : data));

beforeAll(() => {
  server = Bun.serve<Conn>({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      const url = new URL(req.url);
      seenAuth.push(req.headers.get("authorization") ?? "");
      const podGet = /^\/api\/v1\/namespaces\/ns\/pods\/([^/]+)$/.exec(url.pathname);
      if (podGet) {
        if (podGet[1] === "missing") {
          const status = {
            kind: "Status",
            status: "Failure",
            reason: "NotFound",
            code: 404,
            message: 'pods "missing" not found',
          };
          return Response.json(status, { status: 404 });
        }
        return Response.json({ kind: "Pod", status: { phase: podGet[1] === "pending" ? "Pending" : "Running" } });
      }
      const match = /^\/api\/v1\/namespaces\/ns\/pods\/([^/]+)\/(portforward|exec)$/.exec(url.pathname);
      if (match?.[1] === "rotating" && req.headers.get("authorization") !== "Bearer fresh-token") {
        const status = {
          kind: "Status",
          status: "Failure",
          reason: "Unauthorized",
          code: 401,
          message: "Unauthorized",
        };
        return Response.json(status, { status: 401 });
      }
      if (!match || match[1] === "forbidden") {
        const status = {
          kind: "Status",
          status: "Failure",
          reason: "Forbidden",
          code: 403,
          message: "pods is forbidden",
        };
        return Response.json(status, { status: 403 });
      }
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
      const protocol =
        match[2] === "exec" ? (offered.find((p) => p === "v5.channel.k8s.io") ?? "") : "v4.channel.k8s.io";
      const data: Conn = { pod: match[1] ?? "", kind: match[2] as Conn["kind"], query: url.searchParams, received: [] };
      if (srv.upgrade(req, { headers: { "Sec-WebSocket-Protocol": protocol }, data })) return undefined;
      return new Response("Upgrade request required", { status: 400 });
    },
    websocket: {
      open(ws) {
        const { kind, pod, query } = ws.data;
        if (kind === "portforward") {
          // the port prefix, split over two frames on the data channel
          send(ws, 0, new Uint8Array([PORT_LE[0] ?? 0]));
          send(ws, 0, new Uint8Array([PORT_LE[1] ?? 0]));
          send(ws, 1, new Uint8Array(PORT_LE));
          if (pod === "refusing") {
            send(ws, 1, "dial tcp 127.0.0.1:8081: connect: connection refused");
            ws.close(1000);
          }
          return;
        }
        const command = query.getAll("command");
        if (command[0] === "fail") {
          send(ws, 1, "out");
          send(ws, 2, "err");
          send(
            ws,
            3,
            JSON.stringify({
              metadata: {},
              status: "Failure",
              reason: "NonZeroExitCode",
              details: { causes: [{ reason: "ExitCode", message: "3" }] },
            }),
          );
          ws.close(1000);
        } else if (command[0] === "broken") {
          send(
            ws,
            3,
            JSON.stringify({
              metadata: {},
              status: "Failure",
              reason: "InternalError",
              message: "container not found",
            }),
          );
          ws.close(1000);
        } else if (command[0] === "vanish") {
          ws.close(1000);
        }
      },
      message(ws, message) {
        const frame = decodeFrame(
          typeof message === "string" ? new TextEncoder().encode(message) : new Uint8Array(message),
        );
        if (!frame) return;
        if (ws.data.kind === "portforward" && frame.channel === 0) {
          send(ws, 0, `echo:${new TextDecoder().decode(frame.data)}`);
        } else if (ws.data.kind === "exec") {
          execStdin.push(encodeFrame(frame.channel, frame.data));
          if (frame.channel === 255) {
            const input = execStdin
              .filter((f) => f[0] === 0)
              .map((f) => new TextDecoder().decode(f.subarray(1)))
              .join("");
            send(ws, 1, input.toUpperCase());
            send(ws, 3, JSON.stringify({ metadata: {}, status: "Success" }));
            ws.close(1000);
          }
        }
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

describe("channel frames", () => {
  test("one channel byte, then data; an empty message carries nothing", () => {
    expect([...encodeFrame(3, new Uint8Array([7, 8]))]).toEqual([3, 7, 8]);
    expect(decodeFrame(new Uint8Array([1, 9]))).toEqual({ channel: 1, data: new Uint8Array([9]) });
    expect(decodeFrame(new Uint8Array(0))).toBeUndefined();
    expect(() => encodeFrame(256)).toThrow(RangeError);
  });
  test("URLs keep repeated query keys and switch to ws(s)", () => {
    expect(
      channelSocketUrl("https://h:6443", "/p", [
        ["command", "ls"],
        ["command", "-l"],
      ]),
    ).toBe("wss://h:6443/p?command=ls&command=-l");
  });
  test("the port prefix is stripped however it is split", () => {
    const s = new PortPrefixStripper();
    expect([...s.take(new Uint8Array([1]))]).toEqual([]);
    expect([...s.take(new Uint8Array([2, 65, 66]))]).toEqual([65, 66]);
    expect([...s.take(new Uint8Array([67]))]).toEqual([67]);
  });
});

describe("port-forward", () => {
  test("each local connection is tunnelled; bytes sent before the tunnel opened arrive; the token is sent", async () => {
    const forward = await startPortForward(conn, { namespace: "ns", pod: "web", port: 8081 });
    try {
      expect(await roundTrip(forward.localPort, "one", "echo:one".length)).toBe("echo:one");
      expect(await roundTrip(forward.localPort, "two", "echo:two".length)).toBe("echo:two");
      expect(seenAuth.at(-1)).toBe("Bearer test-token");
      // This server offers no SPDY tunnelling: one refused session, then a WebSocket per connection.
      expect(forward.upgrades).toBe(3);
    } finally {
      await forward.close();
    }
  });

  test("an error on the port's error channel closes the connection and is reported", async () => {
    const errors: Error[] = [];
    const forward = await startPortForward(conn, {
      namespace: "ns",
      pod: "refusing",
      port: 8081,
      onError: (e) => errors.push(e),
    });
    try {
      expect(await roundTrip(forward.localPort, "x", 1)).toBe("");
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(PortForwardError);
      expect(errors[0]?.message).toContain("connection refused");
    } finally {
      await forward.close();
    }
  });

  test("a refused upgrade reports the API server's answer as a typed error", async () => {
    const errors: Error[] = [];
    const forward = await startPortForward(conn, {
      namespace: "ns",
      pod: "forbidden",
      port: 8081,
      onError: (e) => errors.push(e),
    });
    try {
      await roundTrip(forward.localPort, "x", 1);
      expect(errors[0]).toBeInstanceOf(ForbiddenError);
      expect(forward.lastError).toBe(errors[0]);
      expect(errors[0]?.message).not.toContain("test-token");
    } finally {
      await forward.close();
    }
  });

  test("a 401 drops the cached credential and the tunnel is opened with a fresh one", async () => {
    let invalidated = 0;
    const rotating: ClusterConnection = {
      ...conn,
      credentials: {
        get: async () => ({ token: invalidated > 0 ? "fresh-token" : "stale-token" }),
        invalidate: () => {
          invalidated += 1;
        },
      },
    };
    const forward = await startPortForward(rotating, { namespace: "ns", pod: "rotating", port: 8081 });
    try {
      expect(await roundTrip(forward.localPort, "hi", "echo:hi".length)).toBe("echo:hi");
      expect(invalidated).toBe(1);
    } finally {
      await forward.close();
    }
  });

  test("like kubectl, a missing or not running pod is refused before anything listens", async () => {
    await expect(
      startPortForward(conn, { namespace: "ns", pod: "missing", port: 8081, checkPod: true }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      startPortForward(conn, { namespace: "ns", pod: "pending", port: 8081, checkPod: true }),
    ).rejects.toThrow("pod ns/pending is Pending, not Running");
  });

  test("bad ports are refused before anything is opened", async () => {
    await expect(startPortForward(conn, { namespace: "ns", pod: "web", port: 70000 })).rejects.toThrow(RangeError);
  });
});

describe("exec", () => {
  test("stdout, stderr and the exit code of a failing command", async () => {
    const r = await execInPod(conn, { namespace: "ns", pod: "p", container: "cas", command: ["fail", "now"] });
    expect(r.exitCode).toBe(3);
    expect(new TextDecoder().decode(r.stdout)).toBe("out");
    expect(r.stderr).toBe("err");
  });

  test("stdin is sent and closed with the v5 close frame", async () => {
    execStdin.length = 0;
    const r = await execInPod(conn, { namespace: "ns", pod: "p", command: ["upper"], stdin: "hello" });
    expect(r.exitCode).toBe(0);
    expect(new TextDecoder().decode(r.stdout)).toBe("HELLO");
    expect([...(execStdin.at(-1) ?? [])]).toEqual([255, 0]);
  });

  test("a command that did not run, a stream without a status, and a refusal are errors", async () => {
    await expect(execInPod(conn, { namespace: "ns", pod: "p", command: ["broken"] })).rejects.toBeInstanceOf(ExecError);
    await expect(execInPod(conn, { namespace: "ns", pod: "p", command: ["vanish"] })).rejects.toThrow(
      /before the command reported/,
    );
    await expect(execInPod(conn, { namespace: "ns", pod: "forbidden", command: ["x"] })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(execInPod(conn, { namespace: "ns", pod: "p", command: [] })).rejects.toBeInstanceOf(ExecError);
  });

  test("exit codes from a kubelet's and from kwok's status", () => {
    expect(exitCodeFromStatus({ status: "Success" })).toBe(0);
    expect(
      exitCodeFromStatus({
        status: "Failure",
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: "2" }] },
      }),
    ).toBe(2);
    expect(
      exitCodeFromStatus({ status: "Failure", reason: "InternalError", message: "cmd wait: ls x: exit status 2" }),
    ).toBe(2);
    expect(() =>
      exitCodeFromStatus({ status: "Failure", reason: "InternalError", message: "no such container" }),
    ).toThrow(ExecError);
  });
});
