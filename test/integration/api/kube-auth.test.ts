// `scone api --kube-auth` against the real API server: a ServiceAccount's token is reviewed (TokenReview), and each
// route asks RBAC (SubjectAccessReview). The ServiceAccount holds the shipped scone-api-operator rules through a Role
// in namespace A only: it starts a backup in A (202), gets 403 in B and for a list of every namespace, 401 without
// or with a bad token; /tokens is 404 and no token row is ever written. Two replicas (two state directories, one
// cluster) share the operation records: one accepted by the second is run by the first (the Lease holder), listed
// and readable in both; when the first stops mid-step, the second resumes that step and finishes the operation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPERATIONS_LEASE } from "../../../src/api/operations/replicas.ts";
import type { OperationRunners } from "../../../src/api/operations/runner.ts";
import { type RunningApi, serveApi } from "../../../src/api/run.ts";
import { apiOperatorRules } from "../../../src/install/rbac.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { createLogger } from "../../../src/log.ts";
import { openStore } from "../../../src/store/open.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { adminClient, freshNamespace, waitFor } from "../../harness/kube.ts";
import { cleanupSteps, installCrds } from "../../harness/operator.ts";

const quiet = createLogger({ level: "error", sink: { write() {} } });
// The flow itself is not under test here: a backup of one step that says which replica ran it. A backup of the
// CAS "held" waits in its step until the replica stops (the step then counts as interrupted).
const ran: string[] = [];
const runners = (replica: string): OperationRunners => ({
  backup: {
    run: async (op, report) => {
      await report.step("backup", async ({ interrupted, signal }) => {
        ran.push(`${replica}:${op.name}:${interrupted ? "interrupted" : "fresh"}`);
        if (op.name === "held" && !interrupted) {
          await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
        }
      });
      return { backupId: `bk-${op.id}`, by: replica };
    },
  },
});

describe.skipIf(!clusterAvailable())("scone api --kube-auth on a real API server", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let api: RunningApi;
  let api2: RunningApi;
  let nsA = "";
  let nsB = "";
  let saToken = "";
  const stateDir = mkdtempSync(join(tmpdir(), "scone-api-kubeauth-it-"));
  const stateDir2 = mkdtempSync(join(tmpdir(), "scone-api-kubeauth-it2-"));

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
    const replica = (dir: string, name: string) =>
      serveApi(
        {
          port: 0,
          host: "127.0.0.1",
          stateDir: dir,
          kubeconfig: cluster.kubeconfigPath,
          kubeAuth: true,
          namespace: nsA,
          runners: runners(name),
        },
        quiet,
      );
    api = await replica(stateDir, "api1");
    // The first replica holds the operations Lease before the second starts: it is the one that executes.
    await waitFor("the first replica to hold the operations Lease", async () => {
      const lease = await admin.tryGet<KubeObject & { spec?: { holderIdentity?: string } }>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        namespace: nsA,
        name: OPERATIONS_LEASE,
      });
      return Boolean(lease?.spec?.holderIdentity);
    });
    api2 = await replica(stateDir2, "api2");
  }, 300_000);

  afterAll(async () => {
    await cleanupSteps([
      () => api?.stop(),
      () => api2?.stop(),
      () => admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: nsA }),
      () => admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: nsB }),
      () => rmSync(stateDir, { recursive: true, force: true }),
      () => rmSync(stateDir2, { recursive: true, force: true }),
    ]);
  }, 60_000);

  const call = (path: string, init: { token?: string; body?: unknown; via?: RunningApi } = {}) =>
    fetch(`${(init.via ?? api).url}${path}`, {
      method: init.body === undefined ? "GET" : "POST",
      headers: {
        ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const backupIn = (namespace: string, token = saToken, name = "cas", via?: RunningApi) =>
    call("/api/v1/operations", { token, body: { kind: "backup", namespace, name }, ...(via ? { via } : {}) });
  const operation = async (id: string, via: RunningApi) =>
    (await (await call(`/api/v1/operations/${id}`, { token: saToken, via })).json()) as Operation;
  const settled = (id: string, via: RunningApi) =>
    waitFor(`operation ${id} to succeed`, async () => {
      const op = await operation(id, via);
      return op.phase === "succeeded" ? op : undefined;
    });

  test("a ServiceAccount with a Role in A starts a backup there (202) and gets 403 in B", async () => {
    const started = await backupIn(nsA);
    expect(started.status).toBe(202);
    const op = (await started.json()) as { id: string; createdBy: string };
    expect(op.createdBy).toBe(`system:serviceaccount:${nsA}:ci`);
    const done = await settled(op.id, api);
    expect(done.result).toEqual({ backupId: `bk-${op.id}`, by: "api1" });

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
    for (const dir of [stateDir, stateDir2]) {
      const store = openStore({ stateDir: dir });
      try {
        expect(store.sqlite.query("select count(*) as n from api_tokens").get()).toEqual({ n: 0 });
        // The records are in the cluster, not in either replica's SQLite.
        expect(store.sqlite.query("select count(*) as n from operations").get()).toEqual({ n: 0 });
      } finally {
        store.close();
      }
    }
  });

  test("an operation accepted by the second replica runs on the first, listed and readable in both", async () => {
    const started = await backupIn(nsA, saToken, "cas2", api2);
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as Operation;
    const done = await settled(id, api);
    expect(done.result).toEqual({ backupId: `bk-${id}`, by: "api1" });
    expect(await operation(id, api2)).toEqual(done);
    for (const via of [api, api2]) {
      const list = (await (await call(`/api/v1/operations?namespace=${nsA}`, { token: saToken, via })).json()) as {
        items: Operation[];
      };
      expect(list.items.map((o) => o.id)).toContain(id);
    }
  });

  test("the first replica stops mid-step: the second takes the Lease and resumes the step as interrupted", async () => {
    const started = await backupIn(nsA, saToken, "held", api2);
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as Operation;
    await waitFor("the held step running on the first replica", () => ran.includes("api1:held:fresh"));
    expect(await operation(id, api2)).toMatchObject({ phase: "running", currentStep: "backup", stepsDone: [] });
    expect((await backupIn(nsA, saToken, "held", api2)).status).toBe(409);

    await api.stop();
    const done = await settled(id, api2);
    expect(done.result).toEqual({ backupId: `bk-${id}`, by: "api2" });
    expect(done.stepsDone).toEqual(["backup"]);
    expect(ran.filter((r) => r.includes(":held:"))).toEqual(["api1:held:fresh", "api2:held:interrupted"]);
  });
});

interface Operation {
  id: string;
  phase: string;
  currentStep: string | null;
  stepsDone: string[];
  result: unknown;
  createdBy: string;
}
