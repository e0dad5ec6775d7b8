// Issue 11 item 5 against the COMPILED `scone api` on the local cluster: the attacks an API token could make before
// the confinement. An operate token backing up to /etc (or through "..") and restoring a catalog backup stored
// outside the backup root is a 400 naming body.params.…; an S3 destination off the allow-list is a 400; a token
// limited to namespace A is a 403 on B; a read token sees a LAS's dcapKey as "<redacted>" (an admin sees it); plain
// HTTP on a non-loopback address is refused. No CAS is needed: every refusal happens before the cluster is touched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { KubeClient } from "../../../src/kube/client.ts";
import { createBackup, updateBackup } from "../../../src/store/backups.ts";
import { openStore } from "../../../src/store/open.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../../harness/cluster.ts";
import { BINARY, binaryPresent, freePort, scone } from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import { cleanupSteps, installCrds } from "../../harness/operator.ts";

const SUFFIX = Math.random().toString(36).slice(2, 8);
const NS_A = `scone-apiconf-a-${SUFFIX}`;
const NS_B = `scone-apiconf-b-${SUFFIX}`;
const LAS = `apiconf-${SUFFIX}`;
const DCAP_KEY = "0123456789abcdef0123456789abcdef";
const LAS_API = "base.scone.cloud/v1beta1";

interface Problem {
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
}

describe.skipIf(!clusterAvailable() || !binaryPresent)("scone api confinement (compiled) on the local cluster", () => {
  let cluster: LocalCluster;
  let client: KubeClient;
  let proc: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let url = "";
  let log = "";
  const root = mkdtempSync(join(tmpdir(), "scone-api-confine-it-"));
  const stateDir = join(root, "state");
  const backupRoot = join(root, "backups");
  const tokens = { operate: "", read: "", admin: "", teamA: "" };
  let outsideBackup = "";

  async function tokenFor(name: string, scope: string, ...extra: string[]): Promise<string> {
    const out = await scone(["api", "token", "create", name, "--scope", scope, ...extra, "--state-dir", stateDir]);
    if (out.code !== 0) throw new Error(`token create: ${out.stderr}`);
    return out.stdout.trim();
  }

  function call(method: string, path: string, token: string, body?: unknown): Promise<Response> {
    return fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  beforeAll(async () => {
    cluster = await sharedCluster();
    client = await KubeClient.load({ kubeconfig: cluster.kubeconfigPath });
    await installCrds(client);
    for (const name of [NS_A, NS_B]) {
      await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    }
    await client.create({ apiVersion: LAS_API, kind: "LAS", metadata: { name: LAS }, spec: { dcapKey: DCAP_KEY } });
    tokens.operate = await tokenFor("ops", "operate");
    tokens.read = await tokenFor("reader", "read");
    tokens.admin = await tokenFor("boss", "admin");
    tokens.teamA = await tokenFor("team-a", "operate", "--namespace", NS_A);
    // A completed catalog backup stored outside the backup root (as `scone cas backup --target /tmp/…` records).
    const store = openStore({ stateDir });
    try {
      const b = createBackup(store.db, {
        namespace: NS_A,
        name: "cas",
        target: join(root, "elsewhere"),
        phase: "running",
      });
      updateBackup(store.db, b.id, { phase: "completed", files: {} });
      outsideBackup = b.id;
    } finally {
      store.close();
    }
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const args = ["api", "--port", String(port), "--state-dir", stateDir, "--kubeconfig", cluster.kubeconfigPath];
    const started = Bun.spawn([BINARY, ...args, "--backup-root", backupRoot, "--s3-allow", "s3://scone-allowed/prod"], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1" },
    });
    proc = started;
    for (const stream of [started.stdout, started.stderr]) {
      void (async () => {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) log += chunk;
      })().catch(() => undefined);
    }
    // Ready = the informer caches synced: the LAS read below answers from them.
    await waitFor(
      "scone api to be ready",
      async () => {
        if (started.exitCode !== null) throw new Error(`scone api exited ${started.exitCode}: ${log}`);
        return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok;
      },
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    await cleanupSteps([
      async () => {
        proc?.kill("SIGTERM");
        await proc?.exited;
      },
      () => client?.delete({ apiVersion: LAS_API, kind: "LAS", name: LAS }).then(() => undefined),
      ...[NS_A, NS_B].map(
        (name) => () => client?.delete({ apiVersion: "v1", kind: "Namespace", name }).then(() => undefined),
      ),
      () => rmSync(root, { recursive: true, force: true }),
    ]);
  }, 60_000);

  async function refused(res: Response, status: number): Promise<Problem> {
    if (res.status !== status)
      throw new Error(`expected ${status}, got ${res.status}: ${await res.text()}\n${log.slice(-3000)}`);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    return (await res.json()) as Problem;
  }

  test("an operate token backing up to /etc, or out of the root through '..', is a 400 naming body.params.target", async () => {
    for (const target of ["/etc", `${backupRoot}/../../../etc`]) {
      const res = await call("POST", "/api/v1/operations", tokens.operate, {
        kind: "backup",
        namespace: NS_A,
        name: "cas",
        params: { target },
      });
      const p = await refused(res, 400);
      expect(p.errors?.map((e) => e.field)).toEqual(["body.params.target"]);
      expect(p.errors?.[0]?.message).toContain(`outside the backup root ${backupRoot}`);
    }
  });

  test("a restore of a catalog backup stored outside the root is a 400 naming body.params.from", async () => {
    const res = await call("POST", "/api/v1/operations", tokens.operate, {
      kind: "restore",
      namespace: NS_A,
      name: "restored",
      params: { from: outsideBackup },
    });
    const p = await refused(res, 400);
    expect(p.errors?.map((e) => e.field)).toEqual(["body.params.from"]);
  });

  test("an S3 destination outside the allow-list is a 400 naming body.params.target", async () => {
    const res = await call("POST", "/api/v1/operations", tokens.operate, {
      kind: "backup",
      namespace: NS_A,
      name: "cas",
      params: { target: "s3://attacker-bucket/loot" },
    });
    const p = await refused(res, 400);
    expect(p.errors?.map((e) => e.field)).toEqual(["body.params.target"]);
    expect(p.errors?.[0]?.message).toContain("allowed: s3://scone-allowed/prod");
  });

  test("a token limited to namespace A gets a 403 naming B, on operations and on reads", async () => {
    const post = await call("POST", "/api/v1/operations", tokens.teamA, {
      kind: "evict",
      namespace: NS_B,
      name: "cas",
    });
    expect((await refused(post, 403)).detail).toContain(`namespace "${NS_B}"`);
    const read = await call("GET", `/api/v1/namespaces/${NS_B}/resources/cas/cas`, tokens.teamA);
    expect((await refused(read, 403)).detail).toContain(`"${NS_B}"`);
    // In its own namespace it is only told that the object does not exist.
    expect((await call("GET", `/api/v1/namespaces/${NS_A}/resources/cas/cas`, tokens.teamA)).status).toBe(404);
  });

  test("reading a LAS with a dcapKey returns it redacted below admin", async () => {
    for (const token of [tokens.read, tokens.operate]) {
      const res = await call("GET", `/api/v1/resources/las/${LAS}`, token);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(DCAP_KEY);
      expect((JSON.parse(text) as { spec: { dcapKey: string } }).spec.dcapKey).toBe("<redacted>");
    }
    const listed = await (await call("GET", "/api/v1/resources/las", tokens.read)).text();
    expect(listed).not.toContain(DCAP_KEY);
    const admin = (await (await call("GET", `/api/v1/resources/las/${LAS}`, tokens.admin)).json()) as {
      spec: { dcapKey: string };
    };
    expect(admin.spec.dcapKey).toBe(DCAP_KEY);
  });

  test("plain HTTP on a non-loopback address is refused unless --insecure", async () => {
    const out = await scone(["api", "--host", "0.0.0.0", "--state-dir", join(root, "other")]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("refusing plain HTTP on 0.0.0.0");
    expect(out.stderr).toContain("--insecure");
  });
});
