// `scone api --kube-auth` against the real API server: a ServiceAccount's token is reviewed (TokenReview), and each
// route asks RBAC (SubjectAccessReview). The ServiceAccount holds the shipped scone-api-operator rules through a Role
// in namespace A only: it starts a backup in A (202), gets 403 in B and for a list of every namespace, 401 without
// or with a bad token; /tokens is 404 and no token row is ever written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OperationRunners } from "../../../src/api/operations/runner.ts";
import { type RunningApi, serveApi } from "../../../src/api/run.ts";
import { apiOperatorRules } from "../../../src/install/rbac.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { createLogger } from "../../../src/log.ts";
import { openStore } from "../../../src/store/open.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { adminClient, freshNamespace, waitFor } from "../kube/helpers.ts";
import { cleanupSteps, installCrds } from "../operator/context.ts";

const quiet = createLogger({ level: "error", sink: { write() {} } });
// The flow itself is not under test here: a backup that records one step and succeeds.
const runners: OperationRunners = {
  backup: {
    run: async (op, report) => {
      await report.step("backup", async () => {});
      return { backupId: `bk-${op.id.toLowerCase().replace(/[^0-9a-z-]/g, "")}` };
    },
  },
};

describe.skipIf(!clusterAvailable())("scone api --kube-auth on a real API server", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let api: RunningApi;
  let nsA = "";
  let nsB = "";
  let saToken = "";
  const stateDir = mkdtempSync(join(tmpdir(), "scone-api-kubeauth-it-"));

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await adminClient(cluster);
    await installCrds(admin);
    nsA = await freshNamespace(admin, "scone-apiauth-a");
    nsB = await freshNamespace(admin, "scone-apiauth-b");
    await admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "ci", namespace: nsA } });
    await admin.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "scone-api-operator", namespace: nsA },
      rules: apiOperatorRules().map((r) => r.rule),
    });
    await admin.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "ci-scone-api", namespace: nsA },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "scone-api-operator" },
      subjects: [{ kind: "ServiceAccount", name: "ci", namespace: nsA }],
    });
    saToken = (await admin.createToken({ name: "ci", namespace: nsA }, { expirationSeconds: 600 })).token;
    api = await serveApi(
      { port: 0, host: "127.0.0.1", stateDir, kubeconfig: cluster.kubeconfigPath, kubeAuth: true, runners },
      quiet,
    );
  }, 300_000);

  afterAll(async () => {
    await cleanupSteps([
      () => api?.stop(),
      () => admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: nsA }),
      () => admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: nsB }),
      () => rmSync(stateDir, { recursive: true, force: true }),
    ]);
  }, 60_000);

  const call = (path: string, init: { token?: string; body?: unknown } = {}) =>
    fetch(`${api.url}${path}`, {
      method: init.body === undefined ? "GET" : "POST",
      headers: {
        ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const backupIn = (namespace: string, token = saToken) =>
    call("/api/v1/operations", { token, body: { kind: "backup", namespace, name: "cas" } });

  test("a ServiceAccount with a Role in A starts a backup there (202) and gets 403 in B", async () => {
    const started = await backupIn(nsA);
    expect(started.status).toBe(202);
    const op = (await started.json()) as { id: string; createdBy: string };
    expect(op.createdBy).toBe(`system:serviceaccount:${nsA}:ci`);
    const done = await waitFor("the backup operation to succeed", async () => {
      const res = await call(`/api/v1/operations/${op.id}`, { token: saToken });
      const body = (await res.json()) as { phase: string; result: unknown };
      return body.phase === "succeeded" ? body : undefined;
    });
    expect(done.result).toEqual({ backupId: expect.stringMatching(/^bk-/) });

    const refused = await backupIn(nsB);
    expect(refused.status).toBe(403);
    const problem = (await refused.json()) as { detail: string };
    expect(problem.detail).toContain(`namespace "${nsB}"`);
    expect(problem.detail).toContain("backup");
  });

  test("reads follow RBAC too: A's operations are listed, B's and every namespace's are 403", async () => {
    expect((await call(`/api/v1/operations?namespace=${nsA}`, { token: saToken })).status).toBe(200);
    expect((await call(`/api/v1/operations?namespace=${nsB}`, { token: saToken })).status).toBe(403);
    expect((await call("/api/v1/operations", { token: saToken })).status).toBe(403);
    expect((await call(`/api/v1/backups?namespace=${nsA}`, { token: saToken })).status).toBe(200);
  });

  test("no token, a malformed one, a forged one: 401", async () => {
    expect((await backupIn(nsA, "")).status).toBe(401);
    expect((await call("/api/v1/operations")).status).toBe(401);
    expect((await backupIn(nsA, "not-a-token")).status).toBe(401);
    const [head, body] = saToken.split(".");
    expect((await backupIn(nsA, `${head}.${body}.AAAA`)).status).toBe(401);
  });

  test("no token table in-cluster: /tokens is 404 and the store holds no token row", async () => {
    const res = await call("/api/v1/tokens", { token: saToken, body: { name: "x", scope: "admin" } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toContain("RBAC");
    const store = openStore({ stateDir });
    try {
      expect(store.sqlite.query("select count(*) as n from api_tokens").get()).toEqual({ n: 0 });
    } finally {
      store.close();
    }
  });
});
