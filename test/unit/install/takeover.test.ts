// Taking over an upstream install: what is deleted or patched before the first apply, and what counts as foreign.
import { describe, expect, test } from "bun:test";
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import { isForeign, upstreamTakeoverSteps } from "../../../src/install/takeover.ts";
import { secretOf } from "../../../src/operator/certs/secret.ts";

describe("upstream takeover", () => {
  test("cert-manager's objects go first, the webhook configurations lose the CA injection", () => {
    const steps = upstreamTakeoverSteps("scone-system");
    expect(steps.map((s) => `${s.action.type} ${s.ref.kind}/${s.ref.name}`)).toEqual([
      "delete Certificate/scone-serving-cert",
      "delete Issuer/scone-selfsigned-issuer",
      "delete Secret/webhook-server-cert",
      "delete Deployment/scone-controller-manager",
      "delete ConfigMap/scone-manager-config",
      "patch MutatingWebhookConfiguration/scone-mutating-webhook-configuration-scone-system",
      "patch ValidatingWebhookConfiguration/scone-validating-webhook-configuration-scone-system",
    ]);
    expect(steps.every((s) => s.ref.kind.endsWith("WebhookConfiguration") || s.ref.namespace === "scone-system")).toBe(
      true,
    );
  });

  test("scone's own objects are not foreign, so a re-install deletes nothing of its own", () => {
    const deployment = renderInstallManifests().find((o) => o.kind === "Deployment");
    expect(isForeign(deployment)).toBe(false);
    const now = new Date();
    const pair = { certPem: "", keyPem: "" };
    expect(isForeign(secretOf("scone-system", { ca: pair, caBundlePem: "", serving: pair, renewAt: now }))).toBe(false);
    expect(isForeign({ metadata: { labels: { "app.kubernetes.io/managed-by": "Helm" } } })).toBe(true);
    expect(isForeign(undefined)).toBe(false);
  });
});
