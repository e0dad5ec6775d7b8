// The webhook CA's key lives in its own Secret (scone-webhook-ca), never beside the serving pair, and the keeper
// moves a CA key an older scone stored in webhook-server-cert. An in-memory API (create/replace with
// resourceVersion checks) stands in for the cluster.
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { AlreadyExistsError, ConflictError } from "../../../../src/kube/errors.ts";
import { ensureWebhookCertificates } from "../../../../src/operator/certs/ensure.ts";
import { createCa, createServingCert, isSignedBy, splitPemBundle } from "../../../../src/operator/certs/pki.ts";
import { webhookSans } from "../../../../src/operator/certs/renewal.ts";
import {
  assess,
  caSecretOf,
  pemsOfSecrets,
  renew,
  secretOf,
  WEBHOOK_CA_SECRET,
  WEBHOOK_CERT_SECRET,
} from "../../../../src/operator/certs/secret.ts";

const T0 = new Date("2026-01-01T00:00:00Z");
const SANS = webhookSans("ns");
const decode = (s: V1Secret | undefined, key: string) => Buffer.from(s?.data?.[key] ?? "", "base64").toString();

/** Secrets by name; writes carry resourceVersion like the API server's. */
class SecretStore {
  readonly secrets = new Map<string, V1Secret>();
  writes: string[] = [];
  private rv = 0;
  put(s: V1Secret): void {
    this.secrets.set(s.metadata?.name ?? "", { ...s, metadata: { ...s.metadata, resourceVersion: String(++this.rv) } });
  }
  get client(): KubeClient {
    const status = (reason: string) => ({ code: 409, reason, message: reason });
    const ctx = { method: "PUT", path: "secrets" };
    return {
      tryGet: async (ref: { name: string }) => structuredClone(this.secrets.get(ref.name)),
      create: async (s: V1Secret) => {
        const name = s.metadata?.name ?? "";
        if (this.secrets.has(name)) throw new AlreadyExistsError(status("AlreadyExists"), ctx);
        this.writes.push(`create ${name}`);
        this.put(s);
        return s;
      },
      replace: async (s: V1Secret) => {
        const name = s.metadata?.name ?? "";
        if (this.secrets.get(name)?.metadata?.resourceVersion !== s.metadata?.resourceVersion) {
          throw new ConflictError(status("Conflict"), ctx);
        }
        this.writes.push(`replace ${name}`);
        this.put(s);
        return s;
      },
    } as unknown as KubeClient;
  }
}

describe("webhook CA key storage", () => {
  test("the serving Secret holds the serving pair and bundle only; the CA Secret holds the CA pair", async () => {
    const store = new SecretStore();
    const result = await ensureWebhookCertificates(store.client, { namespace: "ns", sans: SANS, now: () => T0 });
    expect(result.action).toBe("created");
    const serving = store.secrets.get(WEBHOOK_CERT_SECRET);
    const ca = store.secrets.get(WEBHOOK_CA_SECRET);
    expect(Object.keys(serving?.data ?? {}).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    expect(JSON.stringify(serving)).not.toContain(Buffer.from(result.certificates.ca.keyPem).toString("base64"));
    expect(Object.keys(ca?.data ?? {}).sort()).toEqual(["ca.crt", "ca.key"]);
    expect(ca?.type).toBe("Opaque");
    expect(decode(ca, "ca.key")).toBe(result.certificates.ca.keyPem);
    expect(store.writes).toEqual([`create ${WEBHOOK_CA_SECRET}`, `create ${WEBHOOK_CERT_SECRET}`]);

    // Steady state: nothing written; the serving certificate renews from the stored CA.
    store.writes = [];
    const again = await ensureWebhookCertificates(store.client, { namespace: "ns", sans: SANS, now: () => T0 });
    expect(again.action).toBe("kept");
    expect(store.writes).toEqual([]);
    const later = new Date(T0.getTime() + 70 * 24 * 3600 * 1000);
    const renewed = await ensureWebhookCertificates(store.client, { namespace: "ns", sans: SANS, now: () => later });
    expect(renewed.action).toBe("renewed");
    expect(store.writes).toEqual([`replace ${WEBHOOK_CERT_SECRET}`]);
    expect(renewed.certificates.caBundlePem).toBe(result.certificates.caBundlePem);
  });

  test("a CA key an older scone kept in the serving Secret moves to the CA Secret, same CA and bundle", async () => {
    const ca = await createCa("legacy", { now: T0 });
    const servingPair = await createServingCert(ca, SANS, { now: T0 });
    const certs = { ca, caBundlePem: ca.certPem, serving: servingPair, renewAt: T0 };
    const legacy = secretOf("ns", certs);
    legacy.data = { ...legacy.data, "ca.key": Buffer.from(ca.keyPem).toString("base64") };
    const store = new SecretStore();
    store.put(legacy);

    const result = await ensureWebhookCertificates(store.client, { namespace: "ns", sans: SANS, now: () => T0 });
    expect(store.writes).toEqual([`create ${WEBHOOK_CA_SECRET}`, `replace ${WEBHOOK_CERT_SECRET}`]);
    expect(result.certificates.ca.certPem).toBe(ca.certPem);
    expect(result.certificates.serving.certPem).toBe(servingPair.certPem);
    expect(Object.keys(store.secrets.get(WEBHOOK_CERT_SECRET)?.data ?? {}).sort()).toEqual([
      "ca.crt",
      "tls.crt",
      "tls.key",
    ]);
    expect(decode(store.secrets.get(WEBHOOK_CA_SECRET), "ca.key")).toBe(ca.keyPem);
  });

  test("a CA another replica stored before writing the serving Secret is adopted; the old CA stays trusted", async () => {
    const old = await renew({}, await assess({}, T0, SANS), T0, SANS);
    const newCa = await createCa("new", { now: T0 });
    const pems = pemsOfSecrets(secretOf("ns", old), caSecretOf("ns", newCa));
    const assessment = await assess(pems, T0, SANS);
    expect(assessment.current).toBeUndefined();
    expect(assessment.plan).toEqual({ ca: undefined, serving: "not signed by the CA" });
    const next = await renew(pems, assessment, T0, SANS);
    expect(next.ca.certPem).toBe(newCa.certPem);
    expect(await isSignedBy(next.serving.certPem, newCa.certPem)).toBe(true);
    expect(splitPemBundle(next.caBundlePem)).toEqual([newCa.certPem.trim(), old.ca.certPem.trim()]);
  });
});
