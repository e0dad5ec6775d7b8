// --monitoring: a ServiceMonitor that finds the metrics Service the install renders, and the PrometheusRule of
// src/metrics/rules.ts; nothing of either without the flag; a cluster without prometheus-operator's CRDs refused first.
import { describe, expect, test } from "bun:test";
import type { V1Service } from "@kubernetes/client-node";
import { requireMonitoringCrds } from "../../../src/flows/install/monitoring-crds.ts";
import { installOptionsFromFlags } from "../../../src/flows/install/options.ts";
import { renderInstallManifests } from "../../../src/install/manifests.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { ALERTS } from "../../../src/metrics/rules.ts";

type Monitor = KubeObject & {
  spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] } };
} & { spec: { endpoints: { port: string; path: string }[] } };
type Rule = KubeObject & { spec: { groups: { rules: { alert: string }[] }[] } };

const MONITORING_KINDS = ["ServiceMonitor", "PrometheusRule"];

describe("monitoring objects of the install", () => {
  test("without --monitoring: neither a ServiceMonitor nor a PrometheusRule", () => {
    const kinds = renderInstallManifests({}).map((o) => o.kind);
    expect(kinds.filter((k) => MONITORING_KINDS.includes(k ?? ""))).toEqual([]);
    expect(installOptionsFromFlags({}).monitoring).toBe(false);
    expect(installOptionsFromFlags({ monitoring: true }).monitoring).toBe(true);
  });

  test("in-cluster: the ServiceMonitor selects the metrics Service by its labels and named port", () => {
    const objects = renderInstallManifests({ namespace: "ops", monitoring: true });
    const monitor = objects.find((o) => o.kind === "ServiceMonitor") as Monitor;
    expect(monitor.metadata?.namespace).toBe("ops");
    expect(monitor.spec.namespaceSelector.matchNames).toEqual(["ops"]);
    const services = objects.filter((o) => o.kind === "Service") as V1Service[];
    const selected = services.filter((s) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata?.labels?.[k] === v),
    );
    // Exactly the metrics Service (not the webhook one), and it has the port the endpoint names.
    expect(selected.map((s) => s.metadata?.name)).toEqual(["scone-controller-manager-metrics-service"]);
    const port = monitor.spec.endpoints[0]?.port;
    expect(selected[0]?.spec?.ports?.map((p) => p.name)).toContain(port);
    expect(monitor.spec.endpoints[0]?.path).toBe("/metrics");
    const rule = objects.find((o) => o.kind === "PrometheusRule") as Rule;
    expect(rule.metadata?.namespace).toBe("ops");
    expect(rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(ALERTS.map((a) => a.alert));
  });

  test("local operator (url mode): the rules, but no ServiceMonitor (there is no metrics Service)", () => {
    const kinds = renderInstallManifests({ monitoring: true, webhook: { mode: "url" } }).map((o) => o.kind);
    expect(kinds.filter((k) => MONITORING_KINDS.includes(k ?? ""))).toEqual(["PrometheusRule"]);
  });

  test("a cluster without the monitoring.coreos.com CRDs is refused, naming the CRD and the flag", async () => {
    const served = new Set(["prometheusrules.monitoring.coreos.com"]);
    const client = {
      tryGet: async (ref: { name: string }) => (served.has(ref.name) ? { metadata: { name: ref.name } } : undefined),
    } as unknown as KubeClient;
    await expect(requireMonitoringCrds(client)).rejects.toThrow(
      /no servicemonitors\.monitoring\.coreos\.com: install prometheus-operator .* or leave --monitoring out/,
    );
    served.add("servicemonitors.monitoring.coreos.com");
    await expect(requireMonitoringCrds(client)).resolves.toBeUndefined();
  });
});

describe("--metrics-secure in the install", () => {
  type Endpoint = { scheme: string; bearerTokenFile?: string; tlsConfig?: { insecureSkipVerify: boolean } };
  const endpointOf = (objects: KubeObject[]) =>
    (objects.find((o) => o.kind === "ServiceMonitor") as KubeObject & { spec: { endpoints: Endpoint[] } }).spec
      .endpoints[0];
  const argsOf = (objects: KubeObject[]) =>
    (
      objects.find((o) => o.kind === "Deployment") as KubeObject & {
        spec: { template: { spec: { containers: { args: string[] }[] } } };
      }
    ).spec.template.spec.containers[0]?.args ?? [];

  test("the Deployment runs --metrics-secure, the ServiceMonitor scrapes HTTPS with its token, a reader role exists", () => {
    const objects = renderInstallManifests({ namespace: "ops", monitoring: true, metricsSecure: true });
    expect(argsOf(objects)).toContain("--metrics-secure");
    expect(endpointOf(objects)).toMatchObject({
      scheme: "https",
      bearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
      tlsConfig: { insecureSkipVerify: true },
    });
    const reader = objects.find((o) => o.kind === "ClusterRole" && o.metadata?.name === "scone-metrics-reader-ops") as
      | (KubeObject & { rules: unknown[] })
      | undefined;
    expect(reader?.rules).toEqual([{ nonResourceURLs: ["/metrics"], verbs: ["get"] }]);
  });

  test("without it: plain HTTP, no flag, no reader role; with --local-operator it is refused, naming the fix", () => {
    const objects = renderInstallManifests({ monitoring: true });
    expect(argsOf(objects)).not.toContain("--metrics-secure");
    expect(endpointOf(objects)?.scheme).toBe("http");
    expect(objects.some((o) => o.metadata?.name?.startsWith("scone-metrics-reader"))).toBe(false);
    expect(() => installOptionsFromFlags({ "metrics-secure": true, "local-operator": "127.0.0.1:9443" })).toThrow(
      /--metrics-secure configures the operator Deployment.*'scone operator --metrics-secure'/,
    );
  });
});
