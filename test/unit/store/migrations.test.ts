import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { is } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { migrate as drizzleMigrate } from "drizzle-orm/bun-sqlite/migrator";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { readMigrationsDir } from "../../../hack/embed-migrations.ts";
import { searchAudit } from "../../../src/store/audit.ts";
import { listHistory } from "../../../src/store/history.ts";
import {
  applyMigrations,
  type EmbeddedMigration,
  StoreMigrationError,
  StoreVersionError,
} from "../../../src/store/migrate.ts";
import { EMBEDDED_MIGRATIONS } from "../../../src/store/migrations.generated.ts";
import { openStore } from "../../../src/store/open.ts";
import * as schema from "../../../src/store/schema.ts";
import { cleanupTempStores, tempDir } from "./temp-store.ts";

afterEach(cleanupTempStores);

function schemaOf(sqlite: Database): { type: string; name: string; sql: string | null }[] {
  return sqlite
    .query<{ type: string; name: string; sql: string | null }, []>(
      "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> '__drizzle_migrations' ORDER BY type, name",
    )
    .all();
}

function appliedTags(sqlite: Database): string[] {
  return sqlite
    .query<{ tag: string }, []>('SELECT tag FROM "__drizzle_migrations" ORDER BY created_at')
    .all()
    .map((r) => r.tag);
}

describe("embedded migrations", () => {
  test("src/store/migrations.generated.ts matches migrations/ (else run: bun run db:generate)", () => {
    expect(EMBEDDED_MIGRATIONS).toEqual(readMigrationsDir("migrations"));
  });

  test("every .sql file in migrations/ is in the journal", () => {
    const files = readdirSync("migrations")
      .filter((f) => f.endsWith(".sql"))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(files).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.tag).sort());
  });

  test("schema.ts has no change that migrations/ lacks (else run: bun run db:generate)", async () => {
    const { generateSQLiteDrizzleJson, generateSQLiteMigration } = await import("drizzle-kit/api");
    const last = EMBEDDED_MIGRATIONS.at(-1)?.tag.slice(0, 4);
    const snapshot = JSON.parse(readFileSync(join("migrations", "meta", `${last}_snapshot.json`), "utf8"));
    const current = await generateSQLiteDrizzleJson(schema as Record<string, unknown>, snapshot.id);
    expect(await generateSQLiteMigration(snapshot, current)).toEqual([]);
  });

  test("there is more than one migration, so upgrading from an earlier one is exercised", () => {
    expect(EMBEDDED_MIGRATIONS.length).toBeGreaterThanOrEqual(2);
  });
});

describe("openStore migrations", () => {
  test("an empty database gets every migration and the tables of schema.ts", () => {
    const store = openStore({ stateDir: join(tempDir(), "s") });
    expect(store.migrated).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.tag));
    expect(appliedTags(store.sqlite)).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.tag));
    // schema.ts and the migrated database agree column by column (catches a schema edit without db:generate).
    const tables = (Object.values(schema) as unknown[]).filter((v): v is SQLiteTable => is(v, SQLiteTable));
    expect(tables.map((t) => getTableConfig(t).name).sort()).toEqual([
      "api_audit",
      "api_tokens",
      "audit_entries",
      "audit_text_index",
      "backup_catalog",
      "operations",
      "reconcile_history",
    ]);
    for (const table of tables) {
      const config = getTableConfig(table);
      const columns = store.sqlite
        .query<{ name: string }, []>(`PRAGMA table_info("${config.name}")`)
        .all()
        .map((c) => c.name);
      expect(columns.sort()).toEqual(config.columns.map((c) => c.name).sort());
    }
    const fts = store.sqlite.query("SELECT name FROM sqlite_master WHERE name = 'audit_entries_fts'").get();
    expect(fts).not.toBeNull();
    store.close();
  });

  test("reopening applies nothing", () => {
    const stateDir = join(tempDir(), "s");
    openStore({ stateDir }).close();
    const again = openStore({ stateDir });
    expect(again.migrated).toEqual([]);
    again.close();
  });

  // One case per earlier state: a database built by a binary that knew only the first k migrations.
  for (let k = 1; k < EMBEDDED_MIGRATIONS.length; k++) {
    const tags = EMBEDDED_MIGRATIONS.slice(0, k).map((m) => m.tag);
    test(`a database at ${tags.at(-1)} is migrated forward and keeps its data`, () => {
      const dir = tempDir();
      const fresh = openStore({ stateDir: join(dir, "fresh") });
      const expectedSchema = schemaOf(fresh.sqlite);
      fresh.close();

      const stateDir = join(dir, "old");
      const old = openStore({ stateDir, migrations: EMBEDDED_MIGRATIONS.slice(0, k) });
      expect(appliedTags(old.sqlite)).toEqual(tags);
      // Data every migration so far can hold (tables of the initial schema).
      old.sqlite.run(
        "INSERT INTO reconcile_history (kind, namespace, name, generation, started_at, duration_ms, result, actions, trigger) VALUES ('CAS', 'ns', 'cas', 3, 1000, 5, 'success', '[\"apply StatefulSet ns/cas\"]', 'watch')",
      );
      old.sqlite.run(
        "INSERT INTO audit_entries (namespace, name, seq, ts, event, session, raw, signature, prev_signature, chain_ok) VALUES ('ns', 'cas', 1, 1000, 'session_created', 'blue-whale', '{\"event\":\"session_created\"}', 'sig1', 'sig0', 1)",
      );
      for (const [name, seq, sig] of [
        ["cas", 2, "sig2"],
        ["other", 5, "other5"],
      ] as const)
        old.sqlite.run(
          `INSERT INTO audit_entries (namespace, name, seq, ts, event, raw, signature, prev_signature, chain_ok) VALUES ('ns', '${name}', ${seq}, ${1000 + seq}, 'session_read', '{}', '${sig}', 'x', 1)`,
        );
      old.close();

      const store = openStore({ stateDir });
      expect(store.migrated).toEqual(EMBEDDED_MIGRATIONS.slice(k).map((m) => m.tag));
      expect(appliedTags(store.sqlite)).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.tag));
      expect(schemaOf(store.sqlite)).toEqual(expectedSchema);
      const history = listHistory(store.db, { kind: "CAS", limit: 10 });
      expect(history.map((h) => [h.name, h.generation, h.actions])).toEqual([["cas", 3, ["apply StatefulSet ns/cas"]]]);
      // Entries indexed before the FTS migration are searchable after it.
      const found = searchAudit(store.db, { namespace: "ns", name: "cas", query: "blue-whale", limit: 10 });
      expect(found.entries.map((e) => e.seq)).toEqual([1]);
      // ... exactly once: 0005 marks them as indexed, so the catch-up before that search did not add them again.
      expect(() =>
        store.sqlite.run("INSERT INTO audit_entries_fts (audit_entries_fts, rank) VALUES ('integrity-check', 1)"),
      ).not.toThrow();
      // Entries indexed before logs were told apart belong to one log per CAS, named by its first indexed entry
      // (rows written by a binary that already had 0003 carry the log their writer gave them).
      if (tags.includes("0003_audit_log_identity")) {
        store.close();
        return;
      }
      const logs = store.sqlite
        .query<{ name: string; seq: number; log: string }, []>(
          "SELECT name, seq, log FROM audit_entries ORDER BY name, seq",
        )
        .all();
      expect(logs).toEqual([
        { name: "cas", seq: 1, log: "sig1" },
        { name: "cas", seq: 2, log: "sig1" },
        { name: "other", seq: 5, log: "other5" },
      ]);
      store.close();
    });
  }

  test("a database written by a newer scone is refused, naming the path and the fix", () => {
    const stateDir = join(tempDir(), "s");
    const store = openStore({ stateDir });
    const newest = Math.max(...EMBEDDED_MIGRATIONS.map((m) => m.when));
    store.sqlite
      .query('INSERT INTO "__drizzle_migrations" (hash, created_at, tag) VALUES (?, ?, ?)')
      .run("f".repeat(64), newest + 60_000, "0099_from_the_future");
    store.close();

    const open = () => openStore({ stateDir });
    expect(open).toThrow(StoreVersionError);
    const path = join(stateDir, "scone.db");
    expect(open).toThrow(
      `state database ${path} was written by a newer scone (migration 0099_from_the_future); upgrade scone or use another --state-dir`,
    );
  });

  test("a failing migration rolls back everything it did, including earlier migrations of the same run", () => {
    const stateDir = join(tempDir(), "s");
    const last = EMBEDDED_MIGRATIONS.at(-1) as EmbeddedMigration;
    const broken: EmbeddedMigration = {
      tag: "0099_broken",
      when: last.when + 1,
      breakpoints: true,
      hash: "0".repeat(64),
      sql: ["CREATE TABLE half_done (a integer)", "INSERT INTO no_such_table VALUES (1)"],
    };
    const open = () => openStore({ stateDir, migrations: [...EMBEDDED_MIGRATIONS, broken] });
    expect(open).toThrow(StoreMigrationError);
    expect(open).toThrow(/failed at migration 0099_broken: .*no_such_table/);

    const sqlite = new Database(join(stateDir, "scone.db"));
    const tables = sqlite.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables.map((t) => t.name)).not.toContain("half_done");
    expect(tables.map((t) => t.name)).not.toContain("audit_entries");
    sqlite.close();
    // The good migrations still apply on their own afterwards.
    const store = openStore({ stateDir });
    expect(store.migrated).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.tag));
    store.close();
  });

  test("drizzle's own migrator and this runner recognise each other's rows", () => {
    const dir = tempDir();
    // drizzle first, then the store: nothing left to apply.
    const byDrizzle = join(dir, "by-drizzle");
    const store1 = openStore({ stateDir: byDrizzle, migrations: [] });
    drizzleMigrate(drizzle({ client: store1.sqlite }), { migrationsFolder: "migrations" });
    store1.close();
    const store2 = openStore({ stateDir: byDrizzle });
    expect(store2.migrated).toEqual([]);
    store2.close();
    // The store first, then drizzle: drizzle sees nothing to do (it would fail re-creating tables otherwise).
    const store3 = openStore({ stateDir: join(dir, "by-store") });
    expect(() => drizzleMigrate(drizzle({ client: store3.sqlite }), { migrationsFolder: "migrations" })).not.toThrow();
    expect(appliedTags(store3.sqlite)).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.tag));
    store3.close();
  });

  test("processes opening the same new state dir at once migrate it exactly once", async () => {
    const stateDir = join(tempDir(), "s");
    const children = [1, 2, 3].map(() =>
      Bun.spawn([process.execPath, join(import.meta.dir, "open-concurrently.ts"), stateDir], { stderr: "pipe" }),
    );
    const outputs = await Promise.all(
      children.map(async (child) => {
        const [out, err, code] = await Promise.all([
          new Response(child.stdout).text(),
          new Response(child.stderr).text(),
          child.exited,
        ]);
        if (code !== 0) throw new Error(`child failed (${code}): ${err}`);
        return JSON.parse(out) as string[];
      }),
    );
    expect(outputs.flat().sort()).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.tag).sort());
    const store = openStore({ stateDir });
    expect(appliedTags(store.sqlite)).toEqual(EMBEDDED_MIGRATIONS.map((m) => m.tag));
    store.close();
  });

  test("two connections opening the same new database migrate it once", () => {
    const stateDir = join(tempDir(), "s");
    const a = openStore({ stateDir });
    const b = openStore({ stateDir });
    expect(a.migrated.length).toBe(EMBEDDED_MIGRATIONS.length);
    expect(b.migrated).toEqual([]);
    // Applying again through the low-level runner is a no-op as well.
    expect(applyMigrations(b.sqlite, EMBEDDED_MIGRATIONS, b.path).applied).toEqual([]);
    a.close();
    b.close();
  });
});

describe("openStore files and pragmas", () => {
  test("creates the dir 0700 and scone.db (and its WAL) 0600, in WAL mode", () => {
    const stateDir = join(tempDir(), "nested", "state");
    const store = openStore({ stateDir });
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    store.sqlite.run("INSERT INTO api_audit (at, token_name, method, path, status) VALUES (1, 't', 'POST', '/x', 200)");
    expect(existsSync(`${store.path}-wal`)).toBe(true);
    expect(statSync(`${store.path}-wal`).mode & 0o777).toBe(0o600);
    const pragma = (name: string) => Object.values(store.sqlite.query(`PRAGMA ${name}`).get() as object)[0];
    expect(pragma("journal_mode")).toBe("wal");
    expect(pragma("foreign_keys")).toBe(1);
    expect(pragma("synchronous")).toBe(1); // NORMAL
    expect(Number(pragma("busy_timeout"))).toBeGreaterThan(0);
    store.close();
  });

  test("a file that is not a database gives an error naming it and the way out", () => {
    const stateDir = join(tempDir(), "s");
    mkdirSync(stateDir);
    writeFileSync(join(stateDir, "scone.db"), "this is not sqlite, just some text that is long enough ".repeat(20));
    expect(() => openStore({ stateDir })).toThrow(
      new RegExp(
        `state database ${join(stateDir, "scone.db")} is damaged \\(not a SQLite database\\).*another --state-dir`,
      ),
    );
  });

  test("an existing world-readable scone.db is tightened to 0600", () => {
    const stateDir = join(tempDir(), "s");
    openStore({ stateDir }).close();
    const path = join(stateDir, "scone.db");
    chmodSync(path, 0o644);
    openStore({ stateDir }).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
