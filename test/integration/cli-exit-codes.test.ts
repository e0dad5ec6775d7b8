// Exit codes of commands that print an answer and still fail (docs/cli.md: 0 ok, 1 failure): the compiled binary
// against the local cluster. `scone cas status` of a CAS that does not exist prints that and exits 1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { adminClient } from "../harness/kube.ts";
import { ensureNamespace, installCrds } from "../harness/operator.ts";

const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../dist/scone");
const NS = `exit-codes-${Math.random().toString(36).slice(2, 8)}`;

describe.skipIf(!existsSync(BINARY) || !clusterAvailable())("exit codes of answering commands", () => {
  let cluster: LocalCluster;
  let client: KubeClient;
  let state = "";
  const scone = (args: string[]) => {
    const r = Bun.spawnSync([BINARY, ...args, "--kubeconfig", cluster.kubeconfigPath, "--state-dir", state]);
    return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };

  beforeAll(async () => {
    cluster = await sharedCluster();
    client = await adminClient(cluster);
    await installCrds(client);
    await ensureNamespace(client, NS);
    await client.create({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: "there", namespace: NS },
      spec: {},
    } as KubeObject);
    state = mkdtempSync(join(tmpdir(), "scone-exit-"));
  }, 300_000);

  afterAll(async () => {
    await client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS });
    if (state) rmSync(state, { recursive: true, force: true });
  });

  test("scone cas status of a CAS that does not exist says so and exits 1; of one that exists, 0", () => {
    const missing = scone(["cas", "status", "nosuch", "-n", NS, "-o", "json"]);
    expect({ code: missing.code, exists: JSON.parse(missing.stdout).exists }).toEqual({ code: 1, exists: false });
    const there = scone(["cas", "status", "there", "-n", NS, "-o", "json"]);
    expect({ code: there.code, exists: JSON.parse(there.stdout).exists }).toEqual({ code: 0, exists: true });
  });
});
