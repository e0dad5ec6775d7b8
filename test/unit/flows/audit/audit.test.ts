import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEntry } from "../../../../src/cas/audit.ts";
import { AuditChain } from "../../../../src/flows/audit/chain.ts";
import { type AuditLogKube, readAuditLog, searchAuditIndex } from "../../../../src/flows/audit/flow.ts";
import { openStore, type Store } from "../../../../src/store/open.ts";
import { signAuditEntry } from "../../../support/cas-legacy/audit.ts";
import { ed25519FromSeed, toHex } from "../../../support/cas-legacy/crypto.ts";

/** A signed log like the simulator writes: audit_log_enabled announcing the key, then events. */
async function signedLog(
  count: number,
  startSeq = 0,
  prev: string | null = null,
  seed = new Uint8Array(32).fill(7),
  hour = 10,
) {
  const key = await ed25519FromSeed(seed);
  const lines: string[] = [];
  let previous = prev;
  for (let i = 0; i < count; i++) {
    const seq = startSeq + i;
    const first = seq === 0;
    const entry: AuditEntry = await signAuditEntry(
      {
        seq,
        time: new Date(Date.UTC(2026, 10, 23, hour, 0, seq)).toISOString(),
        event: first ? "audit_log_enabled" : seq % 2 ? "session_created" : "session_read",
        details: first ? { audit_public_key: toHex(key.publicKey), mode: "signed" } : { session: `app-${seq}` },
        prev_signature: previous,
      },
      key,
    );
    previous = entry.signature;
    lines.push(JSON.stringify(entry));
  }
  return { lines, last: previous };
}

describe("AuditChain", () => {
  test("an intact log verifies entry by entry; container noise is not part of the chain", async () => {
    const { lines } = await signedLog(5);
    const chain = new AuditChain();
    const checked = [];
    for (const line of ["tail: following cas_audit.log", ...lines]) checked.push(await chain.check(line));
    expect(checked[0]).toMatchObject({ kind: "other" });
    expect(checked.slice(1).every((c) => c.kind === "entry" && c.ok)).toBe(true);
  });

  test("one altered entry is one break; the rest still verify", async () => {
    const { lines } = await signedLog(5);
    const altered = lines.map((l, i) => (i === 2 ? l.replace("app-2", "app-X") : l));
    const chain = new AuditChain();
    const results = [];
    for (const line of altered) results.push(await chain.check(line));
    expect(results.map((r) => (r.kind === "entry" ? r.ok : r.kind))).toEqual([true, true, false, true, true]);
    expect(results[2]).toMatchObject({ problem: expect.stringContaining("signature does not verify") });
  });

  test("a deleted entry breaks at the gap", async () => {
    const { lines } = await signedLog(4);
    const chain = new AuditChain();
    const results = [];
    for (const line of [lines[0], lines[1], lines[3]] as string[]) results.push(await chain.check(line));
    expect(results[2]).toMatchObject({ ok: false, problem: "seq 3 follows 1 (expected +1)" });
  });

  test("a log continuing an indexed one verifies with the indexed key and predecessor, not without", async () => {
    const head = await signedLog(3);
    const tail = await signedLog(2, 3, head.last);
    const key = (JSON.parse(head.lines[0] as string) as { details: { audit_public_key: string } }).details
      .audit_public_key;
    const known = new AuditChain({
      signatureOf: (seq) => (seq === 2 ? (head.last ?? undefined) : undefined),
      auditKey: () => key,
    });
    expect(await known.check(tail.lines[0] as string)).toMatchObject({ kind: "entry", ok: true });
    const unknown = new AuditChain();
    expect(await unknown.check(tail.lines[0] as string)).toMatchObject({
      ok: false,
      problem: "the log starts at seq 3 and entry 2 is not indexed: its link cannot be checked",
    });
  });
});

describe("readAuditLog", () => {
  let root: string;
  let store: Store;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "scone-audit-unit-"));
    store = openStore({ stateDir: root });
  });
  afterAll(async () => {
    store.close();
    await rm(root, { recursive: true, force: true });
  });

  const logsOf = (text: string): AuditLogKube =>
    ({
      podLogs: async () => text,
      followPodLogs: async () =>
        new ReadableStream<Uint8Array>({
          start(c) {
            // Split mid-line: the reader must join chunks into lines.
            const bytes = new TextEncoder().encode(text);
            c.enqueue(bytes.subarray(0, 37));
            c.enqueue(bytes.subarray(37));
            c.close();
          },
        }),
    }) as unknown as AuditLogKube;

  test("indexes every entry once: a second read inserts nothing; search finds them", async () => {
    const { lines } = await signedLog(6);
    const kube = logsOf(`${lines.join("\n")}\n`);
    const id = { namespace: "prod", name: "cas" };
    const first = await readAuditLog(kube, { ...id, follow: false, store });
    expect(first).toMatchObject({ entries: 6, inserted: 6, skipped: 0, firstSeq: 0, lastSeq: 5, breaks: [] });
    const again = await readAuditLog(kube, { ...id, follow: true, store });
    expect(again).toMatchObject({ entries: 6, inserted: 0, skipped: 6, breaks: [] });
    const found = searchAuditIndex(store.db, { ...id, words: "app-3", limit: 10 });
    expect(found.entries.map((e) => e.seq)).toEqual([3]);
    expect(searchAuditIndex(store.db, { ...id, event: "session_read", limit: 10 }).entries.map((e) => e.seq)).toEqual([
      4, 2,
    ]);
    expect(found.head?.seq).toBe(5);
  });

  test("a new pod's log restarting at seq 0 is indexed as a log of its own; rereading either log inserts nothing", async () => {
    const id = { namespace: "prod", name: "repod" };
    const before = await signedLog(3);
    const after = await signedLog(3, 0, null, new Uint8Array(32).fill(9), 11);
    const read = async (lines: readonly string[]) =>
      readAuditLog(logsOf(lines.join("\n")), { ...id, follow: false, store });
    expect(await read(before.lines)).toMatchObject({ entries: 3, inserted: 3, breaks: [] });
    expect(await read(after.lines)).toMatchObject({ entries: 3, inserted: 3, skipped: 0, breaks: [] });
    expect(await read(before.lines)).toMatchObject({ inserted: 0, skipped: 3 });
    // The new pod's log, read again later from its middle: the same log, two new entries, chain verified.
    const more = await signedLog(2, 3, after.last, new Uint8Array(32).fill(9), 11);
    const tail = [...after.lines.slice(2), ...more.lines];
    expect(await read(tail)).toMatchObject({ entries: 3, inserted: 2, skipped: 1, breaks: [] });
    const page = searchAuditIndex(store.db, { ...id, limit: 20 });
    expect(page.entries.map((e) => e.seq)).toEqual([4, 3, 2, 1, 0, 2, 1, 0]);
    expect(new Set(page.entries.map((e) => e.log)).size).toBe(2);
    expect(page.head?.seq).toBe(4);
    expect(page.entries[0]?.log).toBe(page.entries[4]?.log);
  });

  test("a break is reported with its seq and line, and indexed as broken", async () => {
    const { lines } = await signedLog(3);
    const text = lines.map((l, i) => (i === 1 ? l.replace("app-1", "app-Z") : l)).join("\n");
    const id = { namespace: "prod", name: "tampered" };
    const result = await readAuditLog(logsOf(text), { ...id, follow: false, store });
    expect(result.breaks).toEqual([{ seq: 1, line: 2, problem: expect.stringContaining("signature does not verify") }]);
    const rows = searchAuditIndex(store.db, { ...id, limit: 10 }).entries;
    expect(rows.map((r) => [r.seq, r.chainOk])).toEqual([
      [2, true],
      [1, false],
      [0, true],
    ]);
  });
});
