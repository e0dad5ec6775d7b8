// Catalog rebuild time for N backup sets in S3 (issue 14: a fresh laptop, a second replica or a restarted pod
// refills the catalog from the target). Starts its own S3 server (versitygw, hack/s3), writes N sets of prod/cas
// (tiny data files, a real manifest each) and times listing + manifest reads + the store transaction into a fresh
// state store. N: SCONE_BENCH_SETS (default 10000, the figure). Baseline, same run: one bare LIST of the
// N sets' 3N keys (what any rebuild must at least do). Figures only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCatalogOf, storeCatalogOf } from "../src/backup/catalog.ts";
import { describeFiles, MANIFEST_FORMAT, serializeManifest } from "../src/backup/manifest.ts";
import { openTarget } from "../src/backup/open-target.ts";
import { newId } from "../src/store/ids.ts";
import { openStore } from "../src/store/open.ts";
import { reportFigure } from "./_figures.ts";
import { startBenchS3 } from "./_s3.ts";

const N = Number(process.env.SCONE_BENCH_SETS ?? 10_000);
if (!Number.isSafeInteger(N) || N < 1) throw new Error(`SCONE_BENCH_SETS must be a whole number ≥ 1, not ${N}`);
const WRITERS = 16;
const BUCKET = "bench-catalog";

const root = mkdtempSync(join(tmpdir(), "scone-bench-catalog-"));
const s3 = await startBenchS3(root, BUCKET);
try {
  const { credentials } = s3;
  const target = openTarget(`s3://${BUCKET}/backups`, { credentials });
  const db = new TextEncoder().encode("database");
  const keys = new TextEncoder().encode("keys");
  const files = describeFiles({ "cas.db": db, "cas.key-store": keys });
  const start = Date.now() - N * 60_000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < N) {
        const i = next++;
        const at = start + i * 60_000;
        const id = newId("bk", at);
        const set = `prod/cas/${id}`;
        await target.put(`${set}/cas.db`, db);
        await target.put(`${set}/cas.key-store`, keys);
        const manifest = {
          format: MANIFEST_FORMAT,
          id,
          cas: { namespace: "prod", name: "cas", version: "6.0.6" },
          snapshot: { marker: `snapshot-${i}`, timestamp: null },
          created: new Date(at + 1000).toISOString(),
          started: new Date(at).toISOString(),
          scone: { version: "bench" },
          files,
        } as const;
        await target.put(`${set}/backup.json`, new TextEncoder().encode(serializeManifest(manifest)));
      }
    }),
  );
  const writeMs = performance.now() - t0;

  const l0 = performance.now();
  const listed = await target.list("");
  const listMs = performance.now() - l0;
  if (listed.length !== 3 * N) throw new Error(`expected ${3 * N} keys listed, got ${listed.length}`);

  const store = openStore({ stateDir: join(root, "state") });
  const t1 = performance.now();
  const rebuilt = await readCatalogOf(target);
  const t2 = performance.now();
  const stored = storeCatalogOf(store.db, target, {}, rebuilt);
  const t3 = performance.now();
  store.close();
  if (stored.added.length !== N) throw new Error(`expected ${N} rows added, got ${stored.added.length}`);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`backup sets in S3:            ${N} (${3 * N} objects, written in ${s(writeMs)})`);
  console.log(`list + read manifests:        ${s(t2 - t1)}`);
  console.log(`store transaction:            ${s(t3 - t2)}`);
  console.log(`catalog rebuild total:        ${s(t3 - t1)} (${((t3 - t1) / N).toFixed(2)} ms per set)`);
  console.log(`bare LIST of the keys:        ${s(listMs)}`);
  reportFigure({
    figure: `catalog rebuild, ${N} sets in S3 ÷ bare LIST`,
    baseline: s(listMs),
    scone: s(t3 - t1),
    ratio: (t3 - t1) / listMs,
  });
} finally {
  await s3.stop();
  rmSync(root, { recursive: true, force: true });
}
