import { afterEach, describe, expect, test } from "bun:test";
import {
  type AuditEntryInput,
  auditHead,
  indexAuditText,
  ingestEntries,
  searchAudit,
  toFtsQuery,
} from "../../../src/store/audit.ts";
import { StoreInputError } from "../../../src/store/errors.ts";
import { cleanupTempStores, tempStore } from "./temp-store.ts";

afterEach(cleanupTempStores);

function entry(seq: number, over: Partial<AuditEntryInput> = {}): AuditEntryInput {
  const event = over.event ?? (seq % 2 === 0 ? "session_created" : "policy_read");
  const session = over.session ?? `tenant-${seq % 3}`;
  return {
    namespace: "prod",
    name: "cas",
    log: "sig0",
    seq,
    ts: 1_000 + seq * 10,
    event,
    session,
    service: null,
    raw: JSON.stringify({ seq, event, session }),
    signature: `sig${seq}`,
    prevSignature: `sig${seq - 1}`,
    chainOk: true,
    ...over,
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("audit index", () => {
  test("ingest is idempotent on (namespace, name, seq) and per CAS", () => {
    const store = tempStore();
    expect(
      ingestEntries(
        store.db,
        range(1, 10).map((s) => entry(s)),
      ),
    ).toEqual({ inserted: 10, skipped: 0 });
    expect(
      ingestEntries(
        store.db,
        range(5, 15).map((s) => entry(s)),
      ),
    ).toEqual({ inserted: 5, skipped: 6 });
    // Same seq in another CAS is another entry.
    expect(ingestEntries(store.db, [entry(1, { name: "other" })])).toEqual({ inserted: 1, skipped: 0 });
    const count = store.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_entries").get();
    expect(count?.n).toBe(16);
    expect(auditHead(store.db, { namespace: "prod", name: "cas" })).toEqual({ seq: 15, signature: "sig15" });
    expect(auditHead(store.db, { namespace: "prod", name: "none" })).toBeNull();
  });

  test("a bad entry rejects the whole batch", () => {
    const store = tempStore();
    expect(() => ingestEntries(store.db, [entry(1), entry(-2)])).toThrow(StoreInputError);
    expect(searchAudit(store.db, { namespace: "prod", name: "cas", limit: 10 }).entries).toEqual([]);
  });

  test("search finds words in event, session and raw; newest first; filters combine", () => {
    const store = tempStore();
    ingestEntries(
      store.db,
      range(1, 30).map((s) => entry(s)),
    );
    ingestEntries(store.db, [
      entry(31, { event: "attestation_failed", session: "blue-whale", raw: "mrenclave abc123" }),
    ]);
    const seqs = (q: Parameters<typeof searchAudit>[1]) => searchAudit(store.db, q).entries.map((e) => e.seq);
    const cas = { namespace: "prod", name: "cas", limit: 100 };

    expect(seqs({ ...cas, query: "attestation_failed" })).toEqual([31]);
    expect(seqs({ ...cas, query: "blue-whale" })).toEqual([31]);
    expect(seqs({ ...cas, query: "mrenclave" })).toEqual([31]);
    expect(seqs({ ...cas, query: "abc*" })).toEqual([31]);
    expect(seqs({ ...cas, query: "abc" })).toEqual([]);
    expect(seqs({ ...cas, query: "tenant-2" })).toEqual(
      range(1, 30)
        .filter((s) => s % 3 === 2)
        .reverse(),
    );
    expect(seqs({ ...cas, query: "tenant-2 session_created" })).toEqual([26, 20, 14, 8, 2]);
    expect(seqs({ ...cas, query: "tenant-2", event: "policy_read" })).toEqual([29, 23, 17, 11, 5]);
    expect(seqs({ ...cas, query: "tenant-2", from: 1_000 + 11 * 10, to: 1_000 + 23 * 10 })).toEqual([20, 17, 14, 11]);
    expect(seqs({ ...cas, event: "policy_read", limit: 3 })).toEqual([29, 27, 25]);
    expect(seqs({ ...cas, limit: 2 })).toEqual([31, 30]);
    expect(seqs({ ...cas, name: "elsewhere", query: "tenant-2" })).toEqual([]);
    // FTS syntax in user input is searched as text, not interpreted.
    expect(seqs({ ...cas, query: 'NOT OR "( ^' })).toEqual([]);
    expect(seqs({ ...cas, query: "--- ***" })).toEqual([]);
  });

  test("keyset pagination walks every match exactly once, with and without a text query", () => {
    const store = tempStore();
    // Groups of three entries share a timestamp, so the (ts, seq) cursor has ties to get right.
    ingestEntries(
      store.db,
      range(1, 25).map((s) => entry(s, { ts: 1_000 + Math.floor(s / 3) })),
    );
    for (const query of [undefined, "session_created"]) {
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = searchAudit(store.db, { namespace: "prod", name: "cas", query, limit: 4, cursor });
        seen.push(...page.entries.map((e) => e.seq));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined);
      const expected = range(1, 25)
        .filter((s) => query === undefined || s % 2 === 0)
        .reverse();
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 4));
    }
  });

  test("a cursor from another kind of search is rejected, naming the field", () => {
    const store = tempStore();
    ingestEntries(
      store.db,
      range(1, 5).map((s) => entry(s)),
    );
    const page = searchAudit(store.db, { namespace: "prod", name: "cas", limit: 2 });
    expect(page.nextCursor).toBeDefined();
    expect(() =>
      searchAudit(store.db, { namespace: "prod", name: "cas", query: "tenant", limit: 2, cursor: page.nextCursor }),
    ).toThrow(/cursor/);
    expect(() => searchAudit(store.db, { namespace: "prod", name: "cas", limit: 2, cursor: "garbage" })).toThrow(
      StoreInputError,
    );
  });

  test("text indexing waits for the next text search, which finds every entry ingested before it", () => {
    const store = tempStore();
    const indexed = () =>
      store.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_entries_fts_docsize").get()?.n;
    ingestEntries(
      store.db,
      range(1, 6).map((s) => entry(s)),
    );
    expect(indexed()).toBe(0);
    // The bound: the very next text search sees all six, without any other call in between.
    const hits = searchAudit(store.db, { namespace: "prod", name: "cas", query: "tenant", limit: 10 }).entries;
    expect(hits.map((e) => e.seq)).toEqual(range(1, 6).reverse());
    expect(indexed()).toBe(6);
    ingestEntries(store.db, [entry(7, { session: "late-tenant" })]);
    expect(searchAudit(store.db, { namespace: "prod", name: "cas", query: "late", limit: 10 }).entries).toHaveLength(1);
    expect(indexAuditText(store.db)).toBe(0);
  });

  test("deleting indexed and not yet indexed entries keeps the text index sound", () => {
    const store = tempStore();
    ingestEntries(
      store.db,
      range(1, 4).map((s) => entry(s)),
    );
    expect(indexAuditText(store.db)).toBe(4);
    ingestEntries(
      store.db,
      range(5, 8).map((s) => entry(s)),
    );
    // 4 is indexed, 8 is not and holds the newest id: the next insert may reuse that id.
    store.sqlite.run("DELETE FROM audit_entries WHERE seq IN (4, 8)");
    ingestEntries(store.db, [entry(9, { session: "after-delete" })]);
    expect(searchAudit(store.db, { namespace: "prod", name: "cas", query: "after", limit: 10 }).entries).toHaveLength(
      1,
    );
    expect(
      searchAudit(store.db, { namespace: "prod", name: "cas", query: "tenant", limit: 20 }).entries.map((e) => e.seq),
    ).toEqual([7, 6, 5, 3, 2, 1]);
    // FTS5's own check compares the index with the content table.
    expect(() =>
      store.sqlite.run("INSERT INTO audit_entries_fts (audit_entries_fts, rank) VALUES ('integrity-check', 1)"),
    ).not.toThrow();
  });

  test("entries round-trip with all fields", () => {
    const store = tempStore();
    const input = entry(7, { service: "vault", chainOk: false, session: null });
    ingestEntries(store.db, [input]);
    const [found] = searchAudit(store.db, { namespace: "prod", name: "cas", limit: 1 }).entries;
    expect(found).toMatchObject({ ...input, session: null, service: "vault", chainOk: false });
  });

  test("toFtsQuery quotes words and keeps a trailing * as prefix", () => {
    expect(toFtsQuery('a"b c*')).toBe('"a""b" "c"*');
    expect(toFtsQuery("  ")).toBeNull();
  });
});
