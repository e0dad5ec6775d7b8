// `scone operator install` killed halfway and run again (the compiled binary, a real API server). The kill point is
// deterministic: no operator serves the webhooks yet, so the install applies everything up to the operator and then
// waits for the webhooks before the SGXPlugin and LAS writes — it is SIGKILLed there. The rerun, with the webhooks
// served, finishes the rest and rewrites nothing that already took effect; a report afterwards finds nothing to do.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import type { RunningWebhooks } from "../../../src/operator/webhooks/run.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import {
  BINARY,
  binaryPresent,
  freePort,
  removeAllLasAndSgxPlugins,
  removeInstall,
  scone,
  serveWebhooks,
} from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps } from "../../harness/operator.ts";

const NS = `inst-kill-${Math.random().toString(36).slice(2, 7)}`;
const BASE = "base.scone.cloud/v1beta1";

interface JsonOutcome {
  differs: boolean;
  steps: { action: string; kind: string; name: string }[];
}

describe.skipIf(!binaryPresent || !clusterAvailable())("scone operator install killed halfway, then rerun", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let webhooks: RunningWebhooks | undefined;
  let port = 0;

  const args = (mode: readonly string[]) => [
    "operator",
    "install",
    "--no-image-signature-check", // the images here are unsigned (test/integration/images/signature.test.ts checks signatures)
    "--kubeconfig",
    cluster.kubeconfigPath,
    "-n",
    NS,
    "--username",
    "alice",
    "--access-token",
    "kill-test-token-0123456789",
    "--email",
    "alice@example.com",
    "--dcap-api",
    "0123456789abcdef0123456789abcdef",
    "--local-operator",
    `127.0.0.1:${port}`,
    "--timeout",
    "120",
    ...mode,
  ];
  const pullSecret = () =>
    admin.tryGet<V1Secret>({ apiVersion: "v1", kind: "Secret", namespace: NS, name: "scone-operator-pull" });

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    port = await freePort();
    // The halfway check below expects no LAS or SGXPlugin: earlier files may have left theirs.
    await removeAllLasAndSgxPlugins(admin);
  }, 300_000);

  afterAll(async () => {
    await cleanupSteps([() => webhooks?.stop(), () => admin && removeInstall(admin, NS)]);
  }, 120_000);

  test("SIGKILL while waiting for the webhooks; the rerun completes without rewriting what took effect", async () => {
    const proc = Bun.spawn([BINARY, ...args(["--reconcile"])], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" },
    });
    // Read stderr until the install says it waits for the webhooks: everything before the SGXPlugin is applied.
    let stderr = "";
    const decoder = new TextDecoder();
    const reader = proc.stderr.getReader();
    const reachedWait = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        stderr += decoder.decode(value, { stream: true });
        if (stderr.includes("the operator to serve its admission webhooks")) return true;
      }
    })();
    const waited = await Promise.race([
      reachedWait,
      proc.exited.then(() => false),
      Bun.sleep(120_000).then(() => false),
    ]);
    expect({ waited, stderr }).toMatchObject({ waited: true });
    proc.kill("SIGKILL");
    await proc.exited;
    expect(proc.signalCode).toBe("SIGKILL");

    // Halfway: the operator's objects exist, the SGXPlugin and LAS do not.
    expect(await admin.tryGet({ apiVersion: "v1", kind: "Namespace", name: NS })).toBeDefined();
    const secretBefore = await pullSecret();
    expect(secretBefore).toBeDefined();
    expect(
      await admin.tryGet({
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        name: `scone-validating-webhook-configuration-${NS}`,
      }),
    ).toBeDefined();
    expect(await admin.tryGet({ apiVersion: BASE, kind: "LAS", name: "las" })).toBeUndefined();
    expect(await admin.tryGet({ apiVersion: BASE, kind: "SGXPlugin", name: "sgxplugin" })).toBeUndefined();

    // The operator comes up (its webhooks, served here); the rerun does the rest.
    webhooks = await serveWebhooks(admin, NS, port);
    const rerun = await scone([...args(["--reconcile", "-o", "json"])]);
    expect({ code: rerun.code, stderr: rerun.stderr }).toMatchObject({ code: 0 });
    const outcome = JSON.parse(rerun.stdout) as JsonOutcome;
    const written = outcome.steps.filter((s) => s.action !== "unchanged").map((s) => `${s.action} ${s.kind}/${s.name}`);
    expect(written).toEqual(["create SGXPlugin/sgxplugin", "create LAS/las"]);
    // The pull secret of the first run was kept, not replaced.
    expect((await pullSecret())?.metadata?.resourceVersion).toBe(secretBefore?.metadata?.resourceVersion);
    await waitFor("the LAS", () => admin.tryGet<KubeObject>({ apiVersion: BASE, kind: "LAS", name: "las" }));

    const report = await scone(args(["-o", "json"]));
    expect({ code: report.code, stdout: report.stdout }).toMatchObject({ code: 0 });
    expect((JSON.parse(report.stdout) as JsonOutcome).differs).toBe(false);
  }, 300_000);
});
