// startWebhooks without a reachable API server: it does not fail the operator's start, it reports why it is not
// ready and keeps retrying; and the serving certificate's names follow the mode.
import { describe, expect, test } from "bun:test";
import { KubeClient } from "../../../../src/kube/client.ts";
import { createLogger } from "../../../../src/log.ts";
import { ReadinessChecks } from "../../../../src/operator/health.ts";
import { sansFor, startWebhooks } from "../../../../src/operator/webhooks/run.ts";

describe("sansFor", () => {
  test("url mode adds the host the API server calls", () => {
    expect(sansFor("ns", { mode: "url" }).ips).toEqual(["127.0.0.1"]);
    expect(sansFor("ns", { mode: "url", host: "operator.local" }).dns).toContain("operator.local");
  });
  test("service mode names only the Services (webhook, API; plus explicit extras)", () => {
    expect(sansFor("ns", { mode: "service", extraSans: { ips: ["10.0.0.5"] } })).toEqual({
      dns: [
        "scone-webhook-service.ns.svc",
        "scone-webhook-service.ns.svc.cluster.local",
        "scone-api.ns.svc",
        "scone-api.ns.svc.cluster.local",
      ],
      ips: ["10.0.0.5"],
    });
  });
});

describe("startWebhooks", () => {
  test("an unreachable API server leaves the webhooks not ready, with the reason, instead of throwing", async () => {
    const client = KubeClient.fromConnection({
      server: "https://127.0.0.1:9", // discard port: nothing listens
      insecureSkipTlsVerify: true,
      namespace: "default",
      source: "test",
    });
    const readiness = new ReadinessChecks();
    const log = createLogger({ level: "error", sink: { write: () => true } });
    const webhooks = await startWebhooks(
      { client, log, operatorNamespace: "scone-system", serviceVersion: "6.0.6", manager: { readiness } },
      { port: 0, mode: "url" },
    );
    try {
      const result = readiness.evaluate();
      expect(result.ok).toBe(false);
      expect(result.results.webhooks?.reason).toBeString();
      expect(result.results.webhooks?.reason).not.toBe("");
      expect(webhooks.certificates).toBeUndefined();
    } finally {
      await webhooks.stop();
    }
    expect(readiness.evaluate().results.webhooks).toBeUndefined();
  });
});
