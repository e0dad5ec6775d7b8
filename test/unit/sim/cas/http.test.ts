import { describe, expect, test } from "bun:test";
import { Gate, parseRequest, renderResponse } from "../../../../sim/cas/http.ts";

const raw = (text: string) => Buffer.from(text, "latin1");

describe("simulator HTTP parsing", () => {
  test("waits for the head and the whole content-length body", () => {
    expect(parseRequest(raw("GET /v1/version HTTP/1.1\r\nHost: x\r\n")).kind).toBe("incomplete");
    expect(parseRequest(raw("POST /v1/sessions HTTP/1.1\r\ncontent-length: 5\r\n\r\nab")).kind).toBe("incomplete");
    const parsed = parseRequest(raw("POST /v1/sessions HTTP/1.1\r\nContent-Length: 5\r\nX-A: b\r\n\r\nabcde"));
    expect(parsed).toMatchObject({ kind: "request", method: "POST", target: "/v1/sessions" });
    if (parsed.kind !== "request") throw new Error("unreachable");
    expect(Buffer.from(parsed.body).toString()).toBe("abcde");
    expect(parsed.headers.get("x-a")).toBe("b");
  });

  test("decodes chunked bodies", () => {
    const head = "PUT /v1/encrypted_sessions HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n";
    expect(parseRequest(raw(`${head}3\r\nabc\r\n`)).kind).toBe("incomplete");
    const parsed = parseRequest(raw(`${head}3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n`));
    if (parsed.kind !== "request") throw new Error(`expected a request, got ${parsed.kind}`);
    expect(Buffer.from(parsed.body).toString()).toBe("abcde");
  });

  test("rejects malformed requests with a status", () => {
    expect(parseRequest(raw("HELLO\r\n\r\n"))).toMatchObject({ kind: "error", status: 400 });
    expect(parseRequest(raw("GET / HTTP/1.1\r\nno-colon\r\n\r\n"))).toMatchObject({ kind: "error", status: 400 });
    expect(parseRequest(raw("GET / HTTP/1.1\r\ncontent-length: 99999999\r\n\r\n"))).toMatchObject({ status: 413 });
    expect(parseRequest(Buffer.alloc(20_000, 65))).toMatchObject({ kind: "error", status: 431 });
  });

  test("responses close the connection; HEAD sends no body but the length", () => {
    const get = renderResponse({ status: 405, body: { msg: ["no"] } }, false).toString();
    expect(get).toStartWith("HTTP/1.1 405 Method Not Allowed\r\n");
    expect(get).toContain("connection: close");
    expect(get).toEndWith('{"msg":["no"]}');
    const head = renderResponse({ status: 200, body: { a: 1 } }, true).toString();
    expect(head).toContain("content-length: 7");
    expect(head).toEndWith("\r\n\r\n");
  });
});

describe("Gate", () => {
  test("holds callers while paused and releases them on resume", async () => {
    const gate = new Gate();
    await gate.whenOpen();
    gate.pause();
    let released = false;
    const waiting = gate.whenOpen().then(() => {
      released = true;
    });
    await Bun.sleep(5);
    expect(released).toBe(false);
    gate.resume();
    await waiting;
    expect(released).toBe(true);
  });
});
