// The installed RBAC is enough, and what the operator really uses: `scone operator install` sets up a namespace,
// then the compiled `scone operator` runs as a local process with ONLY a token of the installed ServiceAccount
// (the API server enforces RBAC), serves its webhooks (URL mode) and brings the upstream LAS and SGXPlugin samples
// to HEALTHY, then cleans them up on deletion. Any permission the ClusterRole lacks shows as a Forbidden answer:
// the operator's log is checked for one, besides the states that need every write to succeed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Node } from "@kubernetes/client-node";
import { parse } from "yaml";
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { sharedPath } from "../../harness/shared.ts";
import { BINARY, binaryPresent, freePort, removeInstall, scone } from "../flows/helpers.ts";
import { waitFor } from "../kube/helpers.ts";
import { cleanupSteps, restoreHarnessNodeLabels } from "./context.ts";

const SAMPLES = sharedPath("reference", "upstream-samples", "operator-samples");
const NS = `rbac-${Math.random().toString(36).slice(2, 7)}`;
const SERVICE_ACCOUNT = "scone-controller-manager";
const BASE = "base.scone.cloud/v1beta1";
const SGX_NODES = ["sgx-node-1", "sgx-node-2", "sgx-node-3"];
const FORBIDDEN = /forbidden|\b403\b/i;

if (!binaryPresent) console.warn("rbac.test.ts skipped: the compiled binary is missing — run 'make build' first");

/** Collects a stream's lines (the operator logs JSON lines on stdout). */
function collect(stream: ReadableStream<Uint8Array>, into: string[]): void {
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let i = buf.indexOf("\n");
      while (i >= 0) {
        into.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    }
    if (buf) into.push(buf);
  })();
}

describe.skipIf(!binaryPresent || !clusterAvailable())("the installed RBAC is what the operator needs", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let operator: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let stateDir = "";
  const logs: string[] = [];

  const state = async (kind: string, name: string) =>
    (await admin.tryGet<KubeObject & { status?: { state?: string } }>({ apiVersion: BASE, kind, name }))?.status?.state;
  const forbiddenLines = () => logs.filter((l) => FORBIDDEN.test(l));

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    stateDir = mkdtempSync(join(tmpdir(), "scone-rbac-"));
    const port = await freePort();
    const installed = await scone([
      "operator",
      "install",
      "--kubeconfig",
      cluster.kubeconfigPath,
      "-n",
      NS,
      "--local-operator",
      `127.0.0.1:${port}`,
      "--only-operator",
      "--reconcile",
      "--username",
      "robot",
      "--access-token",
      "rbac-test-token",
      "--email",
      "robot@example.com",
    ]);
    if (installed.code !== 0) throw new Error(`install failed (${installed.code}): ${installed.stderr}`);

    const kubeconfig = await cluster.serviceAccountKubeconfig(NS, SERVICE_ACCOUNT);
    const [probe, metrics] = [await freePort(), await freePort()];
    operator = Bun.spawn(
      [
        BINARY,
        "operator",
        "--kubeconfig",
        kubeconfig,
        "-n",
        NS,
        "--leader-elect",
        "--state-dir",
        stateDir,
        "--probe-port",
        String(probe),
        "--metrics-port",
        String(metrics),
        "--webhook-mode",
        "url",
        "--webhook-host",
        "127.0.0.1",
        "--webhook-port",
        String(port),
      ],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "" } },
    );
    collect(operator.stdout, logs);
    collect(operator.stderr, logs);
  }, 300_000);

  afterAll(async () => {
    // Deleting while the operator runs lets it remove its finalizers (with the same limited rights); whatever it did
    // not finish is forced. Every step runs even when one before it fails.
    const finalize = (kind: string, name: string) => async () => {
      await admin?.deleteIfExists({ apiVersion: BASE, kind, name });
      await waitFor(
        `${kind} ${name} to be gone`,
        async () => !(await admin.tryGet({ apiVersion: BASE, kind, name })),
        45_000,
      ).catch(() =>
        admin.patch({ apiVersion: BASE, kind, name }, { metadata: { finalizers: null } }, "merge").catch(() => {}),
      );
    };
    await cleanupSteps([
      finalize("LAS", "las"),
      finalize("SGXPlugin", "sgxplugin"),
      async () => {
        operator?.kill("SIGTERM");
        await operator?.exited;
      },
      // The installed webhook configurations are cluster-wide (failurePolicy Fail) and point at the dead operator.
      () => admin && removeInstall(admin, NS),
      // Leave the nodes as the harness made them (the operator labels SGX and LAS nodes).
      () => admin && restoreHarnessNodeLabels(admin),
      () => stateDir && rmSync(stateDir, { recursive: true, force: true }),
    ]);
  }, 180_000);

  test("the operator authenticates as the installed ServiceAccount and takes its Lease", async () => {
    // Generous waits: the compiled binary starts on a machine busy with the rest of the suite.
    const connected = await waitFor(
      "the operator to connect",
      async () => logs.find((l) => l.includes("connected to the API server")),
      60_000,
    );
    expect(JSON.parse(connected).user).toBe(`system:serviceaccount:${NS}:${SERVICE_ACCOUNT}`);
    await waitFor("leadership", async () => logs.some((l) => l.includes("became leader")), 60_000);
    expect(forbiddenLines()).toEqual([]);
  }, 150_000);

  test("the upstream LAS and SGXPlugin samples become HEALTHY with only the installed permissions", async () => {
    for (const file of ["base_v1beta1_sgxplugin.yaml", "base_v1beta1_las.yaml"]) {
      const sample = parse(await Bun.file(join(SAMPLES, file)).text()) as KubeObject & {
        spec: { namespace?: string };
      };
      // The samples name upstream's default operator namespace; this operator's is the test's own.
      sample.spec.namespace = NS;
      // Admission needs the operator's webhooks: retried until it serves them (caBundle set, server listening).
      await waitFor(
        `kubectl apply ${file}`,
        async () => {
          const r = await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(sample) });
          if (r.code !== 0) throw new Error(r.stderr);
          return true;
        },
        60_000,
      );
    }
    await waitFor(
      "SGXPlugin sgxplugin HEALTHY",
      async () => (await state("SGXPlugin", "sgxplugin")) === "HEALTHY",
      150_000,
    );
    await waitFor("LAS las HEALTHY", async () => (await state("LAS", "las")) === "HEALTHY", 150_000);
    // HEALTHY counts the newest pod per node; a pod the DaemonSet controller replaced may still be terminating.
    const lasPods = await admin.list(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: NS, labelSelector: "app.kubernetes.io/name=las" },
    );
    expect(lasPods.items.filter((p) => !p.metadata?.deletionTimestamp).length).toBe(SGX_NODES.length);
    // Node labels: a node patch with the installed rights (and what the deletion test sees removed).
    await waitFor(
      "the LAS node labels",
      async () =>
        (await admin.list<V1Node>({ apiVersion: "v1", kind: "Node" })).items.filter(
          (n) => n.metadata?.labels?.["las.scontain.com/capable"] === "true",
        ).length === SGX_NODES.length,
      60_000,
    );
    expect(forbiddenLines()).toEqual([]);
  }, 240_000);

  test("deleting them: the operator runs its finalizers with the installed rights (node labels removed)", async () => {
    for (const [kind, name] of [
      ["LAS", "las"],
      ["SGXPlugin", "sgxplugin"],
    ] as const) {
      await admin.deleteIfExists({ apiVersion: BASE, kind, name });
      await waitFor(
        `${kind} ${name} to be deleted`,
        async () => !(await admin.tryGet({ apiVersion: BASE, kind, name })),
        60_000,
      );
    }
    // The LAS finalizer took its node labels off (a node patch with the installed rights). The DaemonSets are
    // left to the garbage collector, which in a fresh cluster notices a new CRD's deletions only after ~30 s.
    await waitFor(
      "the LAS node labels to be removed",
      async () =>
        (await admin.list<V1Node>({ apiVersion: "v1", kind: "Node" })).items.every(
          (n) => n.metadata?.labels?.["las.scontain.com/capable"] === undefined,
        ),
      60_000,
    );
    expect(forbiddenLines()).toEqual([]);
  }, 180_000);
});
