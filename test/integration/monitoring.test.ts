// Monitoring, proven on the local cluster: a real Prometheus (hack/prometheus-binaries.sh) on 127.0.0.1 scrapes the
// operator's /metrics (the operator's controllers and Manager in this process, against the test cluster's API
// server) with scone's alert rules loaded (`for:` shortened to seconds, evaluated every second). A CAS that stops
// answering fires SconeCASNotHealthy for exactly that CAS, and the alert resolves once it answers again. The live
// scrape and Prometheus' own PromQL parser check what the unit tests check against the catalogue: every query of the
// rules and the dashboard reads metrics the operator exports.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeClient } from "../../src/kube/client.ts";
import { METRIC_CATALOG, ONLY_WHILE_ACTIVE, seriesNames } from "../../src/metrics/catalog.ts";
import { DASHBOARD_PATH, dashboardExpressions } from "../../src/metrics/dashboard.ts";
import { metricNamesOf } from "../../src/metrics/promql-names.ts";
import { ALERTS } from "../../src/metrics/rules.ts";
import { registerCasController } from "../../src/operator/cas/controller.ts";
import type { CasProbe, CasProbeResult } from "../../src/operator/cas/probe.ts";
import type { CAS } from "../../src/resources/cas.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/kube.ts";
import {
  buildOperatorContext,
  cleanupSteps,
  installCrds,
  restoreHarnessNodeLabels,
  type TestOperator,
  zoneAVolume,
} from "../harness/operator.ts";
import {
  type PrometheusBinaries,
  prometheusBinaries,
  type RunningPrometheus,
  scratchDir,
  startPrometheus,
  writeRuleFile,
} from "../harness/prometheus.ts";
import { sharedPath } from "../harness/shared.ts";

const NS = `scone-mon-${Math.random().toString(36).slice(2, 8)}`;
const NAME = "cas";
const SAMPLE = sharedPath("reference", "upstream-samples", "manifests-6.0.6", "cas_provisioning.yaml");
const IMAGE = "registry.scontain.com/scone.cloud/cas:6.0.6";
const SGX_NODES = ["sgx-node-1", "sgx-node-2", "sgx-node-3"];
const CAS_REF = { apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", namespace: NS, name: NAME };
const CLAIMS = [`database-${NAME}-0`, `database-snapshots-${NAME}-0`];
const HEALTHY_ANSWER: CasProbeResult = {
  reachable: true,
  provisioned: "Yes",
  attestable: true,
  snapshotTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  snapshotCheckupTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
};

/** The CAS as the test switches it: `undefined` = it does not answer (as a CAS whose pod or network is gone). */
class SwitchableCas implements CasProbe {
  answer: CasProbeResult | undefined = HEALTHY_ANSWER;
  async probe(): Promise<CasProbeResult> {
    if (!this.answer) throw new Error("connect ECONNREFUSED 198.18.0.10:8081 (test: the CAS stopped answering)");
    return this.answer;
  }
}

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
}
interface AstNode {
  type?: string;
  name?: string;
  [k: string]: unknown;
}

/** The metric names in Prometheus' own parse of `query` (vector and matrix selectors). */
function selectorNames(ast: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(ast)) for (const x of ast) selectorNames(x, out);
  else if (ast && typeof ast === "object") {
    const n = ast as AstNode;
    if ((n.type === "vectorSelector" || n.type === "matrixSelector") && n.name) out.add(n.name);
    for (const v of Object.values(n)) selectorNames(v, out);
  }
  return out;
}

describe.skipIf(!clusterAvailable())("Prometheus scraping the operator, with scone's alert rules", () => {
  let cluster: LocalCluster;
  let op: TestOperator;
  let client: KubeClient;
  let bin: PrometheusBinaries;
  let prom: RunningPrometheus | undefined;
  const scratch = scratchDir("scone-monitoring-");
  const cas = new SwitchableCas();

  const mergeNode = (name: string, labels: Record<string, string | null>) =>
    client.patch({ apiVersion: "v1", kind: "Node", name }, { metadata: { labels } }, "merge");
  const casState = async () => (await client.get<CAS>(CAS_REF)).status?.state;
  const ourAlerts = async (): Promise<ApiAlert[]> => {
    const data = await (prom as RunningPrometheus).api<{ alerts: ApiAlert[] }>("/api/v1/alerts");
    return data.alerts.filter((a) => a.labels.alertname === "SconeCASNotHealthy" && a.labels.cr_namespace === NS);
  };
  const promValue = async (query: string): Promise<string | undefined> => {
    const data = await (prom as RunningPrometheus).api<{ result: { value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(query)}`,
    );
    return data.result[0]?.value[1];
  };

  /** The CAS HEALTHY in its status, and scraped so by Prometheus. */
  const healthyInPrometheus = async () => {
    await waitFor("the CAS HEALTHY", async () => (await casState()) === "HEALTHY", 120_000);
    await waitFor(
      "Prometheus to see the CAS HEALTHY",
      async () => (await promValue(`scone_cas_state{cr_namespace="${NS}",cr_name="${NAME}"}`)) === "1",
    );
  };

  beforeAll(async () => {
    bin = prometheusBinaries();
    cluster = await sharedCluster();
    op = await buildOperatorContext({ kubeconfigPath: cluster.kubeconfigPath });
    client = op.client;
    await installCrds(client);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    // What LAS would do on healthy SGX nodes (no LAS runs here); the CAS's volumes, pre-bound (no provisioner).
    for (const n of SGX_NODES)
      await mergeNode(n, { "las.scontain.com/capable": "true", "las.scontain.com/ok": "true" });
    for (const claim of CLAIMS) await client.create(zoneAVolume(NS, claim));
    registerCasController(op.ctx, cas, {
      podDeletionBackoffMs: 2_000,
      healthyRecheckMs: 1_000,
      unhealthyRecheckMs: 500,
    });
    await op.start();
    const manifest = readFileSync(SAMPLE, "utf8")
      .replaceAll("$NAMESPACE", NS)
      .replaceAll("$NAME", NAME)
      .replaceAll("$IMAGE", IMAGE);
    const applied = await cluster.kubectl(["apply", "-f", "-"], { stdin: manifest });
    if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);
    // The rules as shipped, `for:` shortened so the test waits seconds, not minutes.
    const ruleFile = writeRuleFile(scratch.dir, { forOverride: "3s" });
    prom = await startPrometheus(bin, {
      dir: scratch.dir,
      target: `127.0.0.1:${op.ctx.manager.ports.metrics}`,
      ruleFile,
    });
  }, 3_600_000);

  afterAll(async () => {
    await cleanupSteps([
      () => prom?.stop(),
      () => op?.stop(),
      () => client && restoreHarnessNodeLabels(client),
      () => client?.patch(CAS_REF, { metadata: { finalizers: null } }, "merge").catch(() => undefined),
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
      ...CLAIMS.map(
        (claim) => () => client?.deleteIfExists({ apiVersion: "v1", kind: "PersistentVolume", name: `${NS}-${claim}` }),
      ),
      () => scratch.remove(),
    ]);
  }, 120_000);

  test("Prometheus scrapes the operator; the rules and the dashboard read only metrics it exports", async () => {
    await healthyInPrometheus();
    expect(await promValue('up{job="scone-operator"}')).toBe("1");

    // The live exposition: every CAS and controller metric of the catalogue is there (the other kinds' gauges need
    // their controllers, which this process does not run; they come from the same catalogue constants).
    const text = await (await fetch(`http://127.0.0.1:${op.ctx.manager.ports.metrics}/metrics`)).text();
    const live = new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1] ?? ""));
    const expected = [...METRIC_CATALOG]
      .filter(([name]) => name.startsWith("scone_cas_") || name.startsWith("scone_controller_"))
      .filter(([name]) => !ONLY_WHILE_ACTIVE.has(name)) // no CAS ships an audit log here
      .flatMap(([name, type]) => seriesNames(name, type));
    expect(expected.filter((n) => !live.has(n))).toEqual([]);
    // And nothing the operator exports under scone_ is missing from the catalogue.
    const catalogued = new Set([...METRIC_CATALOG].flatMap(([name, type]) => seriesNames(name, type)));
    expect([...live].filter((n) => n.startsWith("scone_") && !catalogued.has(n))).toEqual([]);

    // Prometheus' parser finds the same metric names as the extraction the unit tests rely on.
    const dashboard = JSON.parse(readFileSync(join(import.meta.dir, "../..", DASHBOARD_PATH), "utf8")) as unknown;
    for (const query of [...ALERTS.map((a) => a.expr), ...dashboardExpressions(dashboard)]) {
      const ast = await (prom as RunningPrometheus).api<unknown>(
        `/api/v1/parse_query?query=${encodeURIComponent(query)}`,
      );
      expect({ query, names: [...selectorNames(ast)].sort() }).toEqual({
        query,
        names: [...metricNamesOf(query)].sort(),
      });
    }
  }, 180_000);

  test("a CAS that stops answering fires SconeCASNotHealthy for that CAS; it resolves when the CAS answers again", async () => {
    await healthyInPrometheus();
    // Quiet while healthy: no pending or firing alert for this CAS.
    expect(await ourAlerts()).toEqual([]);

    cas.answer = undefined;
    const firing = await waitFor(
      "SconeCASNotHealthy firing",
      async () => (await ourAlerts()).find((a) => a.state === "firing"),
      120_000,
    );
    expect(await casState()).toBe("UNHEALTHY");
    expect(firing.labels).toMatchObject({ cr_name: NAME, cr_namespace: NS, severity: "critical" });
    expect(firing.annotations.summary).toBe(`CAS ${NS}/${NAME} is not HEALTHY`);
    expect(firing.annotations.description).toContain(`kubectl describe cas -n ${NS} ${NAME}`);
    expect(firing.annotations.runbook_url).toBe("docs/runbooks.md#sconecasnothealthy");

    cas.answer = HEALTHY_ANSWER;
    await waitFor("SconeCASNotHealthy resolved", async () => (await ourAlerts()).length === 0, 120_000);
    expect(await casState()).toBe("HEALTHY");
  }, 300_000);
});
