// The REST API against the real API server: resources come from the informer cache (they still answer while
// the API server is down, and catch up after it returns), the bootstrap token opens a fresh install, and the
// client-certificate gate refuses a TLS client without a certificate.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningApi, serveApi } from "../../../src/api/run.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { createLogger } from "../../../src/log.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps, installCrds } from "../../harness/operator.ts";

const LAS_API = "base.scone.cloud/v1beta1";
const quiet = createLogger({ level: "error", sink: { write() {} } });

describe.skipIf(!clusterAvailable())("scone api on a real API server", () => {
  let cluster: LocalCluster;
  let admin: KubeClient;
  let api: RunningApi;
  let token = "";
  const stateDir = mkdtempSync(join(tmpdir(), "scone-api-it-"));
  const lasName = `api-it-${Math.random().toString(36).slice(2, 8)}`;
  const lasRef = { apiVersion: LAS_API, kind: "LAS", name: lasName };

  beforeAll(async () => {
    cluster = await sharedCluster();
    admin = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    await installCrds(admin);
    await admin.create({
      apiVersion: LAS_API,
      kind: "LAS",
      metadata: { name: lasName, labels: { rev: "1" } },
      spec: {},
    });
    const tokenFile = join(stateDir, "admin.token");
    api = await serveApi(
      { port: 0, host: "127.0.0.1", stateDir, kubeconfig: cluster.kubeconfigPath, bootstrapTokenFile: tokenFile },
      quiet,
    );
    token = readFileSync(tokenFile, "utf8").trim();
  }, 300_000);

  afterAll(async () => {
    // Each step on its own: a cluster-wide LAS left behind would be seen by the LAS tests of later files.
    await cleanupSteps([
      () => api?.stop(),
      () => admin?.deleteIfExists(lasRef),
      () => rmSync(stateDir, { recursive: true, force: true }),
    ]);
  }, 60_000);

  const get = (path: string) => fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const lasLabel = async (): Promise<string | undefined> => {
    const res = await get(`/api/v1/resources/las/${lasName}`);
    if (res.status !== 200) return undefined;
    return ((await res.json()) as KubeObject).metadata?.labels?.rev;
  };

  test("ready once the informers synced; the LAS is served from the cache, also while the API server is down", async () => {
    expect(api.cluster).toBe(true);
    await waitFor("readyz 200", async () => ((await fetch(`${api.url}/readyz`)).status === 200 ? true : undefined));
    expect(await waitFor("the LAS in the cache", lasLabel)).toBe("1");
    const list = (await (await get("/api/v1/resources/las?limit=1000")).json()) as { items: KubeObject[] };
    expect(list.items.map((o) => o.metadata?.name)).toContain(lasName);
    expect(list.items[0]?.metadata?.managedFields).toBeUndefined();

    // A change reaches the cache through the watch.
    await admin.patch(lasRef, { metadata: { labels: { rev: "2" } } }, "merge");
    await waitFor("rev 2 in the cache", async () => ((await lasLabel()) === "2" ? true : undefined));

    // No API server: reads still answer, from the cache.
    await cluster.stopApiServer();
    try {
      expect(await lasLabel()).toBe("2");
      const res = await get("/api/v1/namespaces/default/resources/cas/none");
      expect(res.status).toBe(404);
    } finally {
      await cluster.startApiServer();
    }
    // And the cache catches up with writes made after the API server came back. The write is retried: a kept-alive
    // connection the restart closed may fail the first one.
    await waitFor("rev 3 written", async () => {
      await admin.patch(lasRef, { metadata: { labels: { rev: "3" } } }, "merge");
      return true;
    });
    await waitFor("rev 3 in the cache", async () => ((await lasLabel()) === "3" ? true : undefined), 120_000);
  }, 300_000);

  test("the bootstrap token is an admin token of a fresh store; requests without it are 401", async () => {
    expect((await get("/api/v1/tokens")).status).toBe(200);
    const anonymous = await fetch(`${api.url}/api/v1/resources/las`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toStartWith("Bearer");
  });

  test("with --tls-client-ca a client without a certificate cannot connect; one with a certificate uses its token", async () => {
    const pki = join(cluster.dir, "pki");
    const tlsApi = await serveApi(
      {
        port: 0,
        host: "127.0.0.1",
        stateDir,
        tlsCert: join(pki, "apiserver.crt"),
        tlsKey: join(pki, "apiserver.key"),
        tlsClientCa: join(pki, "ca.crt"),
      },
      quiet,
    );
    try {
      const ca = readFileSync(join(pki, "ca.crt"), "utf8");
      const withCert = await fetch(`${tlsApi.url}/api/v1/history`, {
        headers: { authorization: `Bearer ${token}` },
        tls: {
          ca,
          cert: readFileSync(join(pki, "admin.crt"), "utf8"),
          key: readFileSync(join(pki, "admin.key"), "utf8"),
        },
      });
      expect(withCert.status).toBe(200);
      let refused = false;
      try {
        await fetch(`${tlsApi.url}/healthz`, { tls: { ca } });
      } catch {
        refused = true;
      }
      expect(refused).toBe(true);
    } finally {
      await tlsApi.stop();
    }
  }, 60_000);
});
