// Credential sources against the real API server: an exec plugin, and the in-cluster service-account files with
// a token that rotates (re-read after a 401).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../../src/kube/client.ts";
import { inClusterConnection } from "../../../src/kube/config.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { clusterAvailable, type LocalCluster } from "../../harness/cluster.ts";
import { useTestNamespace, waitFor } from "../../harness/kube.ts";

type Review = KubeObject & { status?: { userInfo?: { username?: string } } };
const whoAmI = async (client: KubeClient) =>
  (await client.create<Review>({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" })).status?.userInfo
    ?.username;

describe.skipIf(!clusterAvailable())("credential sources on a real API server", () => {
  const env = useTestNamespace("kube-creds");
  let cluster: LocalCluster;
  let admin: KubeClient;
  let ns: string;
  const dir = mkdtempSync(join(tmpdir(), "scone-creds-"));
  beforeAll(() => {
    ({ cluster, admin, ns } = env);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function tokenFor(name: string): Promise<string> {
    await admin.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } });
    return (await admin.createToken({ name, namespace: ns }, { expirationSeconds: 600 })).token;
  }

  test("an exec credential plugin's token authenticates", async () => {
    const token = await tokenFor("exec-user");
    const plugin = join(dir, "plugin.sh");
    writeFileSync(
      plugin,
      `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$TOKEN"\n`,
      { mode: 0o700 },
    );
    chmodSync(plugin, 0o700);
    writeFileSync(join(dir, "ca.crt"), cluster.caPem);
    const kubeconfig = join(dir, "exec-kubeconfig");
    writeFileSync(
      kubeconfig,
      `current-context: e
clusters: [{ name: c, cluster: { server: "${cluster.server}", certificate-authority: ca.crt } }]
contexts: [{ name: e, context: { cluster: c, user: e, namespace: ${ns} } }]
users:
- name: e
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./plugin.sh
      env: [{ name: TOKEN, value: "${token}" }]
      interactiveMode: Never
`,
      { mode: 0o600 },
    );
    const client = await KubeClient.load({ kubeconfig });
    expect(client.namespace).toBe(ns);
    expect(await whoAmI(client)).toBe(`system:serviceaccount:${ns}:exec-user`);
  });

  test("in-cluster config: a rotated token file is re-read after the old token is refused (401)", async () => {
    const sa = join(dir, "serviceaccount");
    const paths = { tokenPath: join(sa, "token"), caPath: join(sa, "ca.crt"), namespacePath: join(sa, "namespace") };
    const { mkdirSync } = await import("node:fs");
    mkdirSync(sa, { recursive: true });
    writeFileSync(paths.tokenPath, await tokenFor("first"), { mode: 0o600 });
    writeFileSync(paths.caPath, cluster.caPem);
    writeFileSync(paths.namespacePath, ns);
    const url = new URL(cluster.server);
    const conn = await inClusterConnection(
      { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
      paths,
    );
    expect(conn.namespace).toBe(ns);
    const client = KubeClient.fromConnection(conn);
    expect(await whoAmI(client)).toBe(`system:serviceaccount:${ns}:first`);

    // The kubelet rotates the file; the cached token is still used until it stops working...
    writeFileSync(paths.tokenPath, await tokenFor("second"), { mode: 0o600 });
    expect(await whoAmI(client)).toBe(`system:serviceaccount:${ns}:first`);
    // ...which deleting its ServiceAccount brings about: the next request gets a 401, re-reads, and retries.
    await admin.delete({ apiVersion: "v1", kind: "ServiceAccount", name: "first", namespace: ns });
    const who = await waitFor("the rotated token to be used", async () => {
      const name = await whoAmI(client);
      return name?.endsWith(":second") ? name : undefined;
    });
    expect(who).toBe(`system:serviceaccount:${ns}:second`);
  }, 120_000);
});
