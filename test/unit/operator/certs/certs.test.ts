// Certificates of the webhook server: what is issued, and when it is replaced (pure decisions with a fixed clock).
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { caBundlePatch } from "../../../../src/operator/certs/ca-bundle.ts";
import {
  createCa,
  createServingCert,
  isSignedBy,
  keyMatchesCert,
  readCertInfo,
  splitPemBundle,
} from "../../../../src/operator/certs/pki.ts";
import {
  caRenewalReason,
  planRenewal,
  renewalTime,
  servingRenewalReason,
  webhookSans,
} from "../../../../src/operator/certs/renewal.ts";
import { assess, caSecretOf, pemsOfSecrets, renew, secretOf } from "../../../../src/operator/certs/secret.ts";

const DAY = 24 * 3600 * 1000;
const T0 = new Date("2026-01-01T00:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const SANS = webhookSans("scone-system", { ips: ["127.0.0.1"] });

describe("webhookSans", () => {
  test("names the webhook Service and the API Service (--with-api) in the namespace, plus extras", () => {
    expect(SANS).toEqual({
      dns: [
        "scone-webhook-service.scone-system.svc",
        "scone-webhook-service.scone-system.svc.cluster.local",
        "scone-api.scone-system.svc",
        "scone-api.scone-system.svc.cluster.local",
      ],
      ips: ["127.0.0.1"],
    });
  });
});

describe("issued certificates", async () => {
  const ca = await createCa("test-ca", { now: T0 });
  const serving = await createServingCert(ca, SANS, { now: T0 });

  test("the CA is a CA valid for 10 years, the serving certificate for 90 days", () => {
    const caInfo = readCertInfo(ca.certPem);
    const info = readCertInfo(serving.certPem);
    expect(caInfo?.isCa).toBe(true);
    expect(info?.isCa).toBe(false);
    expect(Math.round(((caInfo?.notAfter.getTime() ?? 0) - T0.getTime()) / DAY)).toBe(3650);
    expect(Math.round(((info?.notAfter.getTime() ?? 0) - T0.getTime()) / DAY)).toBe(90);
    expect(info?.sans).toEqual(SANS);
  });

  test("the serving certificate chains to the CA (checked by node:crypto too)", async () => {
    expect(await isSignedBy(serving.certPem, ca.certPem)).toBe(true);
    const other = await createCa("other", { now: T0 });
    expect(await isSignedBy(serving.certPem, other.certPem)).toBe(false);
    expect(new X509Certificate(serving.certPem).checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(new X509Certificate(serving.certPem).checkHost("scone-webhook-service.scone-system.svc")).toBeDefined();
    expect(new X509Certificate(serving.certPem).checkIP("127.0.0.1")).toBe("127.0.0.1");
  });

  test("keys match their certificates only", async () => {
    expect(await keyMatchesCert(serving.keyPem, serving.certPem)).toBe(true);
    expect(await keyMatchesCert(ca.keyPem, serving.certPem)).toBe(false);
    expect(await keyMatchesCert("not a key", serving.certPem)).toBe(false);
  });
});

describe("renewal decisions", async () => {
  const caInfo = readCertInfo((await createCa("ca", { now: T0 })).certPem);
  const servingInfo = readCertInfo(
    (await createServingCert(await createCa("ca", { now: T0 }), SANS, { now: T0 })).certPem,
  );
  const storedCa = { info: caInfo, keyMatches: true };
  const storedServing = { info: servingInfo, keyMatches: true, signedByCa: true };

  test("renewal time is at 2/3 of the lifetime", () => {
    if (!servingInfo) throw new Error("unreadable");
    const t = renewalTime(servingInfo).getTime();
    const life = servingInfo.notAfter.getTime() - servingInfo.notBefore.getTime();
    expect(t - servingInfo.notBefore.getTime()).toBe(Math.round((life * 2) / 3));
  });

  test("a fresh serving certificate is kept; due at 2/3, replaced when expired", () => {
    expect(servingRenewalReason(storedServing, at(1), SANS, false)).toBeUndefined();
    expect(servingRenewalReason(storedServing, at(59), SANS, false)).toBeUndefined();
    expect(servingRenewalReason(storedServing, at(61), SANS, false)).toBe("due for renewal");
    expect(servingRenewalReason(storedServing, at(91), SANS, false)).toBe("expired");
  });

  test("changed names, a mismatched key, another CA or a new CA replace it", () => {
    const moreSans = webhookSans("scone-system", { ips: ["127.0.0.1", "10.0.0.1"] });
    expect(servingRenewalReason(storedServing, at(1), moreSans, false)).toBe("names changed");
    expect(servingRenewalReason({ ...storedServing, keyMatches: false }, at(1), SANS, false)).toBe("key mismatch");
    expect(servingRenewalReason({ ...storedServing, signedByCa: false }, at(1), SANS, false)).toBe(
      "not signed by the CA",
    );
    expect(servingRenewalReason(storedServing, at(1), SANS, true)).toBe("CA replaced");
    expect(servingRenewalReason(undefined, at(1), SANS, false)).toBe("missing");
  });

  test("the CA is kept for years and replaced when broken", () => {
    expect(caRenewalReason(storedCa, at(365 * 6))).toBeUndefined();
    expect(caRenewalReason(storedCa, at(365 * 7))).toBe("due for renewal");
    expect(caRenewalReason({ ...storedCa, keyMatches: false }, at(1))).toBe("key mismatch");
    expect(caRenewalReason({ info: servingInfo, keyMatches: true }, at(1))).toBe("not a CA");
    expect(caRenewalReason(undefined, at(1))).toBe("missing");
  });

  test("a CA renewal renews the serving certificate too", () => {
    expect(planRenewal({ ca: storedCa, serving: storedServing }, at(1), SANS)).toEqual({
      ca: undefined,
      serving: undefined,
    });
    expect(planRenewal({ ca: storedCa, serving: storedServing }, at(365 * 7), SANS)).toEqual({
      ca: "due for renewal",
      serving: "CA replaced",
    });
  });
});

describe("the Secret's contents", () => {
  test("empty → new CA and serving certificate; stored → kept; serving due → renewed from the same CA", async () => {
    const empty = await assess(pemsOfSecrets(undefined, undefined), T0, SANS);
    expect(empty.plan).toEqual({ ca: "missing", serving: "CA replaced" });
    const first = await renew({}, empty, T0, SANS);
    const secret = secretOf("scone-system", first);
    expect(secret.type).toBe("kubernetes.io/tls");
    const stored = pemsOfSecrets(secret, caSecretOf("scone-system", first.ca));
    const later = await assess(stored, at(30), SANS);
    expect(later.plan).toEqual({ ca: undefined, serving: undefined });
    expect(later.current?.serving.certPem).toBe(first.serving.certPem);
    const servingInfo = readCertInfo(first.serving.certPem);
    if (!servingInfo) throw new Error("unreadable serving certificate");
    expect(later.current?.renewAt).toEqual(renewalTime(servingInfo)); // the serving certificate is due before the CA

    const due = await assess(stored, at(70), SANS);
    expect(due.plan.serving).toBe("due for renewal");
    const renewed = await renew(stored, due, at(70), SANS);
    expect(renewed.serving.certPem).not.toBe(first.serving.certPem);
    expect(renewed.ca.certPem).toBe(first.ca.certPem);
    expect(renewed.caBundlePem).toBe(first.caBundlePem); // caBundle unchanged: no webhook configuration write
    expect(await isSignedBy(renewed.serving.certPem, first.ca.certPem)).toBe(true);
  });

  test("a planned CA rotation keeps trusting the old CA; a broken CA is dropped", async () => {
    const first = await renew({}, await assess({}, T0, SANS), T0, SANS);
    const stored = pemsOfSecrets(secretOf("ns", first), caSecretOf("ns", first.ca));
    const rotation = await assess(stored, at(365 * 7), SANS);
    const rotated = await renew(stored, rotation, at(365 * 7), SANS);
    expect(splitPemBundle(rotated.caBundlePem)).toHaveLength(2);
    expect(splitPemBundle(rotated.caBundlePem)[0]).toBe(rotated.ca.certPem.trim());

    const broken = { ...stored, caKey: (await createCa("x", { now: T0 })).keyPem };
    const fixed = await renew(broken, await assess(broken, at(1), SANS), at(1), SANS);
    expect(splitPemBundle(fixed.caBundlePem)).toHaveLength(1);
  });
});

describe("caBundlePatch", () => {
  const config = {
    webhooks: [
      { name: "mlas.kb.io", clientConfig: { caBundle: "OLD" } },
      { name: "mcas.kb.io", clientConfig: { caBundle: "NEW" } },
      { name: "msgx.kb.io", clientConfig: {} },
    ],
  };
  test("patches only the webhooks whose caBundle differs, each guarded by its name", () => {
    expect(caBundlePatch(config, "NEW")).toEqual([
      { op: "test", path: "/webhooks/0/name", value: "mlas.kb.io" },
      { op: "add", path: "/webhooks/0/clientConfig/caBundle", value: "NEW" },
      { op: "test", path: "/webhooks/2/name", value: "msgx.kb.io" },
      { op: "add", path: "/webhooks/2/clientConfig/caBundle", value: "NEW" },
    ]);
  });
  test("a current configuration needs no write", () => {
    expect(caBundlePatch({ webhooks: [{ name: "a", clientConfig: { caBundle: "X" } }] }, "X")).toEqual([]);
  });
});
