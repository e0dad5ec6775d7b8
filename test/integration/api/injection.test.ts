// Issue 11 item 2 on the real cluster, with the COMPILED binary: a registry value with a newline and YAML keys (the
// rest of a CAS spec: a toleration of every taint) was pasted into the provisioning manifest, so an operate
// token could create a CAS whose pod runs anywhere. Now `POST /api/v1/operations` answers 400 naming
// params.imageRegistry, `scone cas provision --image-registry` exits 2 (usage) naming the flag, and neither creates a CAS,
// an operation or a file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { KubeClient } from "../../../src/kube/client.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { BINARY, binaryPresent, freePort, scone } from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps, installCrds } from "../../harness/operator.ts";

const NS = `scone-inject-${Math.random().toString(36).slice(2, 8)}`;
/** The registry an attacker sends: the rest of the spec they want after `image: <registry>/cas:<version>`. */
const INJECTED_REGISTRY = "evil.example/x:1\n  tolerations:\n    - operator: Exists\n#";

describe.skipIf(!clusterAvailable() || !binaryPresent)("a registry with YAML in it (compiled, real cluster)", () => {
  let cluster: LocalCluster;
  let client: KubeClient;
  let api: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let apiUrl = "";
  let token = "";
  const root = mkdtempSync(join(tmpdir(), "scone-inject-it-"));
  const stateDir = join(root, "state");

  const casList = async () =>
    (await client.list<CAS>({ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS" }, { namespace: NS })).items;

  beforeAll(async () => {
    cluster = await sharedCluster();
    client = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    await installCrds(client);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    const created = await scone(["api", "token", "create", "inject", "--scope", "operate", "--state-dir", stateDir]);
    if (created.code !== 0) throw new Error(`token create: ${created.stderr}`);
    token = created.stdout.trim();
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    api = Bun.spawn(
      [BINARY, "api", "--port", String(port), "--state-dir", stateDir, "--kubeconfig", cluster.kubeconfigPath],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" } },
    );
    await waitFor(
      "scone api to answer /healthz",
      async () => {
        if (api?.exitCode !== null) throw new Error(`scone api exited ${api?.exitCode}`);
        return (await fetch(`${apiUrl}/healthz`).catch(() => undefined))?.ok;
      },
      60_000,
    );
  }, 300_000);

  afterAll(async () => {
    await cleanupSteps([
      async () => {
        api?.kill("SIGKILL");
        await api?.exited;
      },
      () => client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS }),
      () => rmSync(root, { recursive: true, force: true }),
    ]);
  }, 120_000);

  test("the API's provision operation: 400 naming params.imageRegistry; no operation, no CAS", async () => {
    const res = await fetch(`${apiUrl}/api/v1/operations`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        kind: "provision",
        namespace: NS,
        name: "cas",
        params: { imageRegistry: INJECTED_REGISTRY },
      }),
    });
    const problem = (await res.json()) as { errors?: { field: string; message: string }[] };
    expect(res.status).toBe(400);
    expect(problem.errors?.map((e) => e.field)).toEqual(["body.params.imageRegistry"]);
    expect(problem.errors?.[0]?.message).toContain("expected a registry HOST[:PORT][/PATH]");
    const ops = await fetch(`${apiUrl}/api/v1/operations?namespace=${NS}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await ops.json()) as { items: unknown[] }).items).toEqual([]);
    expect(await casList()).toEqual([]);
  });

  test("the CLI: exit 2 (usage) naming --image-registry before anything happens; no CAS, no target directory", async () => {
    const target = join(root, "cas-home");
    const where = ["-n", NS, "--kubeconfig", cluster.kubeconfigPath, "--target", target];
    const out = await scone(["cas", "provision", "cas", ...where, "--image-registry", INJECTED_REGISTRY]);
    // First: before the fix, this is where the CAS with the injected toleration shows.
    expect(await casList()).toEqual([]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('invalid value "evil.example/x:1\\n  tolerations:');
    expect(out.stderr).toContain("for --image-registry: expected a registry HOST[:PORT][/PATH]");
    expect(existsSync(target)).toBe(false);
  });
});
