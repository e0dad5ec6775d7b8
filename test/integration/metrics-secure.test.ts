// `scone operator --metrics-secure` (the compiled binary) against the real API server: /metrics over HTTPS answers
// only a token the API server authenticates (TokenReview) whose user may `get /metrics` (SubjectAccessReview) —
// here a ServiceAccount bound to the installed ClusterRole scone-metrics-reader — and refuses no token (401) and an
// authenticated ServiceAccount without that binding (403). The plain probe port serves no metrics.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../hack/cluster/ports.ts";
import { renderMetricsReaderRole } from "../../src/install/monitoring.ts";
import { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/kube.ts";
import { cleanupSteps, installCrds, spawnOperator } from "../harness/operator.ts";

const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../dist/scone");
const NS = `metrics-sec-${Math.random().toString(36).slice(2, 8)}`;

describe.skipIf(!existsSync(BINARY) || !clusterAvailable())("scone operator --metrics-secure", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let operator: ReturnType<typeof Bun.spawn> | undefined;
  const state = mkdtempSync(join(tmpdir(), "scone-metrics-secure-"));
  const ports = { probe: 0, metrics: 0 };
  const tokens = { scraper: "", stranger: "" };
  const reader = renderMetricsReaderRole(NS, {});
  const binding: KubeObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `${NS}-scraper` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: reader.metadata?.name },
    subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: NS }],
  } as KubeObject;
  // The operator's certificate is self-signed (no --metrics-cert-dir): the client skips verification, as a
  // ServiceMonitor with insecureSkipVerify does; the token is what is checked.
  const scrape = (token?: string) =>
    fetch(`https://127.0.0.1:${ports.metrics}/metrics`, {
      tls: { rejectUnauthorized: false },
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    await installCrds(admin);
    await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    for (const name of ["scraper", "stranger"]) {
      await admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: NS } });
      tokens[name as keyof typeof tokens] = (
        await admin.createToken({ name, namespace: NS }, { expirationSeconds: 600 })
      ).token;
    }
    await admin.apply(reader, { fieldManager: "scone-test" });
    await admin.apply(binding, { fieldManager: "scone-test" });
    // RBAC reaches the API server's authorizer through its cache: wait until it allows the scraper, so the
    // operator's first review (cached for a minute) sees the binding.
    await waitFor("the reader binding in effect", async () => {
      const sar = await admin.create<KubeObject & { status?: { allowed?: boolean } }>({
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: `system:serviceaccount:${NS}:scraper`,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${NS}`, "system:authenticated"],
          nonResourceAttributes: { path: "/metrics", verb: "get" },
        },
      } as KubeObject);
      return sar.status?.allowed === true;
    });
    ports.probe = await freePort();
    ports.metrics = await freePort();
    operator = spawnOperator({
      binary: BINARY,
      kubeconfigPath: cluster.kubeconfigPath,
      stateDir: state,
      namespace: NS,
      probePort: ports.probe,
      metricsPort: ports.metrics,
      logFile: join(state, "op.log"),
      extra: ["--metrics-secure"],
    });
    await waitFor(
      "the operator's HTTPS metrics port",
      async () => (await scrape().catch(() => undefined))?.status === 401,
    );
  }, 300_000);

  afterAll(async () => {
    await cleanupSteps([
      async () => {
        operator?.kill("SIGTERM");
        await operator?.exited;
      },
      () =>
        admin?.deleteIfExists({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          name: `${NS}-scraper`,
        }),
      () =>
        admin?.deleteIfExists({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRole",
          name: reader.metadata?.name ?? "",
        }),
      () => admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
      () => rmSync(state, { recursive: true, force: true }),
    ]);
  }, 120_000);

  test("no token: 401; an authenticated ServiceAccount without the reader role: 403", async () => {
    const none = await scrape();
    expect(none.status).toBe(401);
    expect(await none.text()).not.toContain("process_resident_memory_bytes");
    expect((await scrape("not-a-token")).status).toBe(401);
    const stranger = await scrape(tokens.stranger);
    expect(stranger.status).toBe(403);
    expect(await stranger.text()).toContain(`system:serviceaccount:${NS}:stranger may not get /metrics`);
  }, 60_000);

  test("the ServiceAccount bound to scone-metrics-reader gets the metrics", async () => {
    const r = await scrape(tokens.scraper);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain("process_resident_memory_bytes");
  }, 60_000);

  test("the probe port answers /healthz over HTTP but serves no metrics", async () => {
    expect((await fetch(`http://127.0.0.1:${ports.probe}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.probe}/metrics`)).status).toBe(404);
  }, 60_000);
});
