// The /api/v1 read routes and token management through app.request(): validation, paging, filters, 503s.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ingestEntries } from "../../../src/store/audit.ts";
import { createBackup, updateBackup } from "../../../src/store/backups.ts";
import { recordReconcile } from "../../../src/store/history.ts";
import { problemOf, type TestApi, testApi } from "./helpers.ts";

let api: TestApi;
beforeEach(() => {
  api = testApi();
});
afterEach(() => api.close());

const json = async <T>(res: Response, status = 200): Promise<T> => {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
};
type Page<T> = { items: T[]; nextCursor?: string };

/** Follows nextCursor from `first` to the end, collecting every item. */
async function allPages<T>(path: (cursor?: string) => string, token: string): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await json<Page<T>>(await api.request(path(cursor), { token }));
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 20);
  return pages;
}

const cas = (namespace: string, name: string, state: string) => ({
  apiVersion: "services.scone.cloud/v1beta1",
  kind: "CAS",
  metadata: { namespace, name },
  spec: {},
  status: { state, phase: state === "HEALTHY" ? "Running" : "Pending" },
});

describe("resources", () => {
  beforeEach(() => {
    for (const [ns, name, state] of [
      ["b", "c1", "HEALTHY"],
      ["a", "c2", "PENDING"],
      ["a", "c1", "HEALTHY"],
      ["b", "c0", "UNHEALTHY"],
      ["a", "c3", "HEALTHY"],
    ] as const) {
      api.cache.add("CAS", cas(ns, name, state));
    }
    api.cache.add("LAS", { apiVersion: "base.scone.cloud/v1", kind: "LAS", metadata: { name: "las" } });
  });

  test("list pages through every object once, ordered by namespace and name", async () => {
    const pages = await allPages<{ metadata: { namespace: string; name: string } }>(
      (cursor) => `/api/v1/resources/cas?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      api.tokens.read,
    );
    expect(pages.map((p) => p.map((o) => `${o.metadata.namespace}/${o.metadata.name}`))).toEqual([
      ["a/c1", "a/c2"],
      ["a/c3", "b/c0"],
      ["b/c1"],
    ]);
  });

  test("filters by namespace, state and phase", async () => {
    const names = async (query: string) =>
      (
        await json<Page<{ metadata: { name: string } }>>(
          await api.request(`/api/v1/resources/cas?${query}`, { token: api.tokens.read }),
        )
      ).items.map((o) => o.metadata.name);
    expect(await names("namespace=a&state=HEALTHY")).toEqual(["c1", "c3"]);
    expect(await names("phase=Pending")).toEqual(["c2", "c0"]);
  });

  test("get: namespaced kinds under /namespaces, cluster-scoped ones under /resources; wrong form and absent are 404", async () => {
    const got = await json<{ status: { state: string } }>(
      await api.request("/api/v1/namespaces/b/resources/cas/c0", { token: api.tokens.read }),
    );
    expect(got.status.state).toBe("UNHEALTHY");
    const las = await json<{ kind: string }>(
      await api.request("/api/v1/resources/las/las", { token: api.tokens.read }),
    );
    expect(las.kind).toBe("LAS");
    const wrongForm = await api.request("/api/v1/resources/cas/c0", { token: api.tokens.read });
    expect(wrongForm.status).toBe(404);
    expect((await problemOf(wrongForm)).detail).toContain("/api/v1/namespaces/{namespace}/resources/cas/c0");
    expect((await api.request("/api/v1/namespaces/b/resources/las/las", { token: api.tokens.read })).status).toBe(404);
    expect((await api.request("/api/v1/namespaces/b/resources/cas/zz", { token: api.tokens.read })).status).toBe(404);
  });

  test("503 with Retry-After while the kind's cache has not synced; other kinds still answer", async () => {
    api.cache.unsynced.add("CAS");
    const res = await api.request("/api/v1/resources/cas", { token: api.tokens.read });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect((await problemOf(res)).detail).toContain("not synced");
    expect((await api.request("/api/v1/resources/las", { token: api.tokens.read })).status).toBe(200);
  });

  test("bad kind, bad limit and a foreign cursor are 400 naming the field", async () => {
    const fields = async (path: string) =>
      (await problemOf(await api.request(path, { token: api.tokens.read }))).errors?.map((e) => e.field);
    expect(await fields("/api/v1/resources/pods")).toEqual(["param.kind"]);
    expect(await fields("/api/v1/resources/cas?limit=abc")).toEqual(["query.limit"]);
    expect(await fields("/api/v1/resources/cas?limit=0")).toEqual(["query.limit"]);
    expect(await fields("/api/v1/resources/cas?namespace=Not_A_Label")).toEqual(["query.namespace"]);
    expect(await fields("/api/v1/resources/cas?cursor=bm9wZQ")).toEqual(["query.cursor"]);
  });
});

test("without a cluster connection the resource routes answer 503 and the store routes still work", async () => {
  const bare = testApi({ cache: false });
  try {
    const res = await bare.request("/api/v1/resources/cas", { token: bare.tokens.read });
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toContain("no cluster connection");
    expect((await bare.request("/api/v1/history", { token: bare.tokens.read })).status).toBe(200);
  } finally {
    await bare.close();
  }
});

describe("history", () => {
  test("newest first, filtered, paged without gaps or repeats even when start times tie", async () => {
    const t0 = Date.parse("2026-11-23T09:00:00Z");
    for (let i = 0; i < 5; i++) {
      recordReconcile(api.store.db, {
        kind: i === 4 ? "LAS" : "CAS",
        namespace: "prod",
        name: "cas",
        generation: i,
        startedAt: t0 + Math.floor(i / 2) * 1000, // pairs share a start time
        durationMs: 5,
        result: "success",
        actions: [`step ${i}`],
        trigger: "watch",
      });
    }
    const pages = await allPages<{ generation: number; startedAt: string }>(
      (cursor) => `/api/v1/history?kind=CAS&limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      api.tokens.read,
    );
    expect(pages.map((p) => p.map((r) => r.generation))).toEqual([[3, 2, 1], [0]]);
    expect(pages[0]?.[0]?.startedAt).toBe("2026-11-23T09:00:01.000Z");
  });
});

describe("backups", () => {
  test("catalog filtered by phase and paged", async () => {
    for (let i = 0; i < 3; i++) {
      const b = createBackup(api.store.db, {
        namespace: "prod",
        name: "cas",
        target: "/b",
        startedAt: 1000 + i,
        phase: "running",
      });
      if (i !== 1) updateBackup(api.store.db, b.id, { phase: "completed", stoppedAt: 2000 + i });
    }
    const pages = await allPages<{ phase: string; stoppedAt: string }>(
      (cursor) => `/api/v1/backups?phase=completed&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
      api.tokens.read,
    );
    expect(pages.map((p) => p.map((b) => b.stoppedAt))).toEqual([
      [new Date(2002).toISOString()],
      [new Date(2000).toISOString()],
    ]);
    const bad = await problemOf(await api.request("/api/v1/backups?phase=done", { token: api.tokens.read }));
    expect(bad.errors?.[0]?.field).toBe("query.phase");
  });
});

describe("audit", () => {
  beforeEach(() => {
    ingestEntries(
      api.store.db,
      ["login alice", "policy create", "login bob", "policy delete"].map((raw, seq) => ({
        namespace: "prod",
        name: "cas",
        log: "s0",
        seq,
        ts: Date.parse("2026-11-23T08:00:00Z") + seq * 60_000,
        event: raw.split(" ")[0] ?? "",
        raw,
        signature: `s${seq}`,
        prevSignature: `s${seq - 1}`,
        chainOk: true,
      })),
    );
  });

  test("text search, event filter and time window", async () => {
    const raws = async (query: string) =>
      (
        await json<Page<{ raw: string }>>(
          await api.request(`/api/v1/audit?namespace=prod&name=cas&${query}`, { token: api.tokens.read }),
        )
      ).items.map((e) => e.raw);
    expect(await raws("q=login")).toEqual(["login bob", "login alice"]);
    expect(await raws("event=policy")).toEqual(["policy delete", "policy create"]);
    expect(await raws("from=2026-11-23T08:01:00Z&to=2026-11-23T08:03:00Z")).toEqual(["login bob", "policy create"]);
    const pages = await allPages<{ raw: string }>(
      (cursor) => `/api/v1/audit?namespace=prod&name=cas&limit=3${cursor ? `&cursor=${cursor}` : ""}`,
      api.tokens.read,
    );
    expect(pages.map((p) => p.length)).toEqual([3, 1]);
  });

  test("missing target, bad times and a foreign cursor are 400 naming the field", async () => {
    const fields = async (query: string) =>
      (await problemOf(await api.request(`/api/v1/audit?${query}`, { token: api.tokens.read }))).errors?.map(
        (e) => e.field,
      );
    expect(await fields("namespace=prod")).toEqual(["query.name"]);
    expect(await fields("namespace=prod&name=cas&from=yesterday")).toEqual(["query.from"]);
    expect(await fields("namespace=prod&name=cas&from=2026-11-23T09:00:00Z&to=2026-11-23T08:00:00Z")).toEqual([
      "query.to",
    ]);
    expect(await fields("namespace=prod&name=cas&cursor=x1")).toEqual(["query.cursor"]);
  });
});

describe("tokens", () => {
  test("create shows the token once; list never shows token or hash; the new token works; revoke stops it", async () => {
    const created = await json<{ token: string; name: string; scope: string; expiresAt: string }>(
      await api.request("/api/v1/tokens", {
        token: api.tokens.admin,
        method: "POST",
        body: { name: "ci", scope: "read", ttl: "12h" },
      }),
      201,
    );
    expect(created.token).toStartWith("scone_");
    expect(created.expiresAt).toBe(new Date(api.clock.now + 12 * 3_600_000).toISOString());
    expect((await api.request("/api/v1/history", { token: created.token })).status).toBe(200);

    const listText = await (await api.request("/api/v1/tokens", { token: api.tokens.admin })).text();
    expect(listText).toContain('"name":"ci"');
    expect(listText).not.toContain(created.token);
    expect(listText).not.toMatch(/hash/i);
    for (const t of Object.values(api.tokens)) expect(listText).not.toContain(t);

    const revoked = await json<{ state: string }>(
      await api.request("/api/v1/tokens/ci", { token: api.tokens.admin, method: "DELETE" }),
    );
    expect(revoked.state).toBe("revoked");
    expect((await api.request("/api/v1/history", { token: created.token })).status).toBe(401);
    expect((await api.request("/api/v1/tokens/nobody", { token: api.tokens.admin, method: "DELETE" })).status).toBe(
      404,
    );
  });

  test("bad ttl, bad name, unknown field and a duplicate name are refused with the field named", async () => {
    const post = (body: unknown) => api.request("/api/v1/tokens", { token: api.tokens.admin, method: "POST", body });
    const ttl = await problemOf(await post({ name: "x", scope: "read", ttl: "7 days" }));
    expect(ttl.errors?.[0]?.field).toBe("body.ttl");
    expect(ttl.errors?.[0]?.message).toContain("e.g. 30m, 12h or 7d");
    expect((await problemOf(await post({ name: "Bad Name", scope: "read" }))).errors?.[0]?.field).toBe("body.name");
    expect((await problemOf(await post({ name: "x", scope: "root" }))).errors?.[0]?.field).toBe("body.scope");
    expect((await problemOf(await post({ name: "x", scope: "read", extra: 1 }))).errors?.[0]?.message).toContain(
      "extra",
    );
    const dup = await post({ name: "t-read", scope: "read" });
    expect(dup.status).toBe(409);
  });
});

describe("OpenAPI document", () => {
  test("describes every /api/v1 route with the bearer scheme and the scope it needs", async () => {
    const doc = (await (await api.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: unknown; "x-scone-scope"?: string }>>;
      components: { securitySchemes: Record<string, { scheme: string }> };
    };
    expect(doc.components.securitySchemes.bearer?.scheme).toBe("bearer");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/resources/{kind}",
        "/api/v1/namespaces/{namespace}/resources/{kind}/{name}",
        "/api/v1/history",
        "/api/v1/backups",
        "/api/v1/audit",
        "/api/v1/operations",
        "/api/v1/operations/{id}",
        "/api/v1/tokens",
        "/api/v1/tokens/{name}",
      ]),
    );
    expect(doc.paths["/api/v1/operations"]?.post?.["x-scone-scope"]).toBe("operate");
    expect(doc.paths["/api/v1/tokens"]?.get?.["x-scone-scope"]).toBe("admin");
    expect(doc.paths["/api/v1/history"]?.get?.security).toEqual([{ bearer: [] }]);
    const page = await (await api.request("/reference")).text();
    expect(page).toContain("/api/v1/operations/{id}");
    expect(page).toContain("<td>operate</td>");
  });
});
