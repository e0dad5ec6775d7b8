// The admission webhooks against a real kube-apiserver: our CRDs and our webhook configurations (URL mode, pointing
// at the in-process server), then what users see through kubectl: defaults filled in, invalid objects refused
// with the field named, a second LAS refused, and a forced certificate rotation that the API server follows.
//
// The shared cluster is used by other test files at the same time: the webhook configurations carry a unique
// name (the operator namespace is this suite's own) and an objectSelector on a label only this suite's objects
// carry, and everything is deleted in afterAll.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { createLogger } from "../../../src/log.ts";
import { WEBHOOK_GAUGES } from "../../../src/metrics/catalog.ts";
import { MetricsRegistry } from "../../../src/metrics/registry.ts";
import { createCa, createServingCert, readCertInfo } from "../../../src/operator/certs/pki.ts";
import { caSecretOf, secretOf, WEBHOOK_CA_SECRET, WEBHOOK_CERT_SECRET } from "../../../src/operator/certs/secret.ts";
import { ReadinessChecks } from "../../../src/operator/health.ts";
import type { RunningWebhooks } from "../../../src/operator/webhooks/run.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps, installCrds } from "../../harness/operator.ts";
import { CAS_API, LAS_API, type SuiteWebhooks, startSuiteWebhooks } from "../../harness/suite-webhooks.ts";

const SUITE = `scone-wh-${Math.random().toString(36).slice(2, 8)}`;
const LABEL_KEY = "scone-test/webhooks";
const LABELS = { [LABEL_KEY]: SUITE };
const FIELD_MANAGER = "scone-webhooks-test";

const yamlOf = (o: unknown): string => JSON.stringify(o); // kubectl reads JSON as YAML

describe.skipIf(!clusterAvailable())("admission webhooks on a real API server", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let webhooks: RunningWebhooks;
  let configs: KubeObject[] = [];
  let suiteWebhooks: SuiteWebhooks;
  const readiness = new ReadinessChecks();
  const metrics = new MetricsRegistry();
  /** scone_webhook_certificate_expiry_timestamp_seconds as the operator exports it. */
  const expiryGauge = () =>
    metrics.gauge(WEBHOOK_GAUGES.certificateExpiry.name, WEBHOOK_GAUGES.certificateExpiry.help).get({});
  const log = createLogger({ level: "warn", sink: process.stderr, component: "webhooks-test" });

  const caBundleOf = (kind: string, name: string) => suiteWebhooks.caBundleOf(kind, name);

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath, fieldManager: FIELD_MANAGER });
    await installCrds(admin);
    await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: SUITE } });

    suiteWebhooks = await startSuiteWebhooks(admin, SUITE, LABEL_KEY, { log, readiness, metrics });
    webhooks = suiteWebhooks.webhooks;
    configs = suiteWebhooks.configs;
  }, 300_000);

  afterAll(async () => {
    // Every step runs even when one before it fails: the configurations are cluster-wide with failurePolicy Fail.
    // The LAS objects go first, while the webhooks still serve (deletion is not admitted by them, but an API server
    // that still caches a configuration must find the server answering).
    await cleanupSteps([
      async () => {
        const lasList = await admin?.list(
          { apiVersion: LAS_API, kind: "LAS" },
          { labelSelector: `${LABEL_KEY}=${SUITE}` },
        );
        for (const las of lasList?.items ?? [])
          await admin.deleteIfExists({ apiVersion: LAS_API, kind: "LAS", name: las.metadata?.name ?? "" });
      },
      () => suiteWebhooks?.stop(),
      () => admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: SUITE }),
    ]);
  }, 60_000);

  test("a LAS without image gets the versioned default image and the injected nodeSelector", async () => {
    const las = { apiVersion: LAS_API, kind: "LAS", metadata: { name: `${SUITE}-las`, labels: LABELS }, spec: {} };
    const r = await cluster.kubectl(["create", "-f", "-"], { stdin: yamlOf(las) });
    expect(r.stderr).toBe("");
    const stored = await admin.get<KubeObject & { spec: Record<string, unknown> }>({
      apiVersion: LAS_API,
      kind: "LAS",
      name: las.metadata.name,
    });
    expect(stored.spec.image).toBe("registry.scontain.com/scone.cloud/las:6.0.6");
    expect(stored.spec.nodeSelector).toEqual({ "sgx.intel.com/capable": "true" });
    expect(stored.spec.namespace).toBe(SUITE);
  });

  test("the readiness check reports the webhooks ready", () => {
    expect(readiness.evaluate()).toEqual({ ok: true, results: { webhooks: { ok: true } } });
  });

  // The CRD schema (pattern, length) refuses it before our validating webhook is asked; our webhook's own nonce
  // message is covered by the unit tests. What matters to the user: the field is named in kubectl's error.
  test("a CAS with a bad nonce is refused, naming the field", async () => {
    const cas = {
      apiVersion: CAS_API,
      kind: "CAS",
      metadata: { name: "bad-nonce", namespace: SUITE, labels: LABELS },
      spec: { nonce: "not-hex" },
    };
    const r = await cluster.kubectl(["create", "-f", "-"], { stdin: yamlOf(cas) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("spec.nonce");
  });

  test("a rule no schema can express is refused by our validating webhook, in kubectl's error", async () => {
    const cas = {
      apiVersion: CAS_API,
      kind: "CAS",
      metadata: { name: "no-session", namespace: SUITE, labels: LABELS },
      spec: { "backup-controller": { enabled: true } },
    };
    const r = await cluster.kubectl(["create", "-f", "-"], { stdin: yamlOf(cas) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('admission webhook "vcas.kb.io" denied the request');
    expect(r.stderr).toContain("spec.backup-controller.session: required when spec.backup-controller.enabled is true");
  });

  test("a valid CAS is admitted with a generated nonce", async () => {
    const cas = {
      apiVersion: CAS_API,
      kind: "CAS",
      metadata: { name: "good", namespace: SUITE, labels: LABELS },
      spec: {},
    };
    const r = await cluster.kubectl(["create", "-f", "-"], { stdin: yamlOf(cas) });
    expect(r.stderr).toBe("");
    const stored = await admin.get<KubeObject & { spec: { nonce?: string; image?: string } }>({
      apiVersion: CAS_API,
      kind: "CAS",
      namespace: SUITE,
      name: "good",
    });
    expect(stored.spec.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(stored.spec.image).toBe("registry.scontain.com/scone.cloud/cas:6.0.6");
  });

  test("a second LAS is refused", async () => {
    const las = { apiVersion: LAS_API, kind: "LAS", metadata: { name: `${SUITE}-las2`, labels: LABELS }, spec: {} };
    const r = await cluster.kubectl(["create", "-f", "-"], { stdin: yamlOf(las) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`only one LAS per cluster is allowed: LAS "${SUITE}-las" already exists`);
  });

  test("the CA key is stored in its own Secret, not beside the serving key", async () => {
    const secret = (name: string) => admin.get<V1Secret>({ apiVersion: "v1", kind: "Secret", namespace: SUITE, name });
    expect(Object.keys((await secret(WEBHOOK_CERT_SECRET)).data ?? {}).sort()).toEqual([
      "ca.crt",
      "tls.crt",
      "tls.key",
    ]);
    const ca = await secret(WEBHOOK_CA_SECRET);
    expect(Buffer.from(ca.data?.["ca.key"] ?? "", "base64").toString()).toBe(
      webhooks.certificates?.ca.keyPem ?? "missing",
    );
  });

  test("a steady state writes nothing", async () => {
    const secretRef = { apiVersion: "v1", kind: "Secret", namespace: SUITE, name: WEBHOOK_CERT_SECRET };
    const versions = async () => [
      (await admin.get(secretRef)).metadata?.resourceVersion,
      ...(await Promise.all(
        configs.map(
          async (c) =>
            (
              await admin.get({ apiVersion: c.apiVersion ?? "", kind: c.kind ?? "", name: c.metadata?.name ?? "" })
            ).metadata?.resourceVersion,
        ),
      )),
    ];
    // One check first, so a check a watch event queued before this test is not what the comparison sees; then a
    // check in the steady state must write neither the Secret nor either configuration.
    await webhooks.syncNow();
    const before = await versions();
    await webhooks.syncNow();
    expect(await versions()).toEqual(before);
  });

  test("an expired certificate forced into the Secret is replaced, caBundle follows, and admission keeps working", async () => {
    const secretRef = { apiVersion: "v1", kind: "Secret", namespace: SUITE, name: WEBHOOK_CERT_SECRET };
    const mutatingName = configs[0]?.metadata?.name ?? "";
    const bundleBefore = await caBundleOf("MutatingWebhookConfiguration", mutatingName);
    const servedBefore = webhooks.certificates?.serving.certPem;

    const longAgo = new Date(Date.now() - 400 * 24 * 3600 * 1000);
    const oldCa = await createCa("expired-ca", { now: longAgo, validityMs: 30 * 24 * 3600 * 1000 });
    const oldServing = await createServingCert(
      oldCa,
      { dns: ["x"], ips: ["127.0.0.1"] },
      { now: longAgo, validityMs: 10 * 24 * 3600 * 1000 },
    );
    // The CA Secret first (as the keeper writes), so the keeper never sees a CA whose serving Secret is newer.
    const caRef = { apiVersion: "v1", kind: "Secret", namespace: SUITE, name: WEBHOOK_CA_SECRET };
    await admin.replace(caSecretOf(SUITE, oldCa, await admin.get<V1Secret>(caRef)));
    const current = await admin.get<V1Secret>(secretRef);
    await admin.replace(
      secretOf(SUITE, { ca: oldCa, caBundlePem: oldCa.certPem, serving: oldServing, renewAt: longAgo }, current),
    );

    // The keeper sees the Secret change, issues a new CA and certificate, and updates both configurations.
    const renewed = await waitFor("renewed certificate in the Secret", async () => {
      const s = await admin.get<V1Secret>(secretRef);
      const crt = Buffer.from(s.data?.["tls.crt"] ?? "", "base64").toString();
      const info = readCertInfo(crt);
      return info && info.notAfter.getTime() > Date.now() && crt !== servedBefore ? crt : undefined;
    });
    // The keeper writes the two configurations one after the other: await the new bundle in both.
    const validatingName = configs[1]?.metadata?.name ?? "";
    const bundleAfter = await waitFor("new caBundle in both configurations", async () => {
      const b = await caBundleOf("MutatingWebhookConfiguration", mutatingName);
      const v = await caBundleOf("ValidatingWebhookConfiguration", validatingName);
      return b !== undefined && b !== bundleBefore && v !== bundleBefore ? b : undefined;
    });
    expect(await caBundleOf("ValidatingWebhookConfiguration", validatingName)).toBe(bundleAfter);
    expect(Buffer.from(bundleAfter, "base64").toString()).not.toContain(oldCa.certPem.trim());
    await waitFor("the new certificate served", async () => webhooks.certificates?.serving.certPem === renewed);
    // The expiry gauge (alert SconeWebhookCertificateExpiringSoon) follows the served certificate.
    expect(expiryGauge()).toBe(Math.floor((readCertInfo(renewed)?.notAfter.getTime() ?? 0) / 1000));
    expect(expiryGauge()).toBeGreaterThan(Date.now() / 1000 + 14 * 86400);

    // The API server trusts the new CA: an update is still mutated (a tag-less image gets the version).
    const lasRef = { apiVersion: LAS_API, kind: "LAS", name: `${SUITE}-las` };
    const image = await waitFor("admission through the new certificate", async () => {
      const updated = await admin.patch<KubeObject & { spec: { image?: string } }>(
        lasRef,
        { spec: { image: "mirror.local/las" } },
        "merge",
      );
      return updated.spec.image === "mirror.local/las:6.0.6" ? updated.spec.image : undefined;
    });
    expect(image).toBe("mirror.local/las:6.0.6");
  }, 200_000);
});
