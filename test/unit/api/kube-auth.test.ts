// Routes under --kube-auth with a fake reviewer: each route asks RBAC for the verb, resource and namespace it needs
// (the attributes are checked exactly), Kubernetes callers see secret-bearing fields redacted, a restore from another
// namespace's backup needs restore there too, /tokens is 404, and a route that answers without asking RBAC is a 500.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { kubeCaller } from "../../../src/api/access.ts";
import { newRouter } from "../../../src/api/env.ts";
import { requireScope } from "../../../src/api/middleware/require-scope.ts";
import type { OperationRunner } from "../../../src/api/operations/runner.ts";
import type { AccessAttributes, AccessReviewer, ReviewedUser } from "../../../src/kube/access-review.ts";
import { createBackup, updateBackup } from "../../../src/store/backups.ts";
import { problemOf, type TestApi, testApi } from "./helpers.ts";

const CI: ReviewedUser = { username: "system:serviceaccount:team-a:ci", groups: ["system:serviceaccounts"] };
const GROUP = "services.scone.cloud";

/** Allows what `rules` allows; records every question. */
function fakeReviewer(rules: (a: AccessAttributes) => boolean) {
  const asked: AccessAttributes[] = [];
  const reviewer: AccessReviewer = {
    authenticate: async (token) => (token === "sa-token" ? CI : null),
    allowed: async (_token, _user, attrs) => {
      asked.push(attrs);
      return rules(attrs);
    },
  };
  return { reviewer, asked };
}

const inNamespace = (a: AccessAttributes, ns: string) => "namespace" in a && a.namespace === ns;
const noop: OperationRunner = { run: async () => ({}) };
let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** A test API (own temporary state dir, backups under it) whose Kubernetes caller RBAC answers by `rules`. */
function open(rules: (a: AccessAttributes) => boolean) {
  const fake = fakeReviewer(rules);
  api = testApi({ runners: { backup: noop, restore: noop }, reviewer: fake.reviewer });
  return { a: api, asked: fake.asked };
}

const post = (a: TestApi, body: unknown) =>
  a.request("/api/v1/operations", { token: "sa-token", method: "POST", body });

describe("--kube-auth routes", () => {
  test("POST asks for the operation's kind on cas/operations of that CAS in that namespace", async () => {
    const { a, asked } = open((x) => inNamespace(x, "team-a"));
    expect((await post(a, { kind: "backup", namespace: "team-a", name: "cas" })).status).toBe(202);
    expect(asked).toEqual([
      { verb: "backup", group: GROUP, resource: "cas", subresource: "operations", namespace: "team-a", name: "cas" },
    ]);
    const refused = await post(a, { kind: "backup", namespace: "team-b", name: "cas" });
    expect(refused.status).toBe(403);
    expect((await problemOf(refused)).detail).toBe(
      `system:serviceaccount:team-a:ci may not "backup" on cas/operations.${GROUP} in namespace "team-b" (Kubernetes RBAC); grant it with a RoleBinding there (e.g. to ClusterRole scone-api-operator or scone-api-viewer, docs/RBAC.md)`,
    );
    expect((await a.request("/api/v1/operations", { token: "table-token" })).status).toBe(401);
  });

  test("reads: get/list on the kind or sub-resource; a list of every namespace needs a cluster-wide grant", async () => {
    const { a, asked } = open((x) => inNamespace(x, "team-a"));
    const cas = {
      apiVersion: `${GROUP}/v1beta1`,
      kind: "CAS",
      metadata: { name: "cas", namespace: "team-a" },
      spec: { ownerConfig: "secret-owner-config" },
    };
    a.cache.add("CAS", cas);
    const one = await a.request("/api/v1/namespaces/team-a/resources/cas/cas", { token: "sa-token" });
    expect(one.status).toBe(200);
    expect(((await one.json()) as { spec: { ownerConfig: string } }).spec.ownerConfig).toBe("<redacted>");
    expect(asked.at(-1)).toEqual({ verb: "get", group: GROUP, resource: "cas", namespace: "team-a", name: "cas" });
    expect((await a.request("/api/v1/resources/cas", { token: "sa-token" })).status).toBe(403);
    expect(asked.at(-1)).toEqual({ verb: "list", group: GROUP, resource: "cas" });
    expect((await a.request("/api/v1/backups?namespace=team-a", { token: "sa-token" })).status).toBe(200);
    expect(asked.at(-1)).toEqual({
      verb: "list",
      group: GROUP,
      resource: "cas",
      subresource: "backups",
      namespace: "team-a",
    });
    expect((await a.request("/api/v1/history?namespace=team-b", { token: "sa-token" })).status).toBe(403);
    expect((await a.request("/api/v1/tokens", { token: "sa-token" })).status).toBe(404);
  });

  test("a restore of another namespace's backup needs restore in that namespace too", async () => {
    let allowB = false;
    const { a } = open((x) => inNamespace(x, "team-a") || (allowB && inNamespace(x, "team-b")));
    const b = createBackup(a.store.db, {
      namespace: "team-b",
      name: "cas",
      target: join(a.dir, "backups", "set-b"),
      phase: "running",
    });
    updateBackup(a.store.db, b.id, { phase: "completed", files: {} });
    const body = { kind: "restore", namespace: "team-a", name: "copy", params: { from: b.id } };
    const refused = await post(a, body);
    expect(refused.status).toBe(403);
    expect((await problemOf(refused)).detail).toContain('"restore" on cas/operations');
    expect((await problemOf(await post(a, body))).detail).toContain('namespace "team-b"');
    allowB = true;
    expect((await post(a, body)).status).toBe(202);
  });
});

describe("requireScope for Kubernetes callers", () => {
  test("a route that answers without asking RBAC is turned into a 500", async () => {
    const { reviewer } = fakeReviewer(() => true);
    const app = newRouter();
    app.use("*", async (c, next) => {
      c.set("caller", kubeCaller(reviewer, "sa-token", CI));
      await next();
    });
    app.get("/forgot", requireScope("read"), (c) => c.json({ leaked: true }));
    app.get("/asked", requireScope("read"), async (c) => {
      const caller = c.get("caller");
      if (caller.via === "kubernetes") await caller.may({ verb: "get", resource: "cas" }, "team-a");
      return c.json({ ok: true });
    });
    const forgot = await app.request("/forgot");
    expect(forgot.status).toBe(500);
    expect(await forgot.text()).not.toContain("leaked");
    expect((await app.request("/asked")).status).toBe(200);
  });
});
