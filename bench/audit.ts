// Audit-log index: ingest rate (entries/s) and p99 search latency at 1,000,000 entries, next to the raw bun:sqlite
// insert rate of the same rows (all twelve columns) into a plain table (no indexes, no FTS) measured in the same run,
// both in transactions of BATCH rows with a prepared statement, interleaved batch by batch; wall and CPU time.
// What the store's ingest does: the unique (namespace, name, seq, log) check, the two time indexes; the full-text
// index is filled afterwards in bulk (indexAuditText: what readAuditLog runs after a pull and every text search runs
// first). Both are timed and reported: ingest alone (the figure) and ingest plus text indexing.
// SCONE_BENCH_AUDIT_ENTRIES overrides the count (default 1,000,000). Prints figures; asserts nothing.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuditEntryInput, indexAuditText, ingestEntries, searchAudit } from "../src/store/audit.ts";
import { openStore } from "../src/store/open.ts";
import { reportFigure } from "./_figures.ts";

const N = Number(process.env.SCONE_BENCH_AUDIT_ENTRIES ?? 1_000_000);
const BATCH = 5000;
const EVENTS = ["session_created", "session_read", "session_updated", "service_attested", "service_exited"];
const dir = mkdtempSync(join(tmpdir(), "scone-bench-audit-"));

function entry(i: number): AuditEntryInput {
  const event = EVENTS[i % EVENTS.length] ?? "session_read";
  const session = `tenant-${i % 97}/app-${i % 13}`;
  const sig = (i * 2654435761).toString(16).padStart(16, "0");
  return {
    namespace: "bench",
    log: "bench-log",
    name: "cas",
    seq: i,
    ts: 1_700_000_000_000 + i * 10,
    event,
    session,
    service: `svc-${i % 41}`,
    raw: JSON.stringify({ seq: i, event, session, service: `svc-${i % 41}`, details: `operation ${i}` }),
    signature: sig,
    prevSignature: i === 0 ? "" : ((i - 1) * 2654435761).toString(16).padStart(16, "0"),
    chainOk: true,
  };
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString("en")} entries/s`;
}

try {
  // Raw bun:sqlite baseline: the same rows, one transaction per batch, prepared statement, plain table.
  const raw = new Database(join(dir, "raw.db"), { create: true });
  raw.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  raw.exec(
    "CREATE TABLE t (namespace TEXT, name TEXT, log TEXT, seq INTEGER, ts INTEGER, event TEXT, session TEXT, service TEXT, raw TEXT, signature TEXT, prev TEXT, ok INTEGER)",
  );
  const ins = raw.prepare("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  const rawBatch = (b: number) =>
    raw.transaction(() => {
      for (let i = b; i < Math.min(N, b + BATCH); i++) {
        const e = entry(i);
        ins.run(
          e.namespace,
          e.name,
          e.log,
          e.seq,
          e.ts,
          e.event,
          e.session ?? null,
          e.service ?? null,
          e.raw,
          e.signature,
          e.prevSignature,
          1,
        );
      }
    })();

  // The store: unique (ns, name, seq, log), time and event indexes; then the FTS5 index of the same rows.
  const store = openStore({ stateDir: join(dir, "state") });
  const storeBatch = (b: number) => {
    const batch: AuditEntryInput[] = [];
    for (let i = b; i < Math.min(N, b + BATCH); i++) batch.push(entry(i));
    ingestEntries(store.db, batch);
  };
  // Interleaved batch by batch (raw, then the store, the same rows), so a busy minute on the shared machine slows
  // both alike. Wall time and this process's CPU time (user + system) are summed per side.
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let rawMs = 0;
  let ingestMs = 0;
  let rawCpuMs = 0;
  let ingestCpuMs = 0;
  for (let b = 0; b < N; b += BATCH) {
    let t = performance.now();
    let c = cpuNow();
    rawBatch(b);
    rawMs += performance.now() - t;
    rawCpuMs += cpuNow() - c;
    t = performance.now();
    c = cpuNow();
    storeBatch(b);
    ingestMs += performance.now() - t;
    ingestCpuMs += cpuNow() - c;
  }
  raw.close();
  const t0 = performance.now();
  const textIndexed = indexAuditText(store.db);
  const textMs = performance.now() - t0;
  if (textIndexed !== N) throw new Error(`indexAuditText indexed ${textIndexed} entries, expected ${N}`);

  const queries: Parameters<typeof searchAudit>[1][] = [];
  for (let q = 0; q < 200; q++) {
    const base = { namespace: "bench", name: "cas", limit: 50 };
    switch (q % 4) {
      case 0:
        queries.push({ ...base, query: `tenant-${q % 97}` });
        break;
      case 1:
        queries.push({ ...base, event: EVENTS[q % EVENTS.length] });
        break;
      case 2:
        queries.push({
          ...base,
          from: 1_700_000_000_000 + (q * N * 10) / 200,
          to: 1_700_000_000_000 + ((q + 1) * N * 10) / 200,
        });
        break;
      default:
        queries.push({ ...base, query: `svc-${q % 41} session_updated` });
    }
  }
  const KINDS = ["text", "event", "time window", "two words"];
  const lat: number[] = [];
  // CPU time per query too: a wall-time outlier with little CPU was the scheduler (another process had the core).
  const slowest: { ms: number; cpuMs: number; kind: string }[] = [];
  for (const [i, q] of queries.entries()) {
    const s = performance.now();
    const c = cpuNow();
    searchAudit(store.db, q);
    const ms = performance.now() - s;
    lat.push(ms);
    slowest.push({ ms, cpuMs: cpuNow() - c, kind: KINDS[i % 4] ?? "" });
  }
  lat.sort((a, b) => a - b);
  const cpuLat = slowest.map((o) => o.cpuMs).sort((a, b) => a - b);
  const cpuP99 = cpuLat[Math.min(cpuLat.length - 1, Math.floor(0.99 * cpuLat.length))] ?? 0;
  slowest.sort((a, b) => b.ms - a.ms);
  const pct = (p: number) => (lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? 0).toFixed(2);
  const outliers = slowest
    .slice(0, 3)
    .map((o) => `${o.kind} ${o.ms.toFixed(1)} ms (CPU ${o.cpuMs.toFixed(1)} ms)`)
    .join(", ");
  store.close();

  console.log(`audit index, ${N.toLocaleString("en")} entries (batches of ${BATCH})`);
  console.log(`  raw bun:sqlite insert       ${rate(N, rawMs)}  (${(rawMs / 1000).toFixed(1)} s)`);
  console.log(
    `  store ingest (unique + 2 indexes)  ${rate(N, ingestMs)}  (${(ingestMs / 1000).toFixed(1)} s, ${(rawMs / ingestMs).toFixed(2)}x raw)`,
  );
  console.log(
    `  CPU time: raw ${(rawCpuMs / 1000).toFixed(1)} s, store ingest ${(ingestCpuMs / 1000).toFixed(1)} s (${(rawCpuMs / ingestCpuMs).toFixed(2)}x raw)`,
  );
  console.log(
    `  + full-text indexing of them      ${(textMs / 1000).toFixed(1)} s: ingest + text ${rate(N, ingestMs + textMs)} (${(rawMs / (ingestMs + textMs)).toFixed(2)}x raw)`,
  );
  console.log(
    `  search, ${queries.length} mixed queries of 50 rows: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${pct(100)} ms`,
  );
  console.log(`  search p99 by CPU time ${cpuP99.toFixed(2)} ms; slowest: ${outliers}`);
  const perSec = (ms: number) => `${Math.round(N / (ms / 1000)).toLocaleString("en")}/s`;
  reportFigure({
    figure: `audit ingest ÷ raw inserts (${N.toLocaleString("en")} rows, text indexed after)`,
    baseline: perSec(rawMs),
    scone: perSec(ingestMs),
    ratio: rawMs / ingestMs,
    target: { op: ">=", value: 0.5 },
  });
  reportFigure({
    figure: "  the same by CPU time (s), steadier on a busy machine",
    baseline: (rawCpuMs / 1000).toFixed(1),
    scone: (ingestCpuMs / 1000).toFixed(1),
    ratio: rawCpuMs / ingestCpuMs,
  });
  reportFigure({
    figure: "audit ingest + full-text indexing ÷ raw inserts",
    baseline: perSec(rawMs),
    scone: perSec(ingestMs + textMs),
    ratio: rawMs / (ingestMs + textMs),
  });
  reportFigure({
    figure: `audit search p99 at ${N.toLocaleString("en")} rows (ms)`,
    baseline: "-",
    scone: pct(99),
    ratio: Number(pct(99)),
    target: { op: "<", value: 5 },
  });
  reportFigure({
    figure: "  the same by CPU time (ms): what the queries cost without waiting for a core",
    baseline: "-",
    scone: cpuP99.toFixed(2),
    ratio: cpuP99,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
