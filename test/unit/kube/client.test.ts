// KubeClient and EventRecorder against a recording fake API server: what goes on the wire.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { KubeClient } from "../../../src/kube/client.ts";
import type { CredentialProvider } from "../../../src/kube/credentials.ts";
import { NotFoundError } from "../../../src/kube/errors.ts";
import { EventRecorder } from "../../../src/kube/events.ts";
import { lookupResource } from "../../../src/kube/resources.ts";
import type { KubeLogger } from "../../../src/kube/types.ts";

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  auth: string | null;
  body: unknown;
}

let seen: Seen[] = [];
let script: ((s: Seen) => Response | undefined)[] = [];

const server = Bun.serve({
  port: 0,
  async fetch(req) {
    const url = new URL(req.url);
    const text = await req.text();
    const s: Seen = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers.get("content-type"),
      auth: req.headers.get("authorization"),
      body: text ? JSON.parse(text) : undefined,
    };
    seen.push(s);
    for (const handler of script) {
      const res = handler(s);
      if (res) return res;
    }
    return Response.json(
      { kind: "Status", code: 404, reason: "NotFound", message: "nothing scripted" },
      { status: 404 },
    );
  },
});
afterAll(() => server.stop(true));
beforeEach(() => {
  seen = [];
  script = [];
});

let tokenNumber = 1;
let invalidations = 0;
const rotating: CredentialProvider = {
  get: async () => ({ token: `t${tokenNumber}` }),
  invalidate() {
    invalidations++;
    tokenNumber++;
  },
};
const client = KubeClient.fromConnection({
  server: `http://127.0.0.1:${server.port}`,
  insecureSkipTlsVerify: false,
  credentials: rotating,
  namespace: "default",
  source: "test",
});
const echo = (s: Seen) => Response.json(s.body ?? {});
const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "ns" }, data: { a: "1" } };

describe("KubeClient requests", () => {
  test("server-side apply is a PATCH apply-patch+yaml with fieldManager scone, force when asked", async () => {
    script = [echo];
    await client.apply(cm, { force: true });
    await client.applyStatus({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "ns" } });
    expect(seen.map((s) => [s.method, s.path, s.contentType, s.query.fieldManager, s.query.force])).toEqual([
      ["PATCH", "/api/v1/namespaces/ns/configmaps/c", "application/apply-patch+yaml", "scone", "true"],
      ["PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/status", "application/apply-patch+yaml", "scone", undefined],
    ]);
    expect(seen[0]?.body).toEqual(cm);
  });

  test("cluster-scoped kinds have no namespace segment; namespaced ones require one", async () => {
    script = [echo];
    await client.get({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      name: "r",
      namespace: "ignored",
    });
    expect(seen[0]?.path).toBe("/apis/rbac.authorization.k8s.io/v1/clusterroles/r");
    await expect(client.get({ apiVersion: "v1", kind: "Pod", name: "p" })).rejects.toThrow(
      /Pod p is namespaced: set metadata.namespace/,
    );
  });

  test("patch types, replace and delete options", async () => {
    script = [echo];
    await client.patch(
      { apiVersion: "v1", kind: "Secret", name: "s", namespace: "ns" },
      [{ op: "remove", path: "/data/x" }],
      "json",
    );
    await client.patchStatus(
      { apiVersion: "v1", kind: "Pod", name: "p", namespace: "ns" },
      { status: { phase: "Running" } },
    );
    await client.replace({ ...cm, metadata: { ...cm.metadata, resourceVersion: "41" } });
    await client.delete(
      { apiVersion: "v1", kind: "ConfigMap", name: "c", namespace: "ns" },
      { propagationPolicy: "Foreground", preconditions: { resourceVersion: "42" } },
    );
    expect(seen.map((s) => `${s.method} ${s.path} ${s.contentType}`)).toEqual([
      "PATCH /api/v1/namespaces/ns/secrets/s application/json-patch+json",
      "PATCH /api/v1/namespaces/ns/pods/p/status application/merge-patch+json",
      "PUT /api/v1/namespaces/ns/configmaps/c application/json",
      "DELETE /api/v1/namespaces/ns/configmaps/c application/json",
    ]);
    expect((seen[2]?.body as typeof cm | undefined)?.metadata).toMatchObject({ resourceVersion: "41" });
    expect(seen[3]?.body).toEqual({
      apiVersion: "v1",
      kind: "DeleteOptions",
      propagationPolicy: "Foreground",
      preconditions: { resourceVersion: "42" },
    });
  });

  test("listAll follows continue tokens and fills in apiVersion/kind", async () => {
    script = [
      (s) =>
        Response.json({
          metadata: { resourceVersion: "100", continue: s.query.continue ? undefined : "page2" },
          items: [{ metadata: { name: s.query.continue ? "b" : "a" } }],
        }),
    ];
    const list = await client.listAll(
      { apiVersion: "v1", kind: "ConfigMap" },
      { namespace: "ns", labelSelector: "app=x", limit: 1 },
    );
    expect(list.items.map((i) => [i.metadata?.name, i.kind, i.apiVersion])).toEqual([
      ["a", "ConfigMap", "v1"],
      ["b", "ConfigMap", "v1"],
    ]);
    expect(list.metadata.resourceVersion).toBe("100");
    expect(seen.map((s) => s.query)).toEqual([
      { labelSelector: "app=x", limit: "1" },
      { labelSelector: "app=x", limit: "1", continue: "page2" },
    ]);
  });

  test("a 401 refreshes the credential once and retries", async () => {
    tokenNumber = 1;
    invalidations = 0;
    script = [
      (s) =>
        s.auth === "Bearer t1"
          ? Response.json({ kind: "Status", code: 401, reason: "Unauthorized" }, { status: 401 })
          : undefined,
      () => Response.json({ gitVersion: "v1" }),
    ];
    expect((await client.serverVersion()).gitVersion).toBe("v1");
    expect(seen.map((s) => s.auth)).toEqual(["Bearer t1", "Bearer t2"]);
    expect(invalidations).toBe(1);
  });

  test("a 429 is retried after Retry-After; a 404 is NotFoundError and tryGet answers undefined", async () => {
    let throttled = 0;
    script = [
      () =>
        throttled++ < 1
          ? Response.json(
              { kind: "Status", code: 429, reason: "TooManyRequests", details: { retryAfterSeconds: 0 } },
              { status: 429 },
            )
          : undefined,
      (s) => (s.path.endsWith("/present") ? echo(s) : undefined),
    ];
    expect(await client.get({ apiVersion: "v1", kind: "ConfigMap", name: "present", namespace: "ns" })).toEqual({});
    expect(seen).toHaveLength(2);
    await expect(
      client.get({ apiVersion: "v1", kind: "ConfigMap", name: "absent", namespace: "ns" }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(
      await client.tryGet({ apiVersion: "v1", kind: "ConfigMap", name: "absent", namespace: "ns" }),
    ).toBeUndefined();
  });

  test("every answer is reported to onResponse with its method and status, a retried 401 included", async () => {
    tokenNumber = 1;
    const answers: string[] = [];
    client.transport.onResponse = (method, status) => answers.push(`${method} ${status}`);
    try {
      script = [
        (s) =>
          s.auth === "Bearer t1"
            ? Response.json({ kind: "Status", code: 401, reason: "Unauthorized" }, { status: 401 })
            : undefined,
        (s) => (s.method === "PATCH" ? echo(s) : undefined),
      ];
      await client.serverVersion().catch(() => undefined);
      await client.apply(cm);
      await expect(
        client.get({ apiVersion: "v1", kind: "ConfigMap", name: "absent", namespace: "ns" }),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect(answers).toEqual(["GET 401", "GET 404", "PATCH 200", "GET 404"]);
    } finally {
      client.transport.onResponse = undefined;
    }
  });

  test("unknown kinds are found through discovery once, then cached", async () => {
    script = [
      (s) =>
        s.path === "/apis/widgets.example.com/v1"
          ? Response.json({
              kind: "APIResourceList",
              resources: [
                { name: "widgets", kind: "Widget", namespaced: true },
                { name: "widgets/status", kind: "Widget", namespaced: true },
              ],
            })
          : undefined,
      echo,
    ];
    const ref = { apiVersion: "widgets.example.com/v1", kind: "Widget", name: "w", namespace: "ns" };
    await client.get(ref);
    await client.get(ref);
    expect(seen.map((s) => s.path)).toEqual([
      "/apis/widgets.example.com/v1",
      "/apis/widgets.example.com/v1/namespaces/ns/widgets/w",
      "/apis/widgets.example.com/v1/namespaces/ns/widgets/w",
    ]);
    expect(lookupResource(ref)?.plural).toBe("widgets");
    await expect(client.get({ ...ref, kind: "Gadget" })).rejects.toThrow(/does not serve kind Gadget.*CRD installed/);
  });

  test("TokenRequest and pod logs", async () => {
    script = [
      (s) =>
        s.path.endsWith("/token")
          ? Response.json({ status: { token: "jwt", expirationTimestamp: "2030-01-01T00:00:00Z" } })
          : undefined,
      (s) => (s.path.endsWith("/log") ? new Response("line1\nline2\n") : undefined),
    ];
    expect(
      await client.createToken({ name: "sa", namespace: "ns" }, { audiences: ["cas"], expirationSeconds: 600 }),
    ).toEqual({
      token: "jwt",
      expirationTimestamp: "2030-01-01T00:00:00Z",
    });
    expect(seen[0]?.path).toBe("/api/v1/namespaces/ns/serviceaccounts/sa/token");
    expect(seen[0]?.body).toMatchObject({ kind: "TokenRequest", spec: { audiences: ["cas"], expirationSeconds: 600 } });
    expect(await client.podLogs({ name: "p", namespace: "ns" }, { container: "c", tailLines: 5 })).toBe(
      "line1\nline2\n",
    );
    expect(seen[1]?.query).toEqual({ container: "c", tailLines: "5", limitBytes: "8388608" });
  });
});

describe("followPodLogs", () => {
  test("streams pods/log?follow=true until the caller aborts", async () => {
    let stopServer = () => {};
    script = [
      (s) =>
        s.path.endsWith("/log")
          ? new Response(
              new ReadableStream({
                start(c) {
                  c.enqueue(new TextEncoder().encode("first\n"));
                  stopServer = () => c.close();
                },
              }),
            )
          : undefined,
    ];
    const abort = new AbortController();
    const stream = await client.followPodLogs(
      { name: "p", namespace: "ns" },
      { signal: abort.signal, container: "app" },
    );
    const reader = stream.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first\n");
    expect(seen[0]?.query).toEqual({ container: "app", follow: "true" });
    abort.abort();
    await expect(reader.read()).rejects.toBeDefined();
    stopServer();
  });
});

describe("EventRecorder", () => {
  const warnings: string[] = [];
  const logger: KubeLogger = {
    debug() {},
    info() {},
    warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`),
    error() {},
  };
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "ns", uid: "u1" } };

  test("repeats within the window patch count/lastTimestamp instead of creating a new Event", async () => {
    script = [echo];
    let now = Date.parse("2030-01-01T00:00:00Z");
    const rec = new EventRecorder(client, { windowMs: 60_000, now: () => new Date(now), reportingInstance: "i1" });
    await rec.record(pod, "Warning", "Failed", "image pull failed");
    now += 1000;
    await rec.record(pod, "Warning", "Failed", "image pull failed");
    await rec.record(pod, "Warning", "Failed", "other message");
    now += 120_000; // outside the window: a fresh Event
    await rec.record(pod, "Warning", "Failed", "image pull failed");
    expect(seen.map((s) => `${s.method} ${s.contentType}`)).toEqual([
      "POST application/json",
      "PATCH application/merge-patch+json",
      "POST application/json",
      "POST application/json",
    ]);
    const created = seen[0]?.body as Record<string, unknown>;
    expect(created).toMatchObject({
      involvedObject: { kind: "Pod", name: "p", namespace: "ns", uid: "u1" },
      type: "Warning",
      reason: "Failed",
      count: 1,
      reportingComponent: "scone",
      reportingInstance: "i1",
      source: { component: "scone" },
    });
    expect(seen[1]?.path).toBe(`/api/v1/namespaces/ns/events/${(created.metadata as { name: string }).name}`);
    expect(seen[1]?.body).toEqual({ count: 2, lastTimestamp: "2030-01-01T00:00:01.000Z" });
  });

  test("a failure to record is logged, never thrown", async () => {
    script = [
      () =>
        Response.json(
          { kind: "Status", code: 403, reason: "Forbidden", message: "no events for you" },
          { status: 403 },
        ),
    ];
    const rec = new EventRecorder(client, { logger });
    await rec.record(pod, "Normal", "Created", "made it");
    expect(warnings.at(-1)).toContain("could not record Event");
    expect(warnings.at(-1)).toContain("no events for you");
  });
});
