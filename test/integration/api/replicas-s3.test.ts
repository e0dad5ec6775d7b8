// Two compiled `scone api` replicas, each with its own store, allowed the same bucket (issue 14): each fills its
// backup catalog from the bucket at start; a set taken later (by the other replica or the operator) is listed after
// GET /backups?refresh=true; GET /audit on an empty index rebuilds it from the audit archive in the bucket.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { S3Credentials } from "../../../src/backup/s3-credentials.ts";
import { S3Target } from "../../../src/backup/s3-target.ts";
import { BINARY, binaryPresent, freePort } from "../../harness/flows.ts";
import { waitFor } from "../../harness/kube.ts";
import { sharedS3 } from "../../harness/s3.ts";
import { writeAuditArchive, writeBackupSet } from "../../support/target-fixtures.ts";

const BUCKET = `scone-api-replicas-${Math.random().toString(36).slice(2, 8)}`;
const PREFIX = "scone-backups";
const CAS = { namespace: "ns1", name: "cas" };

interface Replica {
  url: string;
  token: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  log: string;
}

describe.skipIf(!binaryPresent)("scone api replicas share the bucket's catalog and audit archive", () => {
  const root = mkdtempSync(join(tmpdir(), "scone-api-replicas-it-"));
  const replicas: Replica[] = [];
  let target: S3Target;
  let env: Record<string, string>;

  async function start(name: string): Promise<Replica> {
    const port = await freePort();
    const stateDir = join(root, name);
    const tokenFile = join(root, `${name}.token`);
    const proc = Bun.spawn(
      [
        BINARY,
        ...["api", "--port", String(port), "--state-dir", stateDir, "--bootstrap-token-file", tokenFile],
        ...["--s3-allow", `s3://${BUCKET}/${PREFIX}`],
      ],
      // No cluster (HOME without a kubeconfig): the store's routes are what this test reads.
      { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...env, HOME: root, KUBECONFIG: "", NO_COLOR: "1" } },
    );
    const r: Replica = { url: `http://127.0.0.1:${port}`, token: "", proc, log: "" };
    replicas.push(r);
    for (const stream of [proc.stdout, proc.stderr])
      void (async () => {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) r.log += chunk;
      })().catch(() => undefined);
    await waitFor(`replica ${name} ready`, async () => {
      if (proc.exitCode !== null) throw new Error(`scone api exited ${proc.exitCode}: ${r.log}`);
      return (await fetch(`${r.url}/readyz`).catch(() => undefined))?.ok;
    });
    r.token = readFileSync(tokenFile, "utf8").trim();
    return r;
  }

  const get = async (r: Replica, path: string) => {
    const res = await fetch(`${r.url}/api/v1${path}`, { headers: { authorization: `Bearer ${r.token}` } });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}\n${r.log}`);
    return (await res.json()) as { items: Record<string, unknown>[] };
  };
  const backupIds = async (r: Replica, query = "") =>
    (await get(r, `/backups${query}`)).items.map((b) => b.id as string).sort();

  beforeAll(async () => {
    const s3 = await sharedS3();
    await s3.bucket(BUCKET);
    env = {
      ...(process.env as Record<string, string>),
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      AWS_ENDPOINT_URL: s3.endpoint,
    };
    const credentials = new S3Credentials(
      { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint },
      "test",
    );
    target = new S3Target(BUCKET, PREFIX, credentials);
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) {
      r.proc.kill("SIGTERM");
      await r.proc.exited;
    }
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  test("catalog filled at start, refreshed on demand; the audit index rebuilt from the archive", async () => {
    const first = await writeBackupSet(target, CAS, Date.parse("2026-12-01T10:00:00Z"));
    const log = await writeAuditArchive(target, CAS, 8);
    const a = await start("a");
    const b = await start("b");
    // Each replica's start fills its own store from the bucket.
    for (const r of [a, b])
      await waitFor("the start-up catalog fill", async () => (await backupIds(r)).includes(first) || undefined);

    const second = await writeBackupSet(target, CAS, Date.parse("2026-12-02T10:00:00Z"));
    expect(await backupIds(b)).toEqual([first]);
    expect(await backupIds(b, "?refresh=true")).toEqual([first, second].sort());
    expect(await backupIds(a, "?refresh=true&namespace=ns1")).toEqual([first, second].sort());

    const audit = (await get(a, "/audit?namespace=ns1&name=cas&limit=100")).items;
    expect(audit.map((e) => e.seq)).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
    expect(new Set(audit.map((e) => e.log))).toEqual(new Set([log]));
    expect((await get(b, "/audit?namespace=ns1&name=cas&limit=100")).items.length).toBe(8);
  }, 120_000);
});
