// The pod CasDriverSource on the real node (issue 13): the stand-in sconecli image (hack/image/sconecli-image.ts)
// pushed to the node's local registry under the mirror-aware name, one CLI pod per CAS created by the source, the
// CLI answering `--version` and `self show-key-hash` by exec, and the same pod (same UID) serving the next
// connection. Opt-in like every real-node test (SCONE_REAL_NODE=1, root).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { writeLayout } from "../../../hack/image/oci.ts";
import { buildSconecliLayout, ensureSimCli } from "../../../hack/image/sconecli-image.ts";
import { cliPodSelector, operatorIdentitySecretName } from "../../../src/cas/driver/cli-pod.ts";
import { casDriverSource } from "../../../src/cas/driver/source.ts";
import type { KubeClient } from "../../../src/kube/client.ts";
import { clusterAvailable, type LocalCluster, type RealNodeHandle, realNodeCluster } from "../../harness/cluster.ts";
import { adminClient, freshNamespace } from "../../harness/kube.ts";
import { installCrds } from "../../harness/operator.ts";
import { realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";

const VERSION = "6.0.6";
const KEY_HASH = /^[1-9A-HJ-NP-Za-km-z]{40,60}$/;

describe.skipIf(!clusterAvailable() || !realNodeTestsEnabled())("sconecli pod on the real node", () => {
  let cluster: LocalCluster;
  let node: RealNodeHandle;
  let admin: KubeClient;
  let ns: string;
  let work: string;
  /** The operator identity's key hash, from the first test. */
  let operatorHash = "";

  beforeAll(async () => {
    cluster = await realNodeCluster();
    if (!cluster.realNode) throw new Error("realNodeCluster() returned a cluster without a real node");
    node = cluster.realNode;
    admin = await adminClient(cluster);
    await installCrds(admin);
    ns = await freshNamespace(admin, "sconecli");
    work = await mkdtemp(join(tmpdir(), "scone-sconecli-test-"));
    // Pushed as <registry>/sconecli:<version>: the name the source computes for a mirror at the node's registry.
    const layoutDir = join(work, "layout");
    writeLayout(layoutDir, buildSconecliLayout({ reference: `sconecli:${VERSION}`, cli: ensureSimCli() }));
    await node.pushLayout(layoutDir, `sconecli:${VERSION}`);
    await admin.create({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: "cas", namespace: ns },
      spec: {},
    });
  }, 600_000);

  afterAll(async () => {
    await admin?.deleteIfExists({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => false);
    if (work) await rm(work, { recursive: true, force: true });
  }, 60_000);

  const source = () =>
    casDriverSource({
      kube: admin,
      stateDir: work,
      imageMirror: { imageRepo: node.registry },
      serviceVersion: VERSION,
      nodeSelector: { "kubernetes.io/hostname": node.name },
    });
  const cliPods = async () =>
    (
      await admin.list<V1Pod>(
        { apiVersion: "v1", kind: "Pod" },
        { namespace: ns, labelSelector: cliPodSelector("cas") },
      )
    ).items;

  test("the CLI pod answers --version and self show-key-hash by exec, and the next connection reuses it", async () => {
    const first = await source().connect({ namespace: ns, name: "cas" }, { kind: "operator" });
    expect(first.address).toBe(`cas.${ns}.svc:8081`);
    expect((await first.driver.cliVersion()).text).toBe("7.0.0");
    const hash = await first.driver.keyHash();
    expect(hash).toMatch(KEY_HASH);
    operatorHash = hash;
    await first.release();
    const [pod] = await cliPods();
    expect(pod?.spec?.nodeName).toBe(node.name);
    expect(pod?.spec?.containers[0]?.image).toBe(`${node.registry}/sconecli:${VERSION}`);
    expect(pod?.metadata?.ownerReferences?.[0]?.kind).toBe("CAS");

    // A new source (another process, say): found by label, same pod, same operator identity.
    const second = await source().connect({ namespace: ns, name: "cas" }, { kind: "operator" });
    expect(await second.driver.keyHash()).toBe(hash);
    const after = await cliPods();
    expect(after.map((p) => p.metadata?.uid)).toEqual([pod?.metadata?.uid]);
    const secret = await admin.get<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: ns,
      name: operatorIdentitySecretName("cas"),
    });
    expect(Object.keys(secret.data ?? {})).toEqual(["config.json"]);
  }, 300_000);

  test("owner identity: the config made in the pod comes back to the local file (0600) and travels in next time", async () => {
    const configPath = join(work, "owner", "identity", "config.json");
    const conn = await source().connect({ namespace: ns, name: "cas" }, { kind: "owner", configPath });
    const hash = await conn.driver.keyHash();
    expect(((await stat(configPath)).mode & 0o777).toString(8)).toBe("600");
    expect(await conn.driver.keyHash()).toBe(hash);
    // Not the operator's identity: the owner's config never reaches the Secret.
    const op = await source().connect({ namespace: ns, name: "cas" }, { kind: "operator" });
    expect(await op.driver.keyHash()).not.toBe(hash);
  }, 120_000);

  test("a CLI pod deleted from outside is replaced on the next connection, with the operator identity from the Secret", async () => {
    const [pod] = await cliPods();
    await admin.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: pod?.metadata?.name ?? "" });
    const conn = await source().connect({ namespace: ns, name: "cas" }, { kind: "operator" });
    expect((await conn.driver.cliVersion()).text).toBe("7.0.0");
    const now = (await cliPods()).filter((p) => p.metadata?.deletionTimestamp === undefined);
    expect(now.length).toBe(1);
    expect(now[0]?.metadata?.uid).not.toBe(pod?.metadata?.uid);
    expect(await conn.driver.keyHash()).toBe(operatorHash);
  }, 300_000);
});
