// Output read from a pod is bounded (issue 11 item 1): a fake API server whose "pod" floods stdout, stderr and its
// log. exec fails beyond maxOutputBytes instead of collecting everything, keeps 64 KiB of stderr; pods/log is asked
// for limitBytes and read no further than that whatever the server sends.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { encodeFrame } from "../../../src/kube/channel-socket.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import type { ClusterConnection } from "../../../src/kube/config.ts";
import { staticToken } from "../../../src/kube/credentials.ts";
import { ExecError, execInPod } from "../../../src/kube/exec.ts";

const MiB = 1024 * 1024;
const chunk = new Uint8Array(MiB).fill(0x41);
const logQueries: URLSearchParams[] = [];
let server: Server<{ command: string }>;
let conn: ClusterConnection;

beforeAll(() => {
  server = Bun.serve<{ command: string }>({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname.endsWith("/log")) {
        logQueries.push(url.searchParams);
        // 32 MiB, whatever was asked: the client must stop reading by itself.
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= 32) return controller.close();
            sent++;
            controller.enqueue(chunk);
          },
        });
        return new Response(body);
      }
      const data = { command: url.searchParams.get("command") ?? "" };
      if (srv.upgrade(req, { headers: { "Sec-WebSocket-Protocol": "v5.channel.k8s.io" }, data })) return undefined;
      return new Response("no", { status: 400 });
    },
    websocket: {
      open(ws) {
        const megabytes = ws.data.command === "flood" ? 8 : 1;
        for (let i = 0; i < megabytes; i++) ws.sendBinary(encodeFrame(1, chunk));
        ws.sendBinary(encodeFrame(2, chunk));
        ws.sendBinary(encodeFrame(3, new TextEncoder().encode(JSON.stringify({ metadata: {}, status: "Success" }))));
        ws.close(1000);
      },
      message() {},
    },
  });
  conn = {
    server: `http://127.0.0.1:${server.port}`,
    insecureSkipTlsVerify: false,
    credentials: staticToken("t"),
    namespace: "ns",
    source: "test",
  };
});

afterAll(() => server.stop(true));

describe("output read from a pod is bounded", () => {
  test("exec: more stdout than maxOutputBytes fails the call; stderr keeps its first 64 KiB", async () => {
    const flood = execInPod(conn, { namespace: "ns", pod: "p", command: ["flood"], maxOutputBytes: 2 * MiB });
    await expect(flood).rejects.toBeInstanceOf(ExecError);
    await expect(flood).rejects.toThrow(`exec: flood in ns/p wrote more than ${2 * MiB} bytes to stdout`);
    const small = await execInPod(conn, { namespace: "ns", pod: "p", command: ["small"], maxOutputBytes: 2 * MiB });
    expect(small.stdout.length).toBe(MiB);
    expect(small.stderr.length).toBe(64 * 1024);
  });

  test("pods/log: limitBytes is asked for and enforced on what arrives", async () => {
    const client = KubeClient.fromConnection(conn);
    const log = await client.podLogs({ namespace: "ns", name: "p" }, { limitBytes: 3 * MiB + 5 });
    expect(log.length).toBe(3 * MiB + 5);
    expect(logQueries.at(-1)?.get("limitBytes")).toBe(String(3 * MiB + 5));
    const byDefault = await client.podLogs({ namespace: "ns", name: "p" });
    expect(byDefault.length).toBe(8 * MiB);
  });
});
