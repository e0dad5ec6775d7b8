// The CAS driver's per-call latency (issue 13): one SCONE CLI call through CasDriver and the local runner, timed
// call by call. `session calculate-hash` needs no CAS, so the figure is the driver's own cost (a process start, the
// per-call private directory, the CLI's parse), the floor under every attest, session read and upload. The CLI is
// $SCONE_BENCH_SCONE_CLI (a real `scone`), else the stand-in (sim/scone-cli). Figures only.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CasDriver } from "../src/cas/driver/driver.ts";
import { LocalCliRunner } from "../src/cas/driver/runner.ts";
import { median } from "./_figures.ts";

const BODY = 'name: bench-latency\nversion: "0.3.10"\naccess_policy:\n  read:\n    - CREATOR\n';

export interface DriverLatency {
  readonly cli: string;
  readonly calls: number;
  readonly medianMs: number;
  readonly p95Ms: number;
}

export async function driverCallLatency(calls = 20): Promise<DriverLatency> {
  const binary = process.env.SCONE_BENCH_SCONE_CLI
    ? [process.env.SCONE_BENCH_SCONE_CLI]
    : [process.execPath, join(import.meta.dir, "../sim/scone-cli/main.ts")];
  const dir = mkdtempSync(join(tmpdir(), "scone-bench-driver-"));
  try {
    const runner = new LocalCliRunner({ binary, configPath: join(dir, "config.json"), tempRoot: dir });
    const driver = new CasDriver(runner);
    await driver.sessionHash(BODY); // warm the file cache once
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await driver.sessionHash(BODY);
      times.push(performance.now() - t);
    }
    const sorted = [...times].sort((a, b) => a - b);
    return {
      cli: runner.description,
      calls,
      medianMs: median(times),
      p95Ms: sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] ?? Number.NaN,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
