// Backups end to end, without a cluster: the CAS simulator writes real database snapshots, scone backs them up to
// a directory and to a real S3 server (versitygw on loopback, test/harness/s3.ts), lists, verifies and fetches
// them as restore sources; a CAS simulator started from a restored set has the original identity. Corrupted and
// incomplete sets in S3 are refused; retention deletes exactly the planned backups; a backup killed midway leaves
// no manifest and is marked failed by the next run. A bucket or directory others write to (hostile manifests,
// keys with "..", planted links) never makes a restore write, or a retention delete, outside the set.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchSimulator, type RunningSimulator } from "../../../sim/cas/launch.ts";
import { BackupInputError, BackupVerificationError } from "../../../src/backup/errors.ts";
import { listBackups, listTargetBackups } from "../../../src/backup/list.ts";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import { sha256Hex } from "../../../src/backup/manifest.ts";
import { openTarget } from "../../../src/backup/open-target.ts";
import { resolveRestoreSource } from "../../../src/backup/restore-source.ts";
import { applyRetention, executeRetention } from "../../../src/backup/retention.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { type S3Credentials, s3CredentialsFromEnv } from "../../../src/backup/s3-credentials.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import { verifyBackup } from "../../../src/backup/verify.ts";
import { getBackup } from "../../../src/store/backups.ts";
import { openStore, type Store } from "../../../src/store/open.ts";
import { type SharedS3, sharedS3 } from "../../harness/s3.ts";

const TIMEOUT = 60_000;
/** The S3 server's first start (up to 60 s on a busy machine), the simulator and its first snapshot. */
const SETUP_TIMEOUT = 180_000;
const BUCKET = "scone-backup-it";
const DAY = 86_400_000;
const root = mkdtempSync(join(tmpdir(), "scone-backup-it-"));
const snapshotDir = join(root, "snapshots");
let sim: RunningSimulator;
let s3: SharedS3;
let credentials: S3Credentials;
let store: Store;
const cas = { namespace: "prod", name: "cas", version: "6.0.6" };

/** Raw S3 access for the tests' own tampering (bypasses the BackupTarget). */
function rawBucket(): Bun.S3Client {
  return new Bun.S3Client({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    region: s3.region,
    endpoint: s3.endpoint,
    bucket: BUCKET,
  });
}

function backupToS3(prefix: string, now?: () => number) {
  return runBackup({
    cas,
    source: new DirectorySnapshotSource(snapshotDir),
    target: openTarget(`s3://${BUCKET}/${prefix}`, { credentials }),
    store,
    ...(now ? { now } : {}),
  });
}

beforeAll(async () => {
  [s3, sim] = await Promise.all([
    sharedS3(),
    launchSimulator({ dataDir: join(root, "db"), snapshotDir, snapshotInterval: "300ms" }),
  ]);
  await s3.bucket(BUCKET);
  // Credentials the way an operator passes them: AWS_* variables.
  credentials = s3CredentialsFromEnv({
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    AWS_ENDPOINT_URL: s3.endpoint,
  });
  store = openStore({ stateDir: join(root, "state") });
  // The simulator writes its database at start; the first snapshot follows within one interval.
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(snapshotDir, "last-completed", "cas.key-store"))) {
    if (Date.now() > deadline) throw new Error(`no CAS snapshot in ${snapshotDir} after 60 s`);
    await Bun.sleep(100);
  }
}, SETUP_TIMEOUT);

// Each step on its own: one failing must not leave the simulator running or the directory behind.
afterAll(async () => {
  try {
    store?.close();
  } catch {
    // already closed
  }
  if (sim && sim.process.exitCode === null) await sim.stop().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
}, 30_000);

describe("backups of a simulated CAS", () => {
  test(
    "to a directory: the set holds the snapshot's bytes and verifies",
    async () => {
      const record = await runBackup({
        cas,
        source: new DirectorySnapshotSource(snapshotDir),
        target: new LocalDirectoryTarget(join(root, "local-backups")),
        store,
      });
      expect(record).toMatchObject({ phase: "completed", error: null });
      expect(record.target).toBe(join(root, "local-backups", "prod", "cas", record.id));
      const snapshot = join(snapshotDir, record.snapshotMarker ?? "");
      expect(realpathSync(snapshot)).toStartWith(realpathSync(snapshotDir));
      expect(record.files["cas.db"]?.sha256).toBe(sha256Hex(readFileSync(join(snapshot, "cas.db"))));
      expect(await verifyBackup(record.target)).toMatchObject({ ok: true, problems: [] });
    },
    TIMEOUT,
  );

  test(
    "to S3: listed in the catalog and in the bucket, verified, fetched back as a restore source",
    async () => {
      const record = await backupToS3("clusters/eu");
      expect(record.phase).toBe("completed");
      expect(record.target).toBe(`s3://${BUCKET}/clusters/eu/prod/cas/${record.id}`);

      expect(listBackups({ store, namespace: "prod", name: "cas", phase: "completed" }).map((b) => b.id)).toContain(
        record.id,
      );
      const inBucket = await listTargetBackups(openTarget(`s3://${BUCKET}/clusters/eu`, { credentials }));
      expect(inBucket).toEqual([
        expect.objectContaining({ namespace: "prod", name: "cas", id: record.id, location: record.target }),
      ]);
      expect(inBucket[0]?.manifest?.files).toEqual(record.files);
      const keys = (await rawBucket().list({ prefix: `clusters/eu/prod/cas/${record.id}/` })).contents?.map(
        (c) => c.key,
      );
      expect(keys?.sort()).toEqual(
        ["backup.json", "cas.db", "cas.key-store"].map((f) => `clusters/eu/prod/cas/${record.id}/${f}`),
      );

      expect(await verifyBackup(record.target, { credentials })).toMatchObject({ ok: true, location: record.target });
      const byId = await resolveRestoreSource(record.id, { store, credentials, tempDir: root });
      const byUrl = await resolveRestoreSource(record.target, { credentials, tempDir: root });
      expect(byUrl.manifest).toEqual(byId.manifest);
      expect(readFileSync(join(byId.dir, "cas.db"))).toEqual(readFileSync(join(byUrl.dir, "cas.db")));
      await Promise.all([byId.cleanup(), byUrl.cleanup()]);
    },
    TIMEOUT,
  );

  test(
    "a CAS started from a restored S3 backup has the original CAS identity",
    async () => {
      const record = await backupToS3("restore");
      const source = await resolveRestoreSource(record.id, { store, credentials, tempDir: root });
      const restoredData = join(root, "restored-db");
      mkdirSync(restoredData, { mode: 0o700 });
      for (const f of ["cas.db", "cas.key-store"]) cpSync(join(source.dir, f), join(restoredData, f));
      await source.cleanup();
      const restored = await launchSimulator({ dataDir: restoredData });
      try {
        expect(restored.casKeyHash).toBe(sim.casKeyHash);
        expect(restored.sessionEncryptionKey).toBe(sim.sessionEncryptionKey);
      } finally {
        await restored.stop();
      }
    },
    TIMEOUT,
  );

  test(
    "a corrupted object in S3 is refused, by verify and as a restore source",
    async () => {
      const record = await backupToS3("corrupt");
      const key = `corrupt/prod/cas/${record.id}/cas.db`;
      const bytes = await rawBucket().file(key).bytes();
      bytes[0] = (bytes[0] ?? 0) ^ 0xff;
      await rawBucket().write(key, bytes);

      const verified = await verifyBackup(record.target, { credentials });
      expect(verified.ok).toBe(false);
      expect(verified.problems).toEqual([expect.stringMatching(/^cas\.db sha256 is .* \(corrupted\)$/)]);
      const error = await resolveRestoreSource(record.id, { store, credentials, tempDir: root }).catch((e) => e);
      expect(error).toBeInstanceOf(BackupVerificationError);
      expect((error as Error).message).toContain("(corrupted)");

      await rawBucket().write(key, bytes.subarray(0, 10));
      expect((await verifyBackup(record.target, { credentials })).problems[0]).toContain("(truncated)");
    },
    TIMEOUT,
  );

  test(
    "a set in S3 without its manifest (an interrupted upload) is refused",
    async () => {
      const record = await backupToS3("incomplete");
      await rawBucket().delete(`incomplete/prod/cas/${record.id}/backup.json`);
      const verified = await verifyBackup(record.target, { credentials });
      expect(verified).toMatchObject({ ok: false });
      expect(verified.problems[0]).toStartWith("no backup.json manifest (cas.db, cas.key-store present");
      await expect(resolveRestoreSource(record.target, { credentials, tempDir: root })).rejects.toBeInstanceOf(
        BackupVerificationError,
      );
      const listed = await listTargetBackups(openTarget(`s3://${BUCKET}/incomplete`, { credentials }));
      expect(listed).toEqual([expect.objectContaining({ id: record.id, manifest: null })]);
    },
    TIMEOUT,
  );

  test(
    "retention deletes the planned backups from S3 and the catalog, and keeps the rest restorable",
    async () => {
      // A CAS of its own so the other tests' backups do not take part.
      const retained = { ...cas, name: "cas-ret" };
      const now = Date.now();
      const ids: string[] = [];
      for (const daysAgo of [4, 3, 2, 1, 0]) {
        const at = now - daysAgo * DAY;
        const record = await runBackup({
          cas: retained,
          source: new DirectorySnapshotSource(snapshotDir),
          target: openTarget(`s3://${BUCKET}/retention`, { credentials }),
          store,
          now: () => at,
        });
        expect(record.phase).toBe("completed");
        ids.push(record.id);
      }
      const catalog = listBackups({ store, namespace: "prod", name: "cas-ret" });
      const plan = applyRetention(catalog, { keepDays: 1.5, keepLast: 1 }, now);
      expect(plan.remove.map((d) => d.record.id).sort()).toEqual(ids.slice(0, 3).sort());

      const result = await executeRetention(plan.remove, { store, open: { credentials } });
      expect(result).toEqual({ deleted: plan.remove.map((d) => d.record.id), failed: [] });
      for (const id of ids.slice(0, 3)) expect(getBackup(store.db, id)).toBeNull();
      const left = await listTargetBackups(openTarget(`s3://${BUCKET}/retention`, { credentials }));
      expect(left.map((b) => b.id).sort()).toEqual(ids.slice(3).sort());
      const objects = (await rawBucket().list({ prefix: "retention/" })).contents ?? [];
      expect(objects).toHaveLength(6);
      for (const id of ids.slice(3)) {
        const record = getBackup(store.db, id);
        expect(await verifyBackup(record?.target ?? "", { credentials })).toMatchObject({ ok: true });
      }
    },
    TIMEOUT,
  );

  test(
    "a backup process killed midway leaves a running row and no manifest; the next run marks it failed",
    async () => {
      const stateDir = join(root, "crash-state");
      const target = `s3://${BUCKET}/crash`;
      const child = Bun.spawn(
        [process.execPath, join(import.meta.dir, "crash-child.ts"), stateDir, snapshotDir, target],
        {
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: s3.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
            AWS_ENDPOINT_URL: s3.endpoint,
          },
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      expect(await child.exited).not.toBe(0);
      expect(child.signalCode).toBe("SIGKILL");

      const crashStore = openStore({ stateDir });
      try {
        const [crashed] = listBackups({ store: crashStore, namespace: "prod", name: "cas" });
        expect(crashed).toMatchObject({ phase: "running", stoppedAt: null });
        const objects = (await rawBucket().list({ prefix: "crash/" })).contents?.map((c) => c.key) ?? [];
        expect(objects).toEqual([`crash/prod/cas/${crashed?.id}/cas.db`]);

        const next = await runBackup({
          cas,
          source: new DirectorySnapshotSource(snapshotDir),
          target: openTarget(target, { credentials }),
          store: crashStore,
          staleAfterMs: 0,
        });
        expect(next.phase).toBe("completed");
        const old = getBackup(crashStore.db, crashed?.id ?? "");
        expect(old?.phase).toBe("failed");
        expect(old?.error).toStartWith("abandoned: still running after");
        const after = (await rawBucket().list({ prefix: "crash/" })).contents?.map((c) => c.key).sort() ?? [];
        expect(after).toEqual(["backup.json", "cas.db", "cas.key-store"].map((f) => `crash/prod/cas/${next.id}/${f}`));
      } finally {
        crashStore.close();
      }
    },
    TIMEOUT,
  );
});

/** Hostile variants of a set's backup.json: each must be refused. `db` is the cas.db entry of the real manifest. */
function hostileManifests(manifest: Record<string, unknown>): [string, string][] {
  const files = manifest.files as Record<string, unknown>;
  const db = files["cas.db"];
  const json = (m: unknown) => JSON.stringify(m, null, 2);
  return [
    ["../../x", json({ ...manifest, files: { ...files, "../../x": db } })],
    ["/x", json({ ...manifest, files: { ...files, "/x": db } })],
    ["extra", json({ ...manifest, files: { ...files, extra: db } })],
    ["duplicate", json(manifest).replace('"files": {', `"files": {\n    "cas.db": ${JSON.stringify(db)},`)],
    ["oversized", json({ ...manifest, files: { ...files, "cas.db": { ...(db as object), size: 2 ** 40 } } })],
  ];
}

describe("a bucket or directory others write to", () => {
  /** A fresh parent for restore temp dirs, below `root/temps-<label>`: nothing may appear beside `a`. */
  function tempParent(label: string): { parent: string; base: string } {
    const base = join(root, `temps-${label}`);
    mkdirSync(join(base, "a"), { recursive: true });
    return { parent: join(base, "a"), base };
  }

  test(
    "S3: a manifest naming ../../x, /x, an unknown name, a name twice or an oversized file is refused; nothing written",
    async () => {
      const record = await backupToS3("hostile");
      const setPrefix = `hostile/prod/cas/${record.id}`;
      const manifest = JSON.parse(await rawBucket().file(`${setPrefix}/backup.json`).text());
      const dbBytes = await rawBucket().file(`${setPrefix}/cas.db`).bytes();
      // The objects those names point to exist with the recorded hash: only the name can stop them.
      for (const key of ["hostile/prod/x", "x", `${setPrefix}/extra`]) await rawBucket().write(key, dbBytes);
      for (const [label, text] of hostileManifests(manifest)) {
        await rawBucket().write(`${setPrefix}/backup.json`, text);
        const { parent, base } = tempParent(`s3-${label.replace(/\W/g, "")}`);
        const error = await resolveRestoreSource(record.target, { credentials, tempDir: parent }).catch((e) => e);
        expect(error).toBeInstanceOf(BackupVerificationError);
        expect(readdirSync(parent)).toEqual([]);
        expect(readdirSync(base)).toEqual(["a"]);
        expect((await verifyBackup(record.target, { credentials })).ok).toBe(false);
      }
    },
    TIMEOUT,
  );

  test(
    "S3: no key outside the set is ever deleted, not by a key with '..' nor by retention among neighbours",
    async () => {
      const prefix = "neighbours";
      const record = await runBackup({
        cas: { ...cas, name: "cas-nb" },
        source: new DirectorySnapshotSource(snapshotDir),
        target: openTarget(`s3://${BUCKET}/${prefix}`, { credentials }),
        store,
      });
      const neighbours = [
        `${prefix}/victim`,
        `${prefix}/prod/cas-nb/${record.id}x/cas.db`,
        `${prefix}/prod/cas-nb/keep`,
        `${prefix}/prod/cas-nb-2/${record.id}/cas.db`,
      ];
      for (const key of neighbours) await rawBucket().write(key, "neighbour");
      const target = openTarget(`s3://${BUCKET}/${prefix}`, { credentials });
      // Bun's client (like a URL) resolves "..": this key would name neighbours/victim.
      const error = await target.delete(`prod/cas-nb/${record.id}/../../../victim`).catch((e) => e);
      expect(error).toBeInstanceOf(BackupInputError);
      expect((error as Error).message).toContain('has a "." or ".." segment; refused');

      const result = await executeRetention([{ record, reason: "test" }], { store, open: { credentials } });
      expect(result).toEqual({ deleted: [record.id], failed: [] });
      const left = (await rawBucket().list({ prefix: `${prefix}/` })).contents?.map((c) => c.key).sort();
      expect(left).toEqual([...neighbours].sort());
    },
    TIMEOUT,
  );

  test(
    "directory: the same hostile manifests are refused with nothing written outside a fresh temp dir",
    async () => {
      const record = await runBackup({
        cas,
        source: new DirectorySnapshotSource(snapshotDir),
        target: new LocalDirectoryTarget(join(root, "hostile-dir")),
        store,
      });
      const dir = record.target;
      const manifest = JSON.parse(readFileSync(join(dir, "backup.json"), "utf8"));
      writeFileSync(join(dir, "extra"), readFileSync(join(dir, "cas.db")));
      for (const [label, text] of hostileManifests(manifest)) {
        writeFileSync(join(dir, "backup.json"), text);
        const { parent, base } = tempParent(`dir-${label.replace(/\W/g, "")}`);
        const error = await resolveRestoreSource(dir, { tempDir: parent }).catch((e) => e);
        expect(error).toBeInstanceOf(BackupVerificationError);
        expect(readdirSync(parent)).toEqual([]);
        expect(readdirSync(base)).toEqual(["a"]);
      }
    },
    TIMEOUT,
  );

  test(
    "directory: links planted in a set are not followed by retention or by the clean-up of a failed backup",
    async () => {
      const backups = join(root, "linked-dir");
      const outside = join(root, "outside");
      mkdirSync(outside, { recursive: true });
      writeFileSync(join(outside, "precious"), "keep me");
      const record = await runBackup({
        cas,
        source: new DirectorySnapshotSource(snapshotDir),
        target: new LocalDirectoryTarget(backups),
        store,
      });
      symlinkSync(outside, join(record.target, "sub"));
      symlinkSync(join(outside, "precious"), join(record.target, "file-link"));
      const result = await executeRetention([{ record, reason: "test" }], { store });
      expect(result).toEqual({ deleted: [record.id], failed: [] });
      expect(readdirSync(outside)).toEqual(["precious"]);
      expect(readFileSync(join(outside, "precious"), "utf8")).toBe("keep me");
      // What is left of the set is the two links themselves, never followed.
      expect(readdirSync(record.target).sort()).toEqual(["file-link", "sub"]);

      // A namespace directory replaced by a link: the backup fails and writes nothing where it points.
      symlinkSync(outside, join(backups, "linked-ns"));
      const failed = await runBackup({
        cas: { ...cas, namespace: "linked-ns" },
        source: new DirectorySnapshotSource(snapshotDir),
        target: new LocalDirectoryTarget(backups),
        store,
      });
      expect(failed.phase).toBe("failed");
      expect(failed.error).toContain(`${join(backups, "linked-ns")} is a symbolic link`);
      expect(readdirSync(outside)).toEqual(["precious"]);
    },
    TIMEOUT,
  );
});
