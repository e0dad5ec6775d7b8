// The backup catalog is a cache of the targets (issue 14): sets written with one state store are listed with the
// same fields by `scone cas backups --refresh` in a fresh, empty state directory (a fresh laptop, a second
// replica), from a directory and from a real S3 server (versitygw, test/harness/s3.ts). Retention with an empty
// cache removes exactly the expired sets of that CAS; a foreign object under the prefix, an incomplete set and
// another CAS's set survive.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTarget } from "../../../src/backup/open-target.ts";
import { applyTargetRetention } from "../../../src/backup/retention.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { s3CredentialsFromEnv } from "../../../src/backup/s3-credentials.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import type { BackupTarget } from "../../../src/backup/target.ts";
import { type BackupRecord, listBackups } from "../../../src/store/backups.ts";
import { openStore, type Store } from "../../../src/store/open.ts";
import { type SharedS3, sharedS3 } from "../../harness/s3.ts";

const SETUP_TIMEOUT = 180_000;
const TIMEOUT = 60_000;
const BUCKET = "scone-catalog-it";
const DAY = 86_400_000;
const NOW = Date.now();
const root = mkdtempSync(join(tmpdir(), "scone-catalog-it-"));
const snapshots = join(root, "snapshots");
const stores: Store[] = [];
let s3: SharedS3;
let env: Record<string, string>;

function store(name: string): Store {
  const s = openStore({ stateDir: join(root, name) });
  stores.push(s);
  return s;
}

/** `scone cas backups …` of this checkout, run as a separate process (its own store). */
async function sconeBackups(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../../src/main.ts"), "cas", "backups", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env, KUBECONFIG: "", NO_COLOR: "1" },
    timeout: TIMEOUT,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  s3 = await sharedS3();
  await s3.bucket(BUCKET);
  env = {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    AWS_ENDPOINT_URL: s3.endpoint,
  };
  // A CAS snapshot directory as the CAS writes it: snapshot-…/{cas.db,cas.key-store} and last-completed.
  const snap = join(snapshots, "snapshot-1");
  mkdirSync(snap, { recursive: true });
  writeFileSync(join(snap, "cas.db"), randomBytes(4096));
  writeFileSync(join(snap, "cas.key-store"), randomBytes(256));
  symlinkSync("snapshot-1", join(snapshots, "last-completed"));
}, SETUP_TIMEOUT);

afterAll(() => {
  for (const s of stores) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
  rmSync(root, { recursive: true, force: true });
});

interface Written {
  target: BackupTarget;
  location: string;
  /** prod/cas sets, oldest first: 20, 15, 2 and 1 days old. */
  ids: string[];
  other: string;
  writer: Store;
}

/** Sets written with one store, plus what others leave under the prefix: a stray object and an incomplete set. */
async function writeSets(location: string, writer: Store): Promise<Written> {
  const target = openTarget(location, { credentials: s3CredentialsFromEnv(env) });
  const source = new DirectorySnapshotSource(snapshots);
  const ids: string[] = [];
  for (const days of [20, 15, 2, 1]) {
    const cas = { namespace: "prod", name: "cas", version: "6.0.6" };
    const r = await runBackup({ cas, source, target, store: writer, now: () => NOW - days * DAY });
    expect(r.phase).toBe("completed");
    ids.push(r.id);
  }
  const other = await runBackup({
    cas: { namespace: "prod", name: "other", version: null },
    source,
    target,
    store: writer,
    now: () => NOW - 30 * DAY,
  });
  await target.put("prod/cas/readme.txt", new TextEncoder().encode("not a backup"));
  await target.put("prod/cas/bk-incomplete/cas.db", new TextEncoder().encode("partial upload"));
  return { target, location, ids, other: other.id, writer };
}

const kinds = [
  { kind: "directory", location: () => join(root, "dir-target") },
  { kind: "S3", location: () => `s3://${BUCKET}/${randomBytes(6).toString("hex")}/backups` },
];

describe.each(kinds)("catalog rebuilt from a $kind target", ({ kind, location }) => {
  let written: Written;
  beforeAll(async () => {
    written = await writeSets(location(), store(`writer-${kind}`));
  }, SETUP_TIMEOUT);

  test(
    "a fresh state directory: `backups --refresh` lists the same sets with the same fields; later runs read the cache",
    async () => {
      const fresh = join(root, `fresh-${kind}`);
      const before = await sconeBackups(["--state-dir", fresh, "-o", "json"]);
      expect(JSON.parse(before.stdout)).toEqual([]);
      const run = await sconeBackups(["--refresh", "--from", written.location, "--state-dir", fresh, "-o", "json"]);
      expect(run.stderr).toContain("5 backup sets, 5 added, 0 removed");
      expect(run.stderr).toContain("bk-incomplete: no readable backup.json");
      expect(run.code).toBe(0);
      const expected = listBackups(written.writer.db, { limit: 100 });
      expect(expected).toHaveLength(5);
      expect(JSON.parse(run.stdout) as BackupRecord[]).toEqual(expected);
      // The cache persists: a plain listing (no --refresh) shows the same, filtered by CAS as usual.
      const cached = await sconeBackups(["cas", "-n", "prod", "--state-dir", fresh, "-o", "json"]);
      expect(cached.code).toBe(0);
      expect(JSON.parse(cached.stdout)).toEqual(expected.filter((r) => r.name === "cas"));
    },
    TIMEOUT,
  );

  test(
    "retention with an empty cache removes exactly the expired sets; strays, incomplete and other CAS's sets survive",
    async () => {
      const { target, ids, other } = written;
      const before = await target.list("");
      const result = await applyTargetRetention({
        target,
        cas: { namespace: "prod", name: "cas" },
        policy: { keepDays: 10 },
        now: NOW,
        store: store(`retention-${kind}`),
      });
      expect(result.failed).toEqual([]);
      expect(result.deleted.sort()).toEqual([ids[0], ids[1]].sort() as string[]);
      const expired = new Set([ids[0], ids[1]].map((id) => `prod/cas/${id}/`));
      const kept = before.filter((key) => ![...expired].some((p) => key.startsWith(p)));
      expect(await target.list("")).toEqual(kept);
      expect(kept).toContain("prod/cas/readme.txt");
      expect(kept).toContain("prod/cas/bk-incomplete/cas.db");
      expect(kept).toContain(`prod/other/${other}/backup.json`);
      expect(kept.filter((k) => k.endsWith("backup.json"))).toHaveLength(3);
    },
    TIMEOUT,
  );
});
