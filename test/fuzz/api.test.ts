// Property-based tests of the REST API's inputs (issue 11 item 7): whatever the query string, path segments or
// body, the answer is a 2xx or a 4xx problem document — never a 500, never an unhandled error. Fixed seed and a
// bounded number of runs so `make test` is repeatable; SCONE_FUZZ_RUNS and SCONE_FUZZ_SEED override them (a
// failure prints the seed and path to replay).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { OperationRunner } from "../../src/api/operations/runner.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { type TestApi, testApi } from "../unit/api/helpers.ts";
import { fuzzParams } from "./parser-runs.ts";

const params = fuzzParams();

let api: TestApi;
beforeAll(() => {
  const noop: OperationRunner = { run: async () => ({}) };
  api = testApi({ runners: { provision: noop, backup: noop, restore: noop, upgrade: noop, evict: noop } });
  api.cache.add("CAS", {
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    metadata: { name: "cas", namespace: "prod" },
    spec: { ownerConfig: "secret" },
  } as KubeObject);
});
afterAll(() => api.close());

/** Any bytes, percent-encoded: invalid UTF-8, NUL, '&', '=', '%' and all. */
const rawComponent = fc
  .uint8Array({ maxLength: 24 })
  .map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join(""));
/** Text as people and tools write it, including the characters that parsers trip over. */
const control = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 31 }), fc.constant(0x7f));
const withControl = fc
  .tuple(fc.stringMatching(/^[a-z*"]{0,6}$/), control, fc.stringMatching(/^[a-z*"]{0,6}$/))
  .map(([a, c, b]) => `${a}${String.fromCharCode(c)}${b}`);
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  withControl,
  fc.constantFrom("", "*", '"', "a\0b", "NEAR(a b)", "a OR b", "-x", "^", "\\", "%", "..", "1e9", "-1", "0", "bk-"),
);
const encoded = fc.oneof(
  rawComponent,
  text.map((t) => new URLSearchParams({ v: t }).toString().slice(2)),
);

const QUERY_ROUTES = [
  "/api/v1/audit",
  "/api/v1/history",
  "/api/v1/backups",
  "/api/v1/operations",
  "/api/v1/resources/cas",
  "/api/v1/resources/las",
];
const QUERY_KEYS = ["namespace", "name", "q", "event", "from", "to", "limit", "cursor", "kind", "phase", "state"];

/** A 2xx, or a 4xx whose body is a problem document; the app logged no unexpected error. */
async function expectHandled(res: Response, what: string): Promise<void> {
  if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400)) {
    throw new Error(`${what} → ${res.status}: ${await res.text()}`);
  }
  if (res.status >= 400) {
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as { status: number; title: string };
    expect(body.status).toBe(res.status);
    expect(body.title).toBeString();
  } else await res.arrayBuffer();
  const logged = api.errors.splice(0);
  if (logged.length > 0) throw new Error(`${what} logged: ${logged.join("; ")}`);
}

describe("API inputs (property-based)", () => {
  test("any query string on any list route: 2xx or a 4xx problem", async () => {
    const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...QUERY_KEYS) }, { weight: 1, arbitrary: encoded });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(key, encoded), { maxLength: 5 }),
        fc.constantFrom("read", "operate", "admin") as fc.Arbitrary<"read" | "operate" | "admin">,
        async (pairs, scope) => {
          const query = pairs.map(([k, v]) => `${k}=${v}`).join("&");
          for (const route of QUERY_ROUTES) {
            // Also after a valid CAS, so the routes that require one (audit) get past it to the rest.
            for (const path of [`${route}?${query}`, `${route}?namespace=prod&name=cas&${query}`]) {
              await expectHandled(await api.request(path, { token: api.tokens[scope] }), `GET ${path}`);
            }
          }
        },
      ),
      params,
    );
  });

  test("any search text on /audit (q, event) and filter text elsewhere: 2xx or a 4xx problem", async () => {
    const enc = (t: string) => new URLSearchParams({ v: t }).toString().slice(2);
    await fc.assert(
      fc.asyncProperty(text, text, async (q, other) => {
        for (const path of [
          `/api/v1/audit?namespace=prod&name=cas&q=${enc(q)}&event=${enc(other)}`,
          `/api/v1/audit?namespace=prod&name=cas&q=${enc(q)}`,
          `/api/v1/resources/cas?state=${enc(q)}&phase=${enc(other)}`,
          `/api/v1/history?kind=${enc(q)}`,
        ]) {
          await expectHandled(await api.request(path, { token: api.tokens.read }), `GET ${path}`);
        }
      }),
      params,
    );
  });

  test("any path segments under /api/v1: 2xx or a 4xx problem", async () => {
    await fc.assert(
      fc.asyncProperty(encoded, encoded, encoded, async (a, b, c) => {
        for (const path of [
          `/api/v1/namespaces/${a}/resources/${b}/${c}`,
          `/api/v1/resources/${a}/${b}`,
          `/api/v1/operations/${a}`,
          `/api/v1/${a}`,
        ]) {
          await expectHandled(await api.request(path, { token: api.tokens.read }), `GET ${path}`);
        }
        const revoke = `/api/v1/tokens/${a}`;
        await expectHandled(await api.request(revoke, { token: api.tokens.operate, method: "DELETE" }), revoke);
      }),
      params,
    );
  });

  test("any POST /operations body: 2xx or a 4xx problem", async () => {
    const kind = fc.oneof(fc.constantFrom("provision", "upgrade", "backup", "restore", "evict"), text);
    const paramValue = fc.oneof(
      text,
      fc.constantFrom("/etc", "/", "s3://bucket/x", "s3://a:b@c/d", "bk-0-0", { name: "..", key: "k" }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const paramKeys = fc.constantFrom("target", "from", "to", "version", "dcapKeyRef", "nonce", "webhook", "node", "x");
    const body = fc.oneof(
      fc.record(
        {
          kind,
          namespace: fc.oneof(fc.constantFrom("prod", "team-a"), text),
          name: fc.oneof(fc.constantFrom("cas", "r1"), text),
          params: fc.oneof(fc.dictionary(paramKeys, paramValue, { maxKeys: 3 }), fc.jsonValue({ maxDepth: 2 })),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await api.request("/api/v1/operations", { token: api.tokens.operate, method: "POST", body: b });
        await expectHandled(res, `POST ${JSON.stringify(b)}`);
      }),
      params,
    );
  });

  test("any request body bytes on the POST routes: 2xx or a 4xx problem", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/api/v1/operations", "/api/v1/tokens"),
        fc.oneof(
          text,
          fc.uint8Array({ maxLength: 64 }).map((u) => new TextDecoder().decode(u)),
        ),
        async (route, raw) => {
          const res = await api.request(route, { token: api.tokens.admin, method: "POST", body: raw });
          await expectHandled(res, `POST ${route} ${JSON.stringify(raw)}`);
        },
      ),
      params,
    );
  });

  test("any POST /tokens body: 2xx or a 4xx problem", async () => {
    const body = fc.record(
      {
        name: text,
        scope: fc.oneof(fc.constantFrom("read", "operate", "admin"), text),
        ttl: text,
        namespaces: fc.oneof(fc.array(text, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await api.request("/api/v1/tokens", { token: api.tokens.admin, method: "POST", body: b });
        await expectHandled(res, `POST /tokens ${JSON.stringify(b)}`);
      }),
      params,
    );
  });
});
