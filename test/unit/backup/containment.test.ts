// Backups and restores stay inside their own set (issue 11 item 1), against a backup directory others can write
// to: a manifest naming files outside the set, links planted in the set or above it, keys with ".." segments, an
// S3 server listing keys outside the set. Nothing is written, read or deleted outside the set or a fresh temp dir.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { BackupInputError, BackupVerificationError } from "../../../src/backup/errors.ts";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import { resolveRestoreSource } from "../../../src/backup/restore-source.ts";
import { executeRetention } from "../../../src/backup/retention.ts";
import { runBackup } from "../../../src/backup/run.ts";
import { S3Credentials } from "../../../src/backup/s3-credentials.ts";
import { S3Target } from "../../../src/backup/s3-target.ts";
import { DirectorySnapshotSource } from "../../../src/backup/snapshot-source.ts";
import { removeSet } from "../../../src/backup/target.ts";
import { verifyBackup } from "../../../src/backup/verify.ts";
import { getBackup } from "../../../src/store/backups.ts";
import { cleanup, snapshotRoot, tempDir, tempStore } from "../../harness/backup-fixtures.ts";

afterEach(cleanup);

/** A completed backup in a fresh directory target; returns the row, the set dir and a sibling "outside" dir. */
async function backupSet() {
  const store = tempStore();
  const base = tempDir("contain");
  const outside = join(base, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "precious"), "keep me");
  const record = await runBackup({
    cas: { namespace: "prod", name: "cas" },
    source: new DirectorySnapshotSource(snapshotRoot().root),
    target: new LocalDirectoryTarget(join(base, "backups")),
    store,
  });
  expect(record.phase).toBe("completed");
  return { store, record, dir: record.target, outside, base };
}

describe("a manifest naming files outside the set", () => {
  test("../../x, an absolute path and an unknown name are refused, nothing written beside the temp dir", async () => {
    const { dir, base } = await backupSet();
    const manifest = JSON.parse(readFileSync(join(dir, "backup.json"), "utf8"));
    const db = manifest.files["cas.db"];
    // Each name has a file with the recorded hash where the name points, so only the name can stop it.
    mkdirSync(join(dir, "etc"));
    writeFileSync(join(dir, "etc", "x"), readFileSync(join(dir, "cas.db")));
    writeFileSync(join(dir, "extra"), readFileSync(join(dir, "cas.db")));
    const temps = join(base, "temps", "a");
    mkdirSync(temps, { recursive: true });
    for (const name of ["../../x", "/etc/x", "extra"]) {
      writeFileSync(
        join(dir, "backup.json"),
        JSON.stringify({ ...manifest, files: { ...manifest.files, [name]: db } }),
      );
      const error = await resolveRestoreSource(dir, { tempDir: temps }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackupVerificationError);
      expect((error as Error).message).toContain(
        `backup.json lists ${JSON.stringify(name)}, which is not a backup file`,
      );
      expect(readdirSync(temps)).toEqual([]);
      expect(readdirSync(join(base, "temps"))).toEqual(["a"]);
    }
  });

  test("duplicate names and oversized entries are refused", async () => {
    const { dir } = await backupSet();
    const original = readFileSync(join(dir, "backup.json"), "utf8");
    const manifest = JSON.parse(original);
    const doubled = original.replace(
      '"files": {',
      `"files": {\n    "cas.db": ${JSON.stringify(manifest.files["cas.db"])},`,
    );
    writeFileSync(join(dir, "backup.json"), doubled);
    expect((await verifyBackup(dir)).problems).toEqual(['backup.json names "cas.db" more than once']);

    const huge = { ...manifest.files["cas.db"], size: 2 ** 40 };
    writeFileSync(
      join(dir, "backup.json"),
      JSON.stringify({ ...manifest, files: { ...manifest.files, "cas.db": huge } }),
    );
    expect((await verifyBackup(dir)).problems).toEqual([
      `backup.json says cas.db has ${2 ** 40} bytes, more than the 1073741824 allowed`,
    ]);
  });

  test("restored files are private (0600 in a fresh 0700 dir with an unpredictable name)", async () => {
    const { dir, base } = await backupSet();
    const source = await resolveRestoreSource(dir, { tempDir: base });
    try {
      expect(statSync(source.dir).mode & 0o777).toBe(0o700);
      expect(source.dir).toMatch(/scone-restore-[A-Za-z0-9]{6}$/);
      for (const f of readdirSync(source.dir)) expect(statSync(join(source.dir, f)).mode & 0o777).toBe(0o600);
      expect(readdirSync(source.dir).sort()).toEqual(["backup.json", "cas.db", "cas.key-store"]);
    } finally {
      await source.cleanup();
    }
  });
});

describe("links planted in a backup directory are never followed", () => {
  test("a linked directory inside a set: retention deletes the set, not what the link points to", async () => {
    const { store, record, dir, outside } = await backupSet();
    symlinkSync(outside, join(dir, "sub"));
    const result = await executeRetention([{ record, reason: "test" }], { store });
    expect(result).toEqual({ deleted: [record.id], failed: [] });
    expect(readFileSync(join(outside, "precious"), "utf8")).toBe("keep me");
    expect(existsSync(join(dir, "backup.json"))).toBe(false);
  });

  test("a set replaced by a link: retention refuses it and deletes nothing where it points", async () => {
    const { store, record, dir, outside } = await backupSet();
    for (const f of ["backup.json", "cas.db", "cas.key-store"]) renameSync(join(dir, f), join(outside, f));
    rmdirSync(dir);
    symlinkSync(outside, dir);
    const result = await executeRetention([{ record, reason: "test" }], { store });
    expect(result.deleted).toEqual([]);
    expect(result.failed[0]?.error).toContain(
      `${dir} is a symbolic link; links inside a backup directory are never followed`,
    );
    expect(readdirSync(outside).sort()).toEqual(["backup.json", "cas.db", "cas.key-store", "precious"]);
    expect(getBackup(store.db, record.id)?.error).toContain("symbolic link");
  });

  test("a backup never writes through a linked directory, and a linked file is not read as a backup file", async () => {
    const { store, outside, base, dir } = await backupSet();
    symlinkSync(outside, join(base, "backups", "evil"));
    const failed = await runBackup({
      cas: { namespace: "evil", name: "cas" },
      source: new DirectorySnapshotSource(snapshotRoot().root),
      target: new LocalDirectoryTarget(join(base, "backups")),
      store,
    });
    expect(failed.phase).toBe("failed");
    expect(failed.error).toContain("is a symbolic link");
    expect(readdirSync(outside)).toEqual(["precious"]);

    const db = join(dir, "cas.db");
    renameSync(db, join(outside, "cas.db"));
    symlinkSync(join(outside, "cas.db"), db);
    await expect(verifyBackup(dir)).rejects.toThrow(`${db} is a symbolic link`);
  });

  test("keys are checked before any I/O: no '..', empty or control-character segments", async () => {
    const target = new LocalDirectoryTarget(tempDir());
    for (const key of ["a/../../b", "a//b", "a/\u0000b", "a\\b"]) {
      await expect(target.get(key)).rejects.toBeInstanceOf(BackupInputError);
      await expect(target.delete(key)).rejects.toBeInstanceOf(BackupInputError);
    }
    await expect(removeSet(target, "")).rejects.toThrow('refusing to remove "": not the key of one backup set');
    await expect(target.get("x")).resolves.toBeNull();
  });
});

describe("an S3 server listing keys outside the set", () => {
  let server: Server<undefined>;
  const deleted: string[] = [];
  /** What the fake server lists below any prefix: the set's files plus keys that lead out of it. */
  const listed = [
    "p/prod/cas/bk-1/backup.json",
    "p/prod/cas/bk-1/cas.db",
    "p/prod/cas/bk-1/../../../../victim",
    "p/prod/cas/bk-1/./x/../../../bk-2/cas.db",
    "p/prod/cas/bk-2/cas.db",
    "other/thing",
  ];

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const url = new URL(req.url);
        if (req.method === "DELETE") {
          deleted.push(decodeURIComponent(url.pathname));
          return new Response(null, { status: 204 });
        }
        if (url.searchParams.get("list-type") === "2") {
          const contents = listed.map((k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`).join("");
          const xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated><KeyCount>${listed.length}</KeyCount>${contents}</ListBucketResult>`;
          return new Response(xml, { headers: { "content-type": "application/xml" } });
        }
        return new Response("<Error><Code>NoSuchKey</Code></Error>", { status: 404 });
      },
    });
  });
  afterAll(() => server.stop(true));

  test("removing a set deletes only the set's own keys", async () => {
    const creds = new S3Credentials(
      { accessKeyId: "AKIDEXAMPLE1", secretAccessKey: "secret-key-000", endpoint: `http://127.0.0.1:${server.port}` },
      "environment",
    );
    const target = new S3Target("b", "p", creds);
    await removeSet(target, "prod/cas/bk-1");
    // backup.json goes first on its own, then again as listed: a removal is idempotent.
    expect([...new Set(deleted)].sort()).toEqual(["/b/p/prod/cas/bk-1/backup.json", "/b/p/prod/cas/bk-1/cas.db"]);
    const count = deleted.length;
    await expect(target.delete("prod/cas/bk-1/../../../../victim")).rejects.toBeInstanceOf(BackupInputError);
    expect(deleted).toHaveLength(count);
  });
});
