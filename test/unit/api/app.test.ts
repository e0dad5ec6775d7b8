import { describe, expect, test } from "bun:test";
import { createApiApp } from "../../../src/api/app.ts";

const ready = { checks: () => ({ store: { ok: true } }) };

describe("api app", () => {
  test("health, readiness and version answer", async () => {
    const app = createApiApp({ readiness: ready });
    expect(await (await app.request("/healthz")).text()).toBe("ok\n");
    const v = (await (await app.request("/version")).json()) as { version: unknown; runtime: string };
    expect(v.version).toBeString();
    expect(v.runtime).toStartWith("bun ");
    const r = await app.request("/readyz");
    expect(r.status).toBe(200);
  });

  test("readiness fails with the failing check named", async () => {
    const app = createApiApp({ readiness: { checks: () => ({ store: { ok: false, reason: "locked" } }) } });
    const r = await app.request("/readyz");
    expect(r.status).toBe(503);
    expect(((await r.json()) as { checks: { store: { reason: string } } }).checks.store.reason).toBe("locked");
  });

  test("the OpenAPI 3.1 document lists the routes; unknown routes are problem+json 404", async () => {
    const app = createApiApp({ readiness: ready });
    const doc = (await (await app.request("/openapi.json")).json()) as { openapi: string; paths: object };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/healthz", "/readyz", "/version"]));
    const page = await (await app.request("/reference")).text();
    expect(page).toContain("/version");
    const nf = await app.request("/nope");
    expect(nf.status).toBe(404);
    expect(nf.headers.get("content-type")).toBe("application/problem+json");
  });
});
