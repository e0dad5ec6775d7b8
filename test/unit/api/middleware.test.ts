// The middleware chain through the real app: request ids, body limit, authentication, scopes, call audit, errors.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { listApiCalls } from "../../../src/store/api-audit.ts";
import { createToken, revokeToken } from "../../../src/store/tokens.ts";
import { problemOf, type TestApi, testApi } from "./helpers.ts";

let api: TestApi;
beforeEach(() => {
  api = testApi({ runners: { backup: { run: async () => ({ ok: true }) } } });
});
afterEach(() => api.close());

describe("request id", () => {
  test("a fresh id when none is sent; a plain client id is echoed; an unsafe one is replaced", async () => {
    const fresh = (await api.request("/healthz")).headers.get("x-request-id");
    expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await api.request("/healthz", { headers: { "x-request-id": "job-42.a" } });
    expect(echoed.headers.get("x-request-id")).toBe("job-42.a");
    const unsafe = await api.request("/healthz", { headers: { "x-request-id": "evil\tline" } });
    expect(unsafe.headers.get("x-request-id")).not.toBe("evil\tline");
    // Errors carry it too.
    const err = await api.request("/api/v1/history", { headers: { "x-request-id": "r1" } });
    expect(err.headers.get("x-request-id")).toBe("r1");
  });
});

describe("access log", () => {
  test("one line per request with status and caller name; never the token or the query", async () => {
    await api.request("/api/v1/history?kind=CAS", { token: api.tokens.read, headers: { "x-request-id": "abc" } });
    await api.request("/api/v1/history");
    expect(api.requests.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        method: "GET",
        path: "/api/v1/history",
        status: 200,
        requestId: "abc",
        caller: "t-read",
      }),
      expect.objectContaining({ path: "/api/v1/history", status: 401 }),
    ]);
    const all = api.requests.join("\n");
    expect(all).not.toContain(api.tokens.read);
    expect(all).not.toContain("kind=CAS");
  });
});

describe("authentication", () => {
  test("no token: 401 problem with WWW-Authenticate: Bearer", async () => {
    const res = await api.request("/api/v1/history");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    expect((await problemOf(res)).detail).toContain("Authorization: Bearer");
  });

  test("malformed header and unknown token: 401 invalid_token", async () => {
    for (const authorization of ["Basic dXNlcjpwdw==", "Bearer", "Bearer scone_NOTATOKEN"]) {
      const res = await api.request("/api/v1/history", { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
  });

  test("an expired token is refused with 401", async () => {
    const { token } = createToken(api.store.db, {
      name: "short",
      scope: "admin",
      expiresAt: api.clock.now + 60_000,
      now: api.clock.now,
    });
    expect((await api.request("/api/v1/history", { token })).status).toBe(200);
    api.clock.now += 60_000;
    const res = await api.request("/api/v1/history", { token });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("expired");
  });

  test("a revoked token is refused with 401", async () => {
    expect((await api.request("/api/v1/history", { token: api.tokens.read })).status).toBe(200);
    revokeToken(api.store.db, "t-read", api.clock.now);
    expect((await api.request("/api/v1/history", { token: api.tokens.read })).status).toBe(401);
  });

  test("health, readiness, version, the document and the reference need no token", async () => {
    for (const path of ["/healthz", "/readyz", "/version", "/openapi.json", "/reference"]) {
      expect((await api.request(path)).status).toBe(200);
    }
  });
});

describe("scopes", () => {
  test("read < operate < admin; a too-small scope is 403 naming the scope needed", async () => {
    const body = { kind: "backup", namespace: "prod", name: "cas" };
    const readPost = await api.request("/api/v1/operations", { token: api.tokens.read, method: "POST", body });
    expect(readPost.status).toBe(403);
    expect((await problemOf(readPost)).detail).toContain('scope "operate"');
    const operateTokens = await api.request("/api/v1/tokens", { token: api.tokens.operate });
    expect(operateTokens.status).toBe(403);
    expect((await problemOf(operateTokens)).detail).toContain('scope "admin"');
    // Larger scopes include smaller ones.
    expect((await api.request("/api/v1/history", { token: api.tokens.admin })).status).toBe(200);
    const adminPost = await api.request("/api/v1/operations", { token: api.tokens.admin, method: "POST", body });
    expect(adminPost.status).toBe(202);
  });
});

describe("body limit", () => {
  test("a body over 1 MiB is 413 problem before authentication or parsing", async () => {
    const big = JSON.stringify({ kind: "backup", namespace: "prod", name: "cas", pad: "x".repeat(1024 * 1024) });
    const res = await api.request("/api/v1/operations", { token: api.tokens.operate, method: "POST", body: big });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).title).toBe("Payload too large");
    const anonymous = await api.request("/api/v1/operations", { method: "POST", body: big });
    expect(anonymous.status).toBe(413);
  });
});

describe("call audit", () => {
  test("mutating calls are recorded with the token's name, never the token; reads are not recorded", async () => {
    await api.request("/api/v1/history", { token: api.tokens.admin });
    const created = await api.request("/api/v1/operations", {
      token: api.tokens.operate,
      method: "POST",
      body: { kind: "backup", namespace: "prod", name: "cas" },
    });
    const opId = ((await created.json()) as { id: string }).id;
    await api.request("/api/v1/tokens", { token: api.tokens.read, method: "POST", body: { name: "x", scope: "read" } });
    await api.request("/api/v1/tokens/t-read", { token: api.tokens.admin, method: "DELETE" });
    const calls = listApiCalls(api.store.db, { limit: 10 }).reverse();
    expect(calls.map((c) => [c.tokenName, c.method, c.path, c.status, c.operationId])).toEqual([
      ["t-operate", "POST", "/api/v1/operations", 202, opId],
      ["t-read", "POST", "/api/v1/tokens", 403, null],
      ["t-admin", "DELETE", "/api/v1/tokens/t-read", 200, null],
    ]);
    const everything = JSON.stringify(api.store.sqlite.query("select * from api_audit").all());
    for (const token of Object.values(api.tokens)) expect(everything).not.toContain(token);
  });
});

describe("errors", () => {
  test("unknown routes are 404 problems, inside and outside /api/v1", async () => {
    const outside = await api.request("/nope");
    expect(outside.status).toBe(404);
    expect((await problemOf(outside)).detail).toContain("/nope");
    const inside = await api.request("/api/v1/nope", { token: api.tokens.read });
    expect(inside.status).toBe(404);
    expect((await problemOf(inside)).title).toBe("Not found");
  });

  test("an unexpected error is a generic 500: no message, no stack for the client; the log gets the message", async () => {
    api.cache.failWith = new Error("boom at /secret/path");
    const res = await api.request("/api/v1/resources/cas", { token: api.tokens.read });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("boom");
    expect(text).not.toContain("at ");
    expect(api.errors.join("\n")).toContain("boom at /secret/path");
  });
});
