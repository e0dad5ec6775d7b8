// Reconcile history in the cluster (issue 14): an operator (in process, the Vault controller) reconciles a Vault and
// its recorder writes the outcome to the Vault's history ConfigMap and an Event; `scone operator history`, a second
// process with only a kubeconfig, reads it back. A second operator (a restart, a new leader) carries the same
// record on: the CLI then shows the reconciles of both.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CoreV1Event } from "@kubernetes/client-node";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import type { HistoryRow } from "../../../src/operator/reconcile-history/read.ts";
import { ClusterHistory } from "../../../src/operator/reconcile-history/recorder.ts";
import { registerVaultController } from "../../../src/operator/vault/controller.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { freshNamespace, waitFor } from "../../harness/kube.ts";
import { buildOperatorContext, cleanupSteps, installCrds, type TestOperator } from "../../harness/operator.ts";
import { sampleVault, VAULT_VARS } from "../../harness/vault-sample.ts";

const TIMEOUT = 120_000;

describe.skipIf(!clusterAvailable())("reconcile history in the cluster", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let ns = "";
  const operators: TestOperator[] = [];

  /** An operator with the Vault controller whose reconciles go to the cluster history as replica `by`. */
  async function startOperator(by: string): Promise<TestOperator> {
    const op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath, operatorNamespace: ns });
    const history = new ClusterHistory({
      client: op.client,
      reader: op.ctx.kit.reader,
      events: op.ctx.kit.events,
      operatorNamespace: ns,
      by,
      kindOf: (c) => (c === "vault" ? "Vault" : c),
      log: op.ctx.log,
    });
    registerVaultController({ ...op.ctx, recordHistory: (r) => void history.record(r) }, { recheckMs: 60_000 });
    operators.push(op);
    await op.start();
    return op;
  }

  /** `scone operator history` of this checkout as its own process, with nothing but the kubeconfig. */
  async function cliHistory(args: string[]): Promise<{ code: number; rows: HistoryRow[]; stderr: string }> {
    const child = Bun.spawn(
      [
        process.execPath,
        `${import.meta.dir}/../../../src/main.ts`,
        "operator",
        "history",
        ...args,
        "--kubeconfig",
        cluster.kubeconfigPath,
        "-o",
        "json",
      ],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" } },
    );
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, rows: code === 0 ? (JSON.parse(stdout) as HistoryRow[]) : [], stderr };
  }

  beforeAll(async () => {
    cluster = await sharedCluster();
    const op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    admin = op.client;
    await installCrds(admin);
    ns = await freshNamespace(admin, "history");
  }, 1_800_000);

  afterAll(async () => {
    await cleanupSteps([
      ...operators.map((op) => () => op.stop()),
      () => admin && ns && admin.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: ns }),
    ]);
  }, TIMEOUT);

  test(
    "the leader's reconcile lands in the Vault's history ConfigMap and an Event; the CLI reads it from the cluster",
    async () => {
      await startOperator("replica-1");
      const sample = await sampleVault({ ...VAULT_VARS, NAMESPACE: ns });
      const { uid: _u, generation: _g, ...metadata } = sample.metadata;
      await admin.apply({ ...sample, metadata } as KubeObject, { fieldManager: "kubectl", force: true });

      const rows = await waitFor(
        "the CLI to show a reconcile of vault/vault that did something",
        async () => {
          const r = await cliHistory(["vault/vault", "-n", ns]);
          if (r.code !== 0) throw new Error(r.stderr);
          return r.rows.some((row) => row.actions.length > 0) ? r.rows : undefined;
        },
        TIMEOUT,
      );
      expect(rows.every((r) => r.kind === "Vault" && r.namespace === ns && r.name === "vault")).toBe(true);
      expect(rows.every((r) => r.by === "replica-1")).toBe(true);
      const changed = rows.find((r) => r.actions.length > 0);
      const events = await admin.list<CoreV1Event & KubeObject>(
        { apiVersion: "v1", kind: "Event" },
        { namespace: ns, fieldSelector: "involvedObject.name=vault,involvedObject.kind=Vault" },
      );
      expect(events.items.map((e) => e.reason)).toContain(changed?.error ? "ReconcileFailed" : "Reconciled");
      // The record is bounded and owned by the Vault (deleted with it).
      const cm = await admin.get<KubeObject & { data?: Record<string, string> }>({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: ns,
        name: "scone-history-vault-vault",
      });
      expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Vault", name: "vault" });
      expect(Buffer.byteLength(cm.data?.["history.json"] ?? "")).toBeLessThanOrEqual(32 * 1024);
    },
    TIMEOUT,
  );

  test(
    "after a restart (a new leader) the history holds the reconciles from before it and the new ones",
    async () => {
      const first = operators[0];
      await first?.stop();
      operators.splice(0, 1);
      // Something for the new leader to do: the StatefulSet the first one made is gone.
      await admin.deleteIfExists({ apiVersion: "apps/v1", kind: "StatefulSet", namespace: ns, name: "vault" });
      await startOperator("replica-2");
      const rows = await waitFor(
        "the CLI to show reconciles by both replicas",
        async () => {
          const r = await cliHistory(["vault", "-n", ns]);
          if (r.code !== 0) throw new Error(r.stderr);
          const by = new Set(r.rows.map((row) => row.by));
          return by.has("replica-1") && by.has("replica-2") ? r.rows : undefined;
        },
        TIMEOUT,
      );
      // Newest first: the new leader's entries come before the old one's.
      const order = rows.map((r) => r.by);
      expect(order.lastIndexOf("replica-2")).toBeLessThan(order.indexOf("replica-1"));
    },
    TIMEOUT,
  );
});
