import { describe, expect, test } from "bun:test";
import type { V1Deployment, V1Node, V1Pod } from "@kubernetes/client-node";
import {
  casFindings,
  clockFindings,
  crdFindings,
  operatorFindings,
  sgxNodeFindings,
} from "../../../../src/flows/doctor/checks/cluster.ts";
import { missingRules, operatorRules, rbacFinding, reviewsTokens } from "../../../../src/flows/doctor/checks/rbac.ts";
import {
  dryRunOutcome,
  servingCertFinding,
  webhookCallFinding,
  webhookConfigFindings,
} from "../../../../src/flows/doctor/checks/webhook.ts";
import { doctorExitCode, fail, ok, warn } from "../../../../src/flows/doctor/finding.ts";
import type { CertInfo } from "../../../../src/operator/certs/pki.ts";

const NOW = new Date("2026-12-07T12:00:00Z");
const DAY = 24 * 3600_000;
const cert = (days: number): CertInfo => ({
  notBefore: new Date(NOW.getTime() - DAY),
  notAfter: new Date(NOW.getTime() + days * DAY),
  sans: { dns: ["scone-webhook-service.ns.svc"], ips: [] },
  isCa: true,
  subject: "CN=ca",
  issuer: "CN=ca",
});

test("exit code: 1 only when a finding failed", () => {
  expect(doctorExitCode([ok("a", ""), warn("b", "", "")])).toBe(0);
  expect(doctorExitCode([ok("a", ""), fail("b", "", "")])).toBe(1);
});

describe("sgx nodes", () => {
  const node = (name: string, labelled: boolean, enclave?: string): V1Node => ({
    metadata: { name, labels: labelled ? { "sgx.intel.com/capable": "true" } : {} },
    status: { allocatable: enclave ? { "sgx.intel.com/enclave": enclave } : {} },
  });
  test("labelled but not advertising fails; advertising without label warns; plain nodes are ignored", () => {
    const f = sgxNodeFindings([node("a", true, "20"), node("b", true), node("c", false, "5"), node("d", false)]);
    expect(f.map((x) => [x.check, x.status])).toEqual([
      ["sgx node a", "ok"],
      ["sgx node b", "fail"],
      ["sgx node c", "warn"],
    ]);
    expect(sgxNodeFindings([node("d", false)])[0]?.status).toBe("fail");
  });
});

describe("webhooks", () => {
  const parse = (pem: string) => (pem === "good" ? cert(3000) : pem === "old" ? cert(-1) : undefined);
  test("missing configuration, no caBundle or only expired CAs fail; one valid CA among old ones is fine", () => {
    const f = webhookConfigFindings(
      [
        { kind: "MutatingWebhookConfiguration", name: "m" },
        {
          kind: "ValidatingWebhookConfiguration",
          name: "v",
          webhooks: [
            { name: "w1", caBundlePems: [] },
            { name: "w2", caBundlePems: ["old"] },
          ],
        },
        {
          kind: "ValidatingWebhookConfiguration",
          name: "v2",
          webhooks: [{ name: "w3", caBundlePems: ["old", "good"] }],
        },
      ],
      parse,
      NOW,
    );
    expect(f.map((x) => x.status)).toEqual(["fail", "fail", "ok"]);
    expect(f[1]?.message).toContain("w1 has no caBundle");
    expect(f[1]?.message).toContain("expired");
  });
  test("serving certificate: not signed by the bundle fails, close to expiry warns, wrong name fails", () => {
    const req = ["scone-webhook-service.ns.svc"];
    expect(servingCertFinding({ info: cert(100), signedByBundle: false, requiredDns: req }, NOW)?.status).toBe("fail");
    expect(servingCertFinding({ info: cert(3), signedByBundle: true, requiredDns: req }, NOW)?.status).toBe("warn");
    expect(servingCertFinding({ info: cert(100), signedByBundle: true, requiredDns: ["other.svc"] }, NOW)?.status).toBe(
      "fail",
    );
    expect(servingCertFinding({ info: cert(100), signedByBundle: true, requiredDns: req }, NOW)?.status).toBe("ok");
  });
  test("the API server's error when it calls the webhook is sorted: untrusted certificate, unreachable, denied", () => {
    const x509 =
      'Internal error occurred: failed calling webhook "vlas.scone.cloud": failed to call webhook: Post "https://127.0.0.1:40001/validate-base-scone-cloud-v1beta1-las?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority';
    const f = webhookCallFinding(dryRunOutcome(500, x509));
    expect(f.status).toBe("fail");
    expect(f.message).toContain("does not trust");
    const refused =
      'Internal error occurred: failed calling webhook "mlas.scone.cloud": failed to call webhook: Post "https://scone-webhook-service.scone-system.svc:443/mutate?timeout=10s": no endpoints available for service "scone-webhook-service"';
    expect(webhookCallFinding(dryRunOutcome(500, refused)).message).toContain("cannot reach");
    expect(
      webhookCallFinding(dryRunOutcome(403, 'admission webhook "vlas.scone.cloud" denied the request: only one LAS'))
        .status,
    ).toBe("ok");
    expect(
      webhookCallFinding(dryRunOutcome(403, 'las.base.scone.cloud is forbidden: User "u" cannot create')).status,
    ).toBe("warn");
  });
});

describe("operator", () => {
  const deployment: V1Deployment = {
    metadata: { name: "scone-controller-manager" },
    spec: {
      replicas: 1,
      selector: {},
      template: { spec: { containers: [{ name: "manager", args: ["--leader-elect"] }] } },
    },
  };
  const readyPod: V1Pod = { metadata: { name: "op-1" }, status: { conditions: [{ type: "Ready", status: "True" }] } };
  const lease = (holder: string, agoS: number) => ({
    spec: {
      holderIdentity: holder,
      renewTime: new Date(NOW.getTime() - agoS * 1000).toISOString(),
      leaseDurationSeconds: 15,
    },
  });
  test("ready and leading", () => {
    const f = operatorFindings({
      namespace: "ns",
      deployment,
      pods: [readyPod],
      lease: lease("op-1_abc", 2),
      now: NOW,
    });
    expect(f.map((x) => x.status)).toEqual(["ok", "ok"]);
  });
  test("no Deployment, no Ready pod, a stale or foreign Lease", () => {
    expect(
      operatorFindings({ namespace: "ns", deployment: undefined, pods: [], lease: undefined, now: NOW })[0]?.status,
    ).toBe("fail");
    expect(
      operatorFindings({ namespace: "ns", deployment, pods: [], lease: undefined, now: NOW }).map((x) => x.status),
    ).toEqual(["fail", "fail"]);
    expect(
      operatorFindings({ namespace: "ns", deployment, pods: [readyPod], lease: lease("op-1_abc", 600), now: NOW })[1]
        ?.status,
    ).toBe("fail");
    expect(
      operatorFindings({ namespace: "ns", deployment, pods: [readyPod], lease: lease("laptop_x", 1), now: NOW })[1]
        ?.status,
    ).toBe("warn");
  });
});

test("crds: missing, wrong version, other installer", () => {
  const f = crdFindings(
    [
      { name: "a", installed: false, served: [], expected: "v1beta1", installedBy: undefined },
      { name: "b", installed: true, served: ["v1alpha1"], expected: "v1beta1", installedBy: undefined },
      { name: "c", installed: true, served: ["v1beta1"], expected: "v1beta1", installedBy: "0.0.1" },
      { name: "d", installed: true, served: ["v1beta1"], expected: "v1beta1", installedBy: "1.0.0" },
      { name: "e", installed: true, served: ["v1beta1"], expected: "v1beta1", installedBy: "1.1.0" },
    ],
    "1.0.0-dev",
  );
  expect(f.map((x) => x.status)).toEqual(["fail", "fail", "warn", "ok", "ok"]);
});

test("clock: a heartbeat from the future fails, a Ready node with an old one warns", () => {
  const at = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString();
  const f = clockFindings(
    [
      { node: "ahead", renewTime: at(120), ready: true },
      { node: "behind", renewTime: at(-600), leaseDurationSeconds: 40, ready: true },
      { node: "fine", renewTime: at(-5), ready: true },
    ],
    NOW,
  );
  expect(f.map((x) => [x.check, x.status])).toEqual([
    ["clock ahead", "fail"],
    ["clock behind", "warn"],
  ]);
  expect(clockFindings([{ node: "fine", renewTime: at(-5), ready: true }], NOW)[0]?.status).toBe("ok");
});

test("cas: the state, phase and the reason of the failing condition", () => {
  const f = casFindings([
    { metadata: { name: "a", namespace: "n" }, status: { state: "HEALTHY", phase: "Running" } },
    {
      metadata: { name: "b", namespace: "n" },
      status: {
        state: "UNHEALTHY",
        phase: "Failed",
        conditions: [{ type: "Ready", status: "False", reason: "NotReachable", message: "port 8081 refused" }],
      },
    },
  ]);
  expect(f[0]?.status).toBe("ok");
  expect(f[1]?.status).toBe("fail");
  expect(f[1]?.message).toContain("NotReachable — port 8081 refused");
});

describe("rbac", () => {
  const expected = [
    { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["update"], resourceNames: ["x"] },
  ];
  test("covered by exact rules, wildcards, or a rule without resourceNames", () => {
    expect(missingRules(expected, [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }])).toEqual([]);
    expect(
      missingRules(expected, [
        { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["update"] },
      ]),
    ).toEqual([]);
  });
  test("a missing verb or a rule limited to other names is missing", () => {
    const missing = missingRules(expected, [
      { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["update"], resourceNames: ["y"] },
    ]);
    expect(missing).toEqual([
      { group: "", resource: "pods/log", verb: "get" },
      { group: "coordination.k8s.io", resource: "leases", verb: "update", name: "x" },
    ]);
    const f = rbacFinding("ns", "sa", expected, { state: "reviewed", rules: [], incomplete: false });
    expect(f.status).toBe("fail");
    expect(f.message).toContain("get pods/log");
    expect(rbacFinding("ns", "sa", expected, { state: "reviewed", rules: [], incomplete: true }).status).toBe("warn");
  });
  test("a server that reviews tokens (--metrics-secure, --with-api) needs the review rights: without them, a failure naming them", () => {
    expect(reviewsTokens(["operator", "--leader-elect"], false)).toBe(false);
    expect(reviewsTokens(["operator", "--metrics-secure"], false)).toBe(true);
    expect(reviewsTokens(undefined, true)).toBe(true);
    // Everything but the reviews granted: enough without a reviewing server, a failure with one.
    const granted = operatorRules("ns", false).map((r) => ({ ...r, resourceNames: r.resourceNames ?? [] }));
    const review = { state: "reviewed", rules: granted, incomplete: false } as const;
    expect(rbacFinding("ns", "sa", operatorRules("ns", false), review).status).toBe("ok");
    const f = rbacFinding("ns", "sa", operatorRules("ns", true), review);
    expect(f.status).toBe("fail");
    expect(f.message).toContain("create authentication.k8s.io/tokenreviews");
  });
});
