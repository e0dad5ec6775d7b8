import { afterAll, describe, expect, test } from "bun:test";
import { ForbiddenError, GoneError } from "../../../src/kube/errors.ts";
import { Transport } from "../../../src/kube/transport.ts";
import { LineSplitter, parseWatchLine, watchPath } from "../../../src/kube/watch.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("LineSplitter", () => {
  test("joins lines split across chunks and splits chunks holding several lines", () => {
    const s = new LineSplitter();
    expect(s.push(enc('{"type":"ADDED","object":{"a"'))).toEqual([]);
    expect(s.push(enc(':1}}\n{"type":"MODIFIED","object":{}}\n{"type":'))).toEqual([
      '{"type":"ADDED","object":{"a":1}}',
      '{"type":"MODIFIED","object":{}}',
    ]);
    expect(s.push(enc('"DELETED","object":{}}'))).toEqual([]);
    expect(s.end()).toEqual(['{"type":"DELETED","object":{}}']);
  });

  test("keeps a multi-byte UTF-8 character split between chunks intact", () => {
    const s = new LineSplitter();
    const bytes = enc('{"x":"grüße"}\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte ü
    expect(s.push(bytes.slice(0, cut))).toEqual([]);
    expect(s.push(bytes.slice(cut))).toEqual(['{"x":"grüße"}']);
  });

  test("ignores blank lines", () => {
    const s = new LineSplitter();
    expect(s.push(enc("\n\n{}\n\r\n"))).toEqual(["{}"]);
  });
});

describe("parseWatchLine", () => {
  test("parses events and ERROR statuses; refuses garbage", () => {
    expect(parseWatchLine('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}')).toEqual({
      type: "BOOKMARK",
      object: { metadata: { resourceVersion: "7" } },
    });
    expect(parseWatchLine('{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}')).toEqual({
      type: "ERROR",
      object: { kind: "Status", code: 410, reason: "Expired" },
    });
    expect(() => parseWatchLine("not json")).toThrow(/not JSON/);
    expect(() => parseWatchLine('{"type":"WHAT","object":{}}')).toThrow(/unknown event/);
  });
});

describe("watchPath over HTTP", () => {
  // The server dribbles events in awkward chunks, then sends the scripted ending.
  let ending: "gone" | "close" = "close";
  let lastQuery = "";
  const server = Bun.serve({
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      lastQuery = url.search;
      if (url.pathname.includes("forbidden")) {
        return Response.json({ kind: "Status", code: 403, reason: "Forbidden", message: "no" }, { status: 403 });
      }
      const body = new ReadableStream({
        async start(c) {
          const lines = [
            '{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}}\n',
            '{"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"2"}}}\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"}}}\n',
          ];
          const all = lines.join("");
          for (let i = 0; i < all.length; i += 17) {
            c.enqueue(enc(all.slice(i, i + 17)));
            await Bun.sleep(0);
          }
          if (ending === "gone") {
            c.enqueue(
              enc(
                '{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}\n',
              ),
            );
          }
          c.close();
        },
      });
      return new Response(body, { headers: { "content-type": "application/json" } });
    },
  });
  afterAll(() => server.stop(true));
  const transport = new Transport({
    server: `http://127.0.0.1:${server.port}`,
    insecureSkipTlsVerify: false,
    namespace: "default",
    source: "test",
  });

  test("yields every event in order and ends when the server closes", async () => {
    ending = "close";
    let opened = false;
    const got: string[] = [];
    for await (const ev of watchPath<{ metadata: { resourceVersion: string } }>(transport, "/api/v1/configmaps", {
      resourceVersion: "0",
      timeoutSeconds: 30,
      onOpen: () => {
        opened = true;
      },
    })) {
      got.push(`${ev.type}@${ev.object.metadata.resourceVersion}`);
    }
    expect(opened).toBe(true);
    expect(got).toEqual(["ADDED@1", "MODIFIED@2", "BOOKMARK@3"]);
    expect(lastQuery).toContain("watch=true");
    expect(lastQuery).toContain("allowWatchBookmarks=true");
    expect(lastQuery).toContain("resourceVersion=0");
    expect(lastQuery).toContain("timeoutSeconds=30");
  });

  test("an in-stream 410 ERROR throws GoneError after the events before it", async () => {
    ending = "gone";
    const got: string[] = [];
    const run = async () => {
      for await (const ev of watchPath(transport, "/api/v1/configmaps")) got.push(ev.type);
    };
    await expect(run()).rejects.toBeInstanceOf(GoneError);
    expect(got).toEqual(["ADDED", "MODIFIED", "BOOKMARK"]);
  });

  test("a refused watch throws the typed error", async () => {
    const run = async () => {
      for await (const _ of watchPath(transport, "/api/v1/forbidden")) {
        // no events expected
      }
    };
    await expect(run()).rejects.toBeInstanceOf(ForbiddenError);
  });
});
