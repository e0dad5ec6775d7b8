// `--with-api`: the API beside the operator, as `scone api --kube-auth` over HTTPS with the operator's certificate;
// refused with --local-operator, which installs no Deployment to sit beside.
import { describe, expect, test } from "bun:test";
import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import { installOptionsFromFlags } from "../../../src/flows/install/options.ts";
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { webhookSans } from "../../../src/operator/certs/renewal.ts";

const named = (objects: KubeObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name);

describe("--with-api", () => {
  test("renders the API Deployment and Service; without it neither", () => {
    expect(named(renderInstallManifests(), "Deployment", "scone-api")).toBeUndefined();
    const objects = renderInstallManifests({ withApi: true, namespace: "ops", operatorImage: "r.example/scone:1" });
    const deployment = named(objects, "Deployment", "scone-api") as V1Deployment;
    const pod = deployment.spec?.template.spec;
    const container = pod?.containers[0];
    expect(pod?.serviceAccountName).toBe("scone-controller-manager");
    expect(container?.image).toBe("r.example/scone:1");
    expect(container?.args).toEqual([
      "api",
      "--kube-auth",
      "--host=0.0.0.0",
      "--port=8443",
      "--tls-cert=/etc/scone/api-tls/tls.crt",
      "--tls-key=/etc/scone/api-tls/tls.key",
      "--state-dir=/var/lib/scone",
    ]);
    expect(pod?.volumes?.find((v) => v.name === "tls")?.secret?.secretName).toBe("webhook-server-cert");
    expect(container?.readinessProbe?.httpGet?.scheme).toBe("HTTPS");
    const service = named(objects, "Service", "scone-api") as V1Service;
    expect(service.spec?.selector).toEqual(deployment.spec?.selector.matchLabels);
    expect(service.spec?.ports?.[0]).toMatchObject({ port: 443, targetPort: "https" });
    // The operator's serving certificate names this Service, so clients verify the API against the operator's CA.
    expect(webhookSans("ops").dns).toContain("scone-api.ops.svc");
  });

  test("refused with --local-operator, before anything is rendered", () => {
    expect(() => installOptionsFromFlags({ "with-api": true, "local-operator": "127.0.0.1:9443" })).toThrow(
      /--with-api .*--local-operator/,
    );
    expect(() => renderInstallManifests({ withApi: true, webhook: { mode: "url" } })).toThrow(/--with-api/);
  });
});
