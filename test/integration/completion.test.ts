// Shell completion with names from the cluster, end to end: the generated bash script, the compiled binary it calls
// (`scone __complete`) and the local cluster's API server. Needs dist/scone (`make build`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { adminClient } from "../harness/kube.ts";
import { ensureNamespace, installCrds } from "../harness/operator.ts";

const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../dist/scone");
const bash = Bun.which("bash");
const NS = `complete-${Math.random().toString(36).slice(2, 8)}`;
const CASES = ["alpha", "beta"];

describe.skipIf(!existsSync(BINARY) || !bash || !clusterAvailable())("completion of names from the cluster", () => {
  let cluster: LocalCluster;
  let client: KubeClient;
  let dir = "";

  /** What bash offers for `words` (the last being typed), with the compiled scone first on PATH. */
  const complete = (words: string[]): string[] => {
    const quoted = words.map((w) => `'${w}'`).join(" ");
    const program = `source '${join(dir, "scone.bash")}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _scone_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = Bun.spawnSync([bash as string, "-c", program], {
      env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir, KUBECONFIG: cluster.kubeconfigPath },
    });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
    return r.stdout.toString().split("\n").filter(Boolean);
  };

  beforeAll(async () => {
    cluster = await sharedCluster();
    client = await adminClient(cluster);
    await installCrds(client);
    await ensureNamespace(client, NS);
    for (const name of CASES)
      await client.create({
        apiVersion: "services.scone.cloud/v1beta1",
        kind: "CAS",
        metadata: { name, namespace: NS },
        spec: {},
      } as KubeObject);
    dir = mkdtempSync(join(tmpdir(), "scone-complete-"));
    symlinkSync(BINARY, join(dir, "scone"));
    const script = Bun.spawnSync([BINARY, "completion", "bash"]);
    writeFileSync(join(dir, "scone.bash"), script.stdout);
  }, 300_000);

  afterAll(async () => {
    await client?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: NS });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a CAS argument offers the CASes of the namespace typed on the line", () => {
    expect(complete(["scone", "cas", "status", "-n", NS, ""])).toEqual(CASES);
    expect(complete(["scone", "cas", "upgrade", `--namespace=${NS}`, "b"])).toEqual(["beta"]);
  });

  test("a --namespace value offers the cluster's namespaces", () => {
    expect(complete(["scone", "cas", "status", "--namespace", NS.slice(0, 12)])).toEqual([NS]);
  });

  test("an unreachable cluster offers nothing and prints no error into the prompt", () => {
    const broken = join(dir, "broken.kubeconfig");
    writeFileSync(broken, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    expect(complete(["scone", "cas", "status", "--kubeconfig", broken, ""])).toEqual([]);
    const r = Bun.spawnSync([BINARY, "__complete", "cas", "--kubeconfig", broken]);
    expect({ code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() }).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
  });
});
