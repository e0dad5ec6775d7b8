// Audit-log shipping (issue 14): throughput and lag of the operator's shipper (src/operator/audit/ship-log.ts: follow,
// plan, verify with the SCONE CLI, write segments to S3), next to the raw read rate of the same log in the same run
// (the same bytes through the same line splitter, nothing else done with them).
//
// The log: N entries signed like the simulator's (src/cas/audit.ts), served as the audit container's log stream in
// 64 KiB chunks. Two runs over one S3 server (versitygw, hack/s3):
//   burst  the whole log is there when shipping starts (a shipper catching up after a restart): entries/s;
//   live   entries arrive at RATE/s (SCONE_BENCH_AUDIT_RATE, default 200) for the same N: the lag of each entry
//          (read → its segment written), p50 and max.
// Verification is the real CLI process (SCONE_BENCH_SCONE_CLI, else the stand-in sim/scone-cli) verifying the log
// from seq 0 through each segment while it fits one verification (16 MiB; past that, windows from the archived entry
// before each segment, ship-log.ts) — offline here: there is no CAS in this bench, so `--cas` is dropped from its
// argv and the CAS's chain lookup (one request per verification) is not included. Also reported: the bytes handed
// to the CLI per byte shipped (the cost of whole-log verification, capped by the 16 MiB bound).
// N: SCONE_BENCH_AUDIT_SHIP_ENTRIES (default 5000). Figures only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTarget } from "../src/backup/open-target.ts";
import type { AuditEntry } from "../src/cas/audit.ts";
import type { CliArg } from "../src/cas/driver/commands.ts";
import { CasDriver } from "../src/cas/driver/driver.ts";
import type { CasDriverSource } from "../src/cas/driver/reach.ts";
import { LocalCliRunner } from "../src/cas/driver/runner.ts";
import { DEFAULT_SEGMENT_POLICY } from "../src/flows/audit/archive/plan.ts";
import type { SegmentManifest } from "../src/flows/audit/archive/segment.ts";
import { type AuditLogKube, streamLines } from "../src/flows/audit/flow.ts";
import { shipPodLog } from "../src/operator/audit/ship-log.ts";
import { signAuditEntry } from "../test/support/cas-legacy/audit.ts";
import { ed25519FromSeed, toHex } from "../test/support/cas-legacy/crypto.ts";
import { median, reportFigure } from "./_figures.ts";
import { startBenchS3 } from "./_s3.ts";

const N = Number(process.env.SCONE_BENCH_AUDIT_SHIP_ENTRIES ?? 5000);
const RATE = Number(process.env.SCONE_BENCH_AUDIT_RATE ?? 200);
for (const [name, v] of [
  ["SCONE_BENCH_AUDIT_SHIP_ENTRIES", N],
  ["SCONE_BENCH_AUDIT_RATE", RATE],
] as const)
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} must be a whole number ≥ 1, not ${v}`);
const CLI = process.env.SCONE_BENCH_SCONE_CLI
  ? [process.env.SCONE_BENCH_SCONE_CLI]
  : [process.execPath, join(import.meta.dir, "../sim/scone-cli/main.ts")];
const CHUNK = 64 * 1024;
const BUCKET = "bench-audit-ship";

async function signedLog(count: number): Promise<string[]> {
  const key = await ed25519FromSeed(new Uint8Array(32).fill(3));
  const lines: string[] = [];
  let prev: string | null = null;
  for (let seq = 0; seq < count; seq++) {
    const entry: AuditEntry = await signAuditEntry(
      {
        seq,
        time: new Date(Date.UTC(2026, 11, 7, 10, 0, 0, seq)).toISOString(),
        event: seq === 0 ? "audit_log_enabled" : "session_read",
        details:
          seq === 0
            ? { audit_public_key: toHex(key.publicKey), mode: "signed" }
            : { session: `tenant-${seq % 97}/app-${seq % 13}`, hash: "ab".repeat(32), reader: null },
        prev_signature: prev,
      },
      key,
    );
    prev = entry.signature;
    lines.push(JSON.stringify(entry));
  }
  return lines;
}

/** The log as the audit container's stream: all at once (`rate` undefined) or `rate` entries per second. */
function logStream(lines: readonly string[], rate?: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  if (rate === undefined) {
    const bytes = encoder.encode(lines.map((l) => `${l}\n`).join(""));
    let at = 0;
    return new ReadableStream({
      pull(c) {
        if (at >= bytes.length) return c.close();
        c.enqueue(bytes.subarray(at, at + CHUNK));
        at += CHUNK;
      },
    });
  }
  const start = performance.now();
  let sent = 0;
  return new ReadableStream({
    async pull(c) {
      if (sent >= lines.length) return c.close();
      // Every 20 ms, the entries due by now.
      await Bun.sleep(20);
      const due = Math.min(lines.length, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      if (due > sent)
        c.enqueue(
          encoder.encode(
            lines
              .slice(sent, due)
              .map((l) => `${l}\n`)
              .join(""),
          ),
        );
      sent = due;
    },
  });
}

const kubeOf = (lines: readonly string[], rate?: number): AuditLogKube => ({
  podLogs: async () => lines.join("\n"),
  followPodLogs: async () => logStream(lines, rate),
});

/** Bytes of log text handed to the CLI (all runs). */
let verifiedBytes = 0;

/** The CLI verifies offline: no CAS here, so `--cas <addr>` is dropped (see the header). */
const source: CasDriverSource = {
  description: `local SCONE CLI ${CLI.join(" ")} (offline)`,
  async connect() {
    const runner = new LocalCliRunner({ binary: CLI, configPath: join(root, "cli", "config.json") });
    const offline = {
      description: runner.description,
      run: (
        argv: readonly CliArg[],
        env: Readonly<Record<string, string>>,
        files: Parameters<typeof runner.run>[2],
      ) => {
        const i = argv.indexOf("--cas");
        for (const f of files ?? []) if (f.name === "audit.log") verifiedBytes += f.content.length;
        return runner.run(i < 0 ? argv : [...argv.slice(0, i), ...argv.slice(i + 2)], env, files);
      },
    };
    return { driver: new CasDriver(offline), address: "127.0.0.1:1", release: async () => {} };
  },
};

const root = mkdtempSync(join(tmpdir(), "scone-bench-audit-ship-"));
const s3 = await startBenchS3(root, BUCKET);
try {
  const { credentials } = s3;
  const lines = await signedLog(N);
  const bytes = lines.reduce((s, l) => s + l.length + 1, 0);
  console.log(
    `log: ${N} entries, ${(bytes / 1024 / 1024).toFixed(1)} MiB; segments of ≤${DEFAULT_SEGMENT_POLICY.maxEntries} entries`,
  );

  // Raw read rate: the same stream through the same splitter, lines counted.
  const reads: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    let count = 0;
    for await (const batch of streamLines(logStream(lines))) count += batch.length;
    if (count !== N) throw new Error(`read ${count} lines, expected ${N}`);
    reads.push(performance.now() - t0);
  }
  const readRate = N / (median(reads) / 1000);

  const ship = async (prefix: string, rate?: number) => {
    const target = openTarget(`s3://${BUCKET}/${prefix}`, { credentials });
    const segments: { manifest: SegmentManifest; at: number }[] = [];
    const t0 = performance.now();
    const end = await shipPodLog(
      { namespace: "bench", name: "cas" },
      { namespace: "bench", name: "cas-0", uid: "bench" },
      {
        kube: kubeOf(lines, rate),
        target,
        source,
        policy: DEFAULT_SEGMENT_POLICY,
        now: Date.now,
        // Asked only once the log has ended (podCheckMs beyond the run): its pod is gone, the rest is shipped at once.
        podState: async () => "gone",
        podCheckMs: 24 * 3600_000,
        onShipped: (manifest) => segments.push({ manifest, at: Date.now() }),
      },
      new AbortController().signal,
    );
    const ms = performance.now() - t0;
    const shipped = segments.reduce((s, x) => s + x.manifest.entries, 0);
    return { end, ms, shipped, segments };
  };

  const burst = await ship("burst");
  reportFigure({
    figure: "audit shipping: bytes the CLI verified per byte shipped (burst)",
    baseline: "1 (each entry verified once)",
    scone: `${(verifiedBytes / bytes).toFixed(1)}`,
    ratio: verifiedBytes / bytes,
  });
  console.log(
    `burst: ${burst.shipped}/${N} entries in ${burst.segments.length} segments, ${(burst.ms / 1000).toFixed(1)} s (${burst.end})`,
  );
  const shipRate = burst.shipped / (burst.ms / 1000);
  reportFigure({
    figure: "audit shipping throughput (burst, entries/s)",
    baseline: `${Math.round(readRate).toLocaleString("en")} entries/s raw read`,
    scone: `${Math.round(shipRate).toLocaleString("en")} entries/s shipped`,
    ratio: shipRate / readRate,
  });

  // Live: the lag of each entry from its arrival (scheduled at seq/RATE) to its segment being written.
  const liveStart = Date.now();
  const live = await ship("live", RATE);
  const lags: number[] = [];
  for (const { manifest, at } of live.segments)
    for (let seq = manifest.firstSeq; seq <= manifest.lastSeq; seq++) lags.push(at - (liveStart + (seq / RATE) * 1000));
  lags.sort((a, b) => a - b);
  const p50 = lags[Math.floor(lags.length / 2)] ?? Number.NaN;
  const max = lags.at(-1) ?? Number.NaN;
  console.log(
    `live: ${RATE} entries/s for ${(N / RATE).toFixed(0)} s; ${live.shipped}/${N} shipped in ${live.segments.length} segments; lag p50 ${(p50 / 1000).toFixed(2)} s, max ${(max / 1000).toFixed(2)} s`,
  );
  reportFigure({
    figure: `audit shipping lag at ${RATE} entries/s (p50 / max, s)`,
    baseline: "-",
    scone: `${(p50 / 1000).toFixed(2)} / ${(max / 1000).toFixed(2)} s`,
    ratio: max / 1000,
  });
} finally {
  await s3.stop();
  rmSync(root, { recursive: true, force: true });
}
