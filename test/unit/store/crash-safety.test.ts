// What stays local survives: a writer SIGKILLed at any point leaves a database that opens, passes SQLite's
// integrity check and holds every transaction it reported committed (WAL, synchronous=NORMAL; docs/state.md).
// A file that is damaged or not scone's is refused with its path and the fix, and another program's SQLite
// database is left byte-for-byte untouched.
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  checkStoreFileBytes,
  SCONE_APPLICATION_ID,
  StoreCorruptError,
  StoreForeignError,
} from "../../../src/store/file-check.ts";
import { DB_FILE, openStore } from "../../../src/store/open.ts";
import { createOperation, listOperations } from "../../../src/store/operations.ts";
import { cleanupTempStores, tempDir } from "./temp-store.ts";

afterEach(cleanupTempStores);

/** A state dir with a scone database holding `n` operations (closed, checkpointed). */
function filledStateDir(n: number): string {
  const stateDir = join(tempDir(), "s");
  const store = openStore({ stateDir });
  for (let i = 0; i < n; i++) {
    createOperation(store.db, {
      kind: "backup",
      namespace: "ns",
      name: `c${i}`,
      params: { note: "y".repeat(4096) },
      createdBy: "t",
    });
  }
  store.close();
  // Every page into the file and an empty WAL: cutting the file then loses data, as a real truncation would.
  const raw = new Database(join(stateDir, DB_FILE));
  raw.run("PRAGMA wal_checkpoint(TRUNCATE)");
  raw.close();
  return stateDir;
}

describe("damaged and foreign files are refused with the path and the fix", () => {
  test("a truncated database: damaged, delete it to rebuild or use another --state-dir", () => {
    const stateDir = filledStateDir(200);
    const path = join(stateDir, DB_FILE);
    truncateSync(path, Math.floor(statSync(path).size / 2));
    const open = () => openStore({ stateDir });
    expect(open).toThrow(StoreCorruptError);
    expect(open).toThrow(
      new RegExp(`^state database ${path} is damaged \\(truncated: .*delete it .*another --state-dir`),
    );
  });

  test("a database whose WAL holds frames (in use, maybe checkpointing) is not judged by its page count; SQLite's own check refuses real damage", () => {
    const stateDir = filledStateDir(200);
    const path = join(stateDir, DB_FILE);
    const full = statSync(path).size;
    truncateSync(path, Math.floor(full / 2));
    expect(() => checkStoreFileBytes(path, Math.floor(full / 2))).toThrow(/truncated/);
    expect(() => checkStoreFileBytes(path, Math.floor(full / 2), { inUse: true })).not.toThrow();
    writeFileSync(`${path}-wal`, "");
    expect(() => openStore({ stateDir })).toThrow(StoreCorruptError);
  });

  test("a database cut inside its header, and a random file: damaged", () => {
    const stateDir = filledStateDir(1);
    const path = join(stateDir, DB_FILE);
    truncateSync(path, 60);
    expect(() => openStore({ stateDir })).toThrow(/is damaged \(60 bytes, shorter than a SQLite header\)/);
    writeFileSync(path, crypto.getRandomValues(new Uint8Array(64 * 1024)));
    expect(() => openStore({ stateDir })).toThrow(/is damaged \(not a SQLite database\)/);
  });

  test("a page damaged inside the file: SQLite's quick_check finds it", () => {
    const stateDir = filledStateDir(200);
    const path = join(stateDir, DB_FILE);
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    // Overwrite the b-tree header of page 3 onwards with garbage: the size stays right, the structure does not.
    bytes.fill(0xa5, pageSize * 2, pageSize * 2 + 64);
    bytes.fill(0x5a, pageSize * 5, pageSize * 5 + 64);
    writeFileSync(path, bytes);
    expect(() => openStore({ stateDir })).toThrow(StoreCorruptError);
  });

  test("another program's SQLite database is refused naming its tables, and left untouched", () => {
    const stateDir = join(tempDir(), "s");
    mkdirSync(stateDir);
    const path = join(stateDir, DB_FILE);
    const other = new Database(path);
    other.run("CREATE TABLE bookmarks (url TEXT)");
    other.run("INSERT INTO bookmarks VALUES ('https://example.invalid')");
    other.close();
    const before = readFileSync(path);
    const open = () => openStore({ stateDir });
    expect(open).toThrow(StoreForeignError);
    expect(open).toThrow(`${path} is not a scone state database (its tables are bookmarks)`);
    expect(open).toThrow(/pass another --state-dir/);
    expect(Buffer.compare(readFileSync(path), before)).toBe(0);
  });

  test("a SQLite database marked by another application_id is refused even when empty", () => {
    const stateDir = join(tempDir(), "s");
    mkdirSync(stateDir);
    const other = new Database(join(stateDir, DB_FILE));
    other.run("PRAGMA application_id = 1234");
    other.close();
    expect(() => openStore({ stateDir })).toThrow(/application_id is 0x4d2/);
  });

  test("scone's own databases carry application_id SCON, including those created before it existed", () => {
    const stateDir = filledStateDir(1);
    const db = new Database(join(stateDir, DB_FILE));
    expect(db.query("PRAGMA application_id").get()).toEqual({ application_id: SCONE_APPLICATION_ID });
    db.run("PRAGMA application_id = 0"); // as written by an older scone
    db.close();
    const store = openStore({ stateDir });
    expect(store.sqlite.query("PRAGMA application_id").get()).toEqual({ application_id: SCONE_APPLICATION_ID });
    expect(listOperations(store.db, { limit: 10 })).toHaveLength(1);
    store.close();
  });
});

describe("SIGKILL in the middle of writing", () => {
  test("three kills at random moments: the database opens, is intact and holds every reported commit", async () => {
    const stateDir = join(tempDir(), "s");
    for (let round = 0; round < 3; round++) {
      const child = Bun.spawn([process.execPath, join(import.meta.dir, "write-forever.ts"), stateDir], {
        stdout: "pipe",
        stderr: "inherit",
      });
      let reported = 0;
      const target = 20 + Math.floor(Math.random() * 40);
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of child.stdout) {
        buffer += decoder.decode(chunk);
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        for (const line of lines) reported = Number(line);
        if (reported >= target) break;
      }
      child.kill("SIGKILL");
      await child.exited;
      expect(child.signalCode).toBe("SIGKILL");

      const store = openStore({ stateDir });
      try {
        expect(store.sqlite.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
        const ops = listOperations(store.db, { limit: 1000 }).filter((o) => o.name.startsWith("cas-"));
        const finished = ops.filter((o) => o.phase === "succeeded");
        // Every operation the child reported is there, finished; at most one more was cut mid-way.
        expect(finished.length).toBeGreaterThanOrEqual(reported);
        for (const op of finished) {
          expect(op.stepsDone).toEqual(["snapshot", "upload"]);
          expect(op.version).toBe(5);
        }
        // The one being written when the kill came is consistent with its version: steps done match writes.
        for (const op of ops.filter((o) => o.phase !== "succeeded")) {
          expect(op.stepsDone.length).toBe(Math.floor(op.version / 2));
        }
        // Next round starts its names after these (unique targets keep the accounting simple).
        store.sqlite.run("DELETE FROM operations");
      } finally {
        store.close();
      }
    }
  }, 120_000);
});
