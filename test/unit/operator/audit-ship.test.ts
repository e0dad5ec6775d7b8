// shipPodLog: one CAS pod's audit log into the archive, with a scripted SCONE CLI (the verdict) and a directory
// target. The resume point comes from the archive; a log is verified from its first entry through each segment.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import type { CliArg, CliInputFile } from "../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../src/cas/driver/driver.ts";
import type { CasDriverSource } from "../../../src/cas/driver/reach.ts";
import type { CliRunner } from "../../../src/cas/driver/runner.ts";
import { listArchive, readArchive } from "../../../src/flows/audit/archive/archive.ts";
import { segmentKeys } from "../../../src/flows/audit/archive/layout.ts";
import { coverageOf } from "../../../src/flows/audit/archive/plan.ts";
import type { ShippedEntry } from "../../../src/flows/audit/archive/segment.ts";
import type { AuditLogKube } from "../../../src/flows/audit/flow.ts";
import { MAX_VERIFIED_LOG_BYTES } from "../../../src/flows/audit/verify.ts";
import { createLogger } from "../../../src/log.ts";
import { MetricsRegistry } from "../../../src/metrics/registry.ts";
import { shippingCondition, shippingEvents } from "../../../src/operator/audit/condition.ts";
import { type PodState, ShipFailure, shipPodLog } from "../../../src/operator/audit/ship-log.ts";
import { AuditShipper, type AuditShipperOptions } from "../../../src/operator/audit/shipper.ts";
import { waitFor } from "../../harness/kube.ts";
import { signedEntries } from "../../harness/signed-audit-log.ts";

const CAS = { namespace: "ns1", name: "cas" };
const POD = { namespace: "ns1", name: "cas-0", uid: "uid-1" };
const POLICY = { maxEntries: 4, maxBytes: 1 << 20, maxAgeMs: 60_000 };

/** A kube whose audit container's log is `lines` (then the stream ends), recording the follows. */
function logOf(lines: readonly string[]): AuditLogKube & { follows: number } {
  const kube = {
    follows: 0,
    async podLogs() {
      return lines.join("\n");
    },
    async followPodLogs() {
      kube.follows++;
      const bytes = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(""));
      return new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes);
          c.close();
        },
      });
    },
  };
  return kube;
}

interface Call {
  readonly argv: readonly CliArg[];
  readonly log: string;
}

function scriptedCli(exitCode: () => number) {
  const calls: Call[] = [];
  const runner: CliRunner = {
    description: "scripted",
    async run(argv, _env, files?: readonly CliInputFile[]) {
      const log = files?.find((f) => f.name === "audit.log")?.content;
      calls.push({ argv, log: typeof log === "string" ? log : "" });
      return { exitCode: exitCode(), stdout: "", stderr: "" };
    },
  };
  const source: CasDriverSource = {
    description: "scripted CLI",
    async connect() {
      return { driver: new CasDriver(runner), address: "127.0.0.1:9", release: async () => {} };
    },
  };
  return { source, calls };
}

const seqsOf = (log: string) =>
  log
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { seq: number }).seq);

describe("shipPodLog", () => {
  let dir: string;
  let entries: ShippedEntry[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-audit-ship-"));
    entries = await signedEntries(14);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (
    target: LocalDirectoryTarget,
    lines: readonly string[],
    cli: ReturnType<typeof scriptedCli>,
    podState: PodState,
  ) =>
    shipPodLog(
      CAS,
      POD,
      { kube: logOf(lines), target, source: cli.source, policy: POLICY, now: Date.now, podState: async () => podState },
      new AbortController().signal,
    );

  test("segments verified against the CAS from seq 0; read again, nothing twice; the gone pod's tail offline", async () => {
    const target = new LocalDirectoryTarget(join(dir, "a"));
    const cli = scriptedCli(() => 0);
    const raw = entries.map((e) => e.raw);
    // The pod runs: full segments go, the two younger entries wait (they are still in the pod's log). The audit
    // container's own notices (tail on stderr) are no part of the log.
    const noisy = [...raw.slice(0, 2), "tail: 'cas_audit.log' has appeared;  following new file", ...raw.slice(2, 10)];
    expect(await run(target, noisy, cli, "running")).toBe("ended");
    expect((await listArchive(target, CAS)).map((s) => [s.first, s.last])).toEqual([
      [0, 3],
      [4, 7],
    ]);
    expect(cli.calls.map((c) => c.argv.includes("--cas"))).toEqual([true, true]);
    expect(cli.calls.map((c) => seqsOf(c.log))).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3, 4, 5, 6, 7],
    ]);
    // A new shipper (operator restart) reads the log again from its start: it resumes after seq 7. The pod is gone
    // by the end of the read: what is left then is written verified offline, with the log's own key (no --cas).
    cli.calls.length = 0;
    expect(await run(target, raw, cli, "gone")).toBe("gone");
    expect((await listArchive(target, CAS)).map((s) => [s.first, s.last])).toEqual([
      [0, 3],
      [4, 7],
      [8, 11],
      [12, 13],
    ]);
    // The full segment went while the log was followed (the CAS said correct); the rest once the log had ended.
    expect(cli.calls.map((c) => c.argv.includes("--cas"))).toEqual([true, false]);
    const read: string[] = [];
    await readArchive(target, CAS, ({ lines }) => {
      read.push(...lines);
    });
    expect(read).toEqual(raw);
  });

  test("a verdict that is not correct while the pod runs: nothing written, ChainRejected", async () => {
    const target = new LocalDirectoryTarget(join(dir, "b"));
    const cli = scriptedCli(() => 20);
    const shipped = run(
      target,
      entries.slice(0, 5).map((e) => e.raw),
      cli,
      "running",
    );
    await expect(shipped).rejects.toThrow(ShipFailure);
    await shipped.catch((e: ShipFailure) => {
      expect(e.reason).toBe("ChainRejected");
      expect(e.message).toContain("exit 20, authenticity or integrity violation");
    });
    expect(await listArchive(target, CAS)).toEqual([]);
  });

  test("a pod leaving: the CAS's verdict no longer counts, the tail is verified offline and written", async () => {
    const target = new LocalDirectoryTarget(join(dir, "c"));
    // Against the CAS (exit 18: its chain moved on); offline the log is correct.
    const cli = scriptedCli(() => (cli.calls.at(-1)?.argv.includes("--cas") ? 18 : 0));
    const kube = logOf(entries.slice(0, 6).map((e) => e.raw));
    const ended = await shipPodLog(
      CAS,
      POD,
      { kube, target, source: cli.source, policy: POLICY, now: Date.now, podState: async () => "leaving" },
      new AbortController().signal,
    );
    expect(ended).toBe("gone");
    const segs = await listArchive(target, CAS);
    expect(segs.map((s) => [s.first, s.last])).toEqual([
      [0, 3],
      [4, 5],
    ]);
    const verdicts: unknown[] = [];
    await readArchive(target, CAS, ({ manifest }) => {
      verdicts.push(manifest.verification);
    });
    // Correct offline, but no CAS ever vouched for the key this log announces: the manifest says so.
    const offline = { against: "log-key", correct: true, keyVouched: false };
    expect(verdicts).toMatchObject([offline, offline]);
  });

  test("an offline verdict on a log whose start the CAS verified says the key is vouched for", async () => {
    const target = new LocalDirectoryTarget(join(dir, "g"));
    const raw = entries.map((e) => e.raw);
    await run(
      target,
      raw.slice(0, 4),
      scriptedCli(() => 0),
      "running",
    ); // [0-3] against the CAS
    const cli = scriptedCli(() => 0);
    expect(await run(target, raw.slice(0, 6), cli, "gone")).toBe("gone"); // a new shipper; the pod is gone
    expect(cli.calls.map((c) => c.argv.includes("--cas"))).toEqual([false]);
    const verdicts: unknown[] = [];
    await readArchive(target, CAS, ({ manifest }) => {
      verdicts.push(manifest.verification);
    });
    expect(verdicts).toMatchObject([
      { against: "cas", keyVouched: true },
      { against: "log-key", correct: true, keyVouched: true },
    ]);
  });

  test("two shippers at once (a leader change racing the old leader): every entry read back exactly once", async () => {
    const target = new LocalDirectoryTarget(join(dir, "h"));
    const raw = entries.map((e) => e.raw);
    const cli = scriptedCli(() => 0);
    expect(await Promise.all([run(target, raw, cli, "gone"), run(target, raw, cli, "gone")])).toEqual(["gone", "gone"]);
    const read: string[] = [];
    const { problems } = await readArchive(target, CAS, ({ lines }) => {
      read.push(...lines);
    });
    expect(problems).toEqual([]);
    expect(read).toEqual(raw);
  });

  test("the gone pod's tail survives a failed write: retried from memory (the pod's log is no more)", async () => {
    const dir2 = new LocalDirectoryTarget(join(dir, "f"));
    let failures = 1;
    const flaky = Object.assign(Object.create(dir2) as LocalDirectoryTarget, {
      put: async (key: string, data: Uint8Array) => {
        if (failures-- > 0) throw new Error("S3 write failed: ConnectionReset");
        return dir2.put(key, data);
      },
    });
    const raw = entries.slice(0, 3).map((e) => e.raw);
    expect(
      await run(
        flaky,
        raw,
        scriptedCli(() => 0),
        "gone",
      ),
    ).toBe("gone");
    const read: string[] = [];
    await readArchive(dir2, CAS, ({ lines }) => {
      read.push(...lines);
    });
    expect(read).toEqual(raw);
  });

  test("an interrupted write (entries without manifest) counts for nothing and is replaced", async () => {
    const target = new LocalDirectoryTarget(join(dir, "d"));
    const log = entries[0]?.signature as string;
    await target.put(segmentKeys(CAS, log, { first: 0, last: 5 }).entries, new TextEncoder().encode("partial\n"));
    const cli = scriptedCli(() => 0);
    await run(
      target,
      entries.slice(0, 4).map((e) => e.raw),
      cli,
      "running",
    );
    expect((await listArchive(target, CAS)).map((s) => [s.first, s.last, s.hasManifest])).toEqual([[0, 3, true]]);
  });

  test("a log read from its middle (a rotated container log) is refused: it cannot be placed", async () => {
    const target = new LocalDirectoryTarget(join(dir, "e"));
    const shipped = run(
      target,
      entries.slice(3, 6).map((e) => e.raw),
      scriptedCli(() => 0),
      "running",
    );
    await expect(shipped).rejects.toThrow(/starts at seq 3, not at its first entry/);
  });
});

/** The scripted CLI as the SCONE CLI answers a log text: 15 (older entries missing) when it starts past seq 0. */
const windowAware =
  (calls: readonly Call[], verdict = 0) =>
  () => {
    const first = (calls.at(-1)?.log ?? "").split("\n")[0] ?? "";
    return first !== "" && (JSON.parse(first) as { seq: number }).seq > 0 ? 15 : verdict;
  };

/** The seqs of the entries in each verification text: consecutive, or undefined where they are not. */
const rangeOf = (log: string) => {
  const seqs = seqsOf(log);
  return seqs.every((q, i) => q === (seqs[0] as number) + i) ? { first: seqs[0], last: seqs.at(-1) } : undefined;
};

describe("shipPodLog past the bound of one verification", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-audit-ship-big-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("a log beyond 16 MiB keeps shipping: every segment is in a text the CLI verified, with the entry before it", async () => {
    const big = await signedEntries(301, 7, 64 * 1024); // ~19.7 MiB
    const raw = big.map((e) => e.raw);
    expect(raw.reduce((n, l) => n + l.length + 1, 0)).toBeGreaterThan(MAX_VERIFIED_LOG_BYTES);
    const target = new LocalDirectoryTarget(join(dir, "big"));
    const cli = scriptedCli(() => windowAware(cli.calls)());
    const policy = { maxEntries: 1000, maxBytes: 1 << 20, maxAgeMs: 60_000 };
    const ended = await shipPodLog(
      CAS,
      POD,
      { kube: logOf(raw), target, source: cli.source, policy, now: Date.now, podState: async () => "running" },
      new AbortController().signal,
    );
    expect(ended).toBe("ended");
    const read: string[] = [];
    const manifests: { first: number; last: number; correct: boolean; from: number | undefined }[] = [];
    await readArchive(target, CAS, ({ manifest, lines }) => {
      read.push(...lines);
      const v = manifest.verification;
      manifests.push({ first: manifest.firstSeq, last: manifest.lastSeq, correct: v.correct, from: v.from });
    });
    // All full segments went (the last, partial one waits for its age: the pod still runs).
    const through = manifests.at(-1)?.last ?? -1;
    expect(through).toBeGreaterThanOrEqual(300 - 15);
    expect(read).toEqual(raw.slice(0, through + 1));
    expect(manifests.every((m) => m.correct)).toBe(true);
    // No text handed to the CLI is over its bound; each was verified against the CAS.
    for (const c of cli.calls) expect(Buffer.byteLength(c.log)).toBeLessThanOrEqual(MAX_VERIFIED_LOG_BYTES);
    expect(cli.calls.every((c) => c.argv.includes("--cas"))).toBe(true);
    // Every segment lies in one verified text that also holds the entry before it (the link to the archive).
    const texts = cli.calls.map((c) => rangeOf(c.log));
    for (const m of manifests) {
      const covered = texts.some(
        (t) => t && (t.first as number) <= Math.max(0, m.first - 1) && (t.last as number) >= m.last,
      );
      expect(covered, `segment ${m.first}..${m.last}`).toBe(true);
    }
    // Past the bound the texts are windows (from > 0), so no verification grows with the log.
    expect(manifests.some((m) => (m.from ?? 0) > 0)).toBe(true);
    expect(manifests.filter((m) => (m.from ?? 0) > 0).every((m) => m.from === m.first - 1)).toBe(true);
  }, 60_000);

  const small = { maxEntries: 4, maxBytes: 1 << 20, maxAgeMs: 60_000 };
  const runSmall = (target: LocalDirectoryTarget, lines: readonly string[], cli: ReturnType<typeof scriptedCli>) =>
    shipPodLog(
      CAS,
      POD,
      {
        kube: logOf(lines),
        target,
        source: cli.source,
        policy: small,
        now: Date.now,
        podState: async () => "running",
        wholeLogBytes: 1, // windows from the start: the bound's behaviour without writing 16 MiB
      },
      new AbortController().signal,
    );

  test("a window's verdict: 15 counts only for a window; anything worse, or 15 on the log's start, is refused", async () => {
    const entries = await signedEntries(12);
    const raw = entries.map((e) => e.raw);
    // 15 on the first segment (a text from seq 0): older entries missing is a real finding there.
    const fromStart = scriptedCli(() => 15);
    await expect(runSmall(new LocalDirectoryTarget(join(dir, "w1")), raw, fromStart)).rejects.toThrow(
      /exit 15, truncated: older entries missing; seq 0\.\.3 not archived/,
    );
    // 17 on a window: refused, nothing past the first segment written.
    const target = new LocalDirectoryTarget(join(dir, "w2"));
    const cli = scriptedCli(() => (windowAware(cli.calls, 0)() === 15 ? 17 : 0));
    await expect(runSmall(target, raw, cli)).rejects.toThrow(/exit 17.*seq 4\.\.7 not archived/);
    expect((await listArchive(target, CAS)).map((s) => [s.first, s.last])).toEqual([[0, 3]]);
    // The window handed to the CLI starts at the archived entry before the segment.
    expect(seqsOf(cli.calls.at(-1)?.log ?? "")).toEqual([3, 4, 5, 6, 7]);
  });

  test("a CLI saying 15 on a window with an altered entry does not get it archived: scone's link check refuses", async () => {
    const entries = await signedEntries(12);
    const raw = entries.map((e) => e.raw);
    const altered = JSON.parse(raw[6] as string) as { details: { session: string } };
    altered.details.session = "forged";
    raw[6] = JSON.stringify(altered);
    const target = new LocalDirectoryTarget(join(dir, "w3"));
    const cli = scriptedCli(() => windowAware(cli.calls)());
    await expect(runSmall(target, raw, cli)).rejects.toThrow(
      /scone's own link check: seq 6: signature does not verify/,
    );
    expect((await listArchive(target, CAS)).map((s) => [s.first, s.last])).toEqual([[0, 3]]);
  });
});

describe("shipPodLog on a log read from its middle (the kubelet rotated the container log)", () => {
  let dir: string;
  let entries: ShippedEntry[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-audit-ship-rot-"));
    entries = await signedEntries(14);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (target: LocalDirectoryTarget, lines: readonly string[], cli: ReturnType<typeof scriptedCli>) =>
    shipPodLog(
      CAS,
      POD,
      { kube: logOf(lines), target, source: cli.source, policy: POLICY, now: Date.now, podState: async () => "gone" },
      new AbortController().signal,
    );

  test("it continues the archived log whose entry it names as predecessor: nothing lost, nothing twice", async () => {
    const raw = entries.map((e) => e.raw);
    for (const start of [5, 8]) {
      const target = new LocalDirectoryTarget(join(dir, `from-${start}`));
      // A shipper archived seq 0..7 while the pod ran.
      await run(
        target,
        raw.slice(0, 8),
        scriptedCli(() => 0),
      ).catch(() => undefined);
      expect(coverageOf(await listArchive(target, CAS), entries[0]?.signature as string).through).toBe(7);
      // A new shipper reads the log from seq `start` on: the older lines were rotated away.
      const cli = scriptedCli(() => windowAware(cli.calls)());
      expect(await run(target, raw.slice(start), cli)).toBe("gone");
      const read: string[] = [];
      const { problems } = await readArchive(target, CAS, ({ lines }) => {
        read.push(...lines);
      });
      expect(problems).toEqual([]);
      expect(read).toEqual(raw);
      // The window the CLI saw starts at the archive's last entry (7), re-read or taken from the archive.
      expect(seqsOf(cli.calls[0]?.log ?? "")[0]).toBe(7);
    }
  });

  test("a read that starts past the archive's end is a gap, reported with its seqs, never shipped as if whole", async () => {
    const raw = entries.map((e) => e.raw);
    const target = new LocalDirectoryTarget(join(dir, "gap"));
    await run(
      target,
      raw.slice(0, 4),
      scriptedCli(() => 0),
    );
    const shipped = run(
      target,
      raw.slice(9),
      scriptedCli(() => 15),
    );
    await expect(shipped).rejects.toThrow(ShipFailure);
    await expect(shipped).rejects.toThrow(/starts at seq 9.*entries before seq 9 not archived are no longer readable/);
    expect((await listArchive(target, CAS)).map((s) => [s.first, s.last])).toEqual([[0, 3]]);
  });
});

describe("shipPodLog and the end of a log whose pod went", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-audit-ship-end-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (target: LocalDirectoryTarget, lines: readonly string[], podState: PodState, gaps: unknown[]) =>
    shipPodLog(
      CAS,
      POD,
      {
        kube: logOf(lines),
        target,
        source: scriptedCli(() => 0).source,
        policy: POLICY,
        now: Date.now,
        podState: async () => podState,
        onGap: (g) => gaps.push(g),
      },
      new AbortController().signal,
    );

  test("a new log after an old one whose pod went unfollowed: the gap is reported once, with its first lost seq", async () => {
    const target = new LocalDirectoryTarget(join(dir, "gap"));
    const old = (await signedEntries(10, 7)).map((e) => e.raw);
    const next = (await signedEntries(3, 8)).map((e) => e.raw);
    const gaps: { log: string; through: number; message: string }[] = [];
    // A shipper archived seq 0..3 of the old log, then stopped (an operator outage) while the pod still ran.
    expect(await run(target, old.slice(0, 6), "running", gaps)).toBe("ended");
    // The pod was replaced during the outage: the next shipper reads the new pod's log.
    expect(await run(target, next, "running", gaps)).toBe("ended");
    const oldLog = (JSON.parse(old[0] as string) as { signature: string }).signature;
    expect(gaps).toMatchObject([{ log: oldLog, through: 3 }]);
    expect(gaps[0]?.message).toContain("entries from seq 4 to its end, if it had any, are lost");
    // On record in the archive, so the next shipper does not report it again.
    const record = await target.get(`_audit/${CAS.namespace}/${CAS.name}/${oldLog}.end.json`, 4096);
    expect(JSON.parse(new TextDecoder().decode(record as Uint8Array))).toMatchObject({ complete: false, lastSeq: 3 });
    await run(target, next, "running", gaps);
    expect(gaps).toHaveLength(1);
  });

  test("a log its shipper saw to the end is on record as complete: a new log reports no gap", async () => {
    const target = new LocalDirectoryTarget(join(dir, "complete"));
    const old = (await signedEntries(6, 7)).map((e) => e.raw);
    const next = (await signedEntries(3, 8)).map((e) => e.raw);
    const gaps: unknown[] = [];
    expect(await run(target, old, "gone", gaps)).toBe("gone");
    expect(await run(target, next, "running", gaps)).toBe("ended");
    expect(gaps).toEqual([]);
  });
});

describe("AuditShipper: the lag while shipping fails", () => {
  test("an entry read again after failures keeps its first read time: the lag (state and metric) shows the real wait", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scone-audit-shipper-lag-"));
    const raw = (await signedEntries(3)).map((e) => e.raw);
    let skew = 0;
    const fourth = Promise.withResolvers<void>();
    // Each verification "takes" 30 s of the shipper's clock, and the CLI rejects the log every time.
    const cli = scriptedCli(() => {
      skew += 30_000;
      if (cli.calls.length >= 4) fourth.resolve();
      return 20;
    });
    const metrics = new MetricsRegistry();
    const shipper = new AuditShipper({
      kube: { ...logOf(raw), tryGet: async () => undefined } as unknown as AuditShipperOptions["kube"],
      pods: () => ({ metadata: { uid: "uid-1" }, status: { phase: "Running" } }),
      casList: () => [{ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", metadata: { ...CAS, uid: "c1" } }],
      target: async () => new LocalDirectoryTarget(join(dir, "t")),
      source: cli.source,
      metrics,
      events: { record: () => {} },
      log: createLogger({ level: "error", sink: process.stderr, component: "audit-lag-test" }),
      policy: { maxEntries: 4, maxBytes: 1 << 20, maxAgeMs: 0 },
      now: () => Date.now() + skew,
      syncMs: 10,
      retryMs: 1,
      podCheckMs: 10,
    });
    try {
      shipper.start();
      // The fourth attempt comes after the third failure was recorded.
      await fourth.promise;
      await shipper.stop();
      // Three rejected attempts at the same entries: 90 s since they were first read, not the last attempt's 30 s.
      expect(shipper.stateOf(CAS.namespace, CAS.name)?.lagSeconds).toBeGreaterThanOrEqual(60);
      const lag = Number(/scone_cas_audit_shipping_lag_seconds\{[^}]*\} ([\d.]+)/.exec(metrics.render())?.[1]);
      expect(lag).toBeGreaterThanOrEqual(60);
    } finally {
      await shipper.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the AuditShipped condition and its Events", () => {
  test("constant reasons: Shipped, ShippingLagging, ShippingFailed, ChainRejected, WaitingForLog", () => {
    const log = "f".repeat(128);
    expect(shippingCondition({ log, through: 7, lagSeconds: 1 })).toMatchObject({ status: "True", reason: "Shipped" });
    expect(shippingCondition({ log, through: 7, lagSeconds: 61 })).toMatchObject({
      status: "False",
      reason: "ShippingLagging",
    });
    expect(
      shippingCondition({ log, through: 7, lagSeconds: 0, failure: { reason: "ShippingFailed", message: "S3 down" } }),
    ).toMatchObject({ status: "False", reason: "ShippingFailed", message: "S3 down" });
    expect(
      shippingCondition({ through: -1, lagSeconds: 0, failure: { reason: "ChainRejected", message: "exit 20" } }),
    ).toMatchObject({ status: "False", reason: "ChainRejected" });
    // A gap found earlier stays in the message while shipping goes on.
    expect(shippingCondition({ log, through: 7, lagSeconds: 0, gap: "entries from seq 4 … are lost" })).toMatchObject({
      status: "True",
      reason: "Shipped",
      message: expect.stringContaining("entries from seq 4 … are lost"),
    });
    expect(shippingCondition({ through: -1, lagSeconds: 0 })).toMatchObject({
      status: "Unknown",
      reason: "WaitingForLog",
    });
  });

  test("a Warning when a failure starts or changes, a Normal one when shipping resumes, nothing otherwise", () => {
    const ok = { through: 3, lagSeconds: 0 };
    const bad = { ...ok, failure: { reason: "ShippingFailed" as const, message: "S3 down" } };
    expect(shippingEvents(ok, bad)).toMatchObject([{ type: "Warning", reason: "AuditShippingFailed" }]);
    expect(shippingEvents(bad, bad)).toEqual([]);
    expect(shippingEvents(bad, ok)).toMatchObject([{ type: "Normal", reason: "AuditShippingResumed" }]);
    expect(shippingEvents(ok, { ...ok, through: 9 })).toEqual([]);
  });
});

describe("a follow that stays silent (a half-open stream; a follow opened before the container's log existed)", () => {
  /** A stream that is opened and never delivers a byte nor ends (until aborted). */
  const silentStream = (signal?: AbortSignal) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        signal?.addEventListener("abort", () => c.error(signal.reason));
      },
    });

  test("shipPodLog gives a silent follow up after silentMs, with nothing pending", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scone-audit-silent-"));
    try {
      const kube: AuditLogKube = {
        podLogs: async () => "",
        followPodLogs: async (_pod, o) => silentStream(o?.signal),
      };
      const end = await shipPodLog(
        CAS,
        POD,
        {
          kube,
          target: new LocalDirectoryTarget(join(dir, "t")),
          source: scriptedCli(() => 0).source,
          policy: POLICY,
          now: Date.now,
          podState: async () => "running",
          podCheckMs: 10,
          silentMs: 50,
        },
        new AbortController().signal,
      );
      expect(end).toBe("silent");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the shipper reads the log again after a silent follow, and archives what the new follow brings", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scone-audit-silent-shipper-"));
    const raw = (await signedEntries(4)).map((e) => e.raw);
    let follows = 0;
    const kube = {
      podLogs: async () => raw.join("\n"),
      tryGet: async () => undefined,
      // The first follow is the one opened too early: open, silent, for ever. The next reads the real log.
      async followPodLogs(_pod: unknown, o?: { signal?: AbortSignal }) {
        follows++;
        if (follows === 1) return silentStream(o?.signal);
        const bytes = new TextEncoder().encode(raw.map((l) => `${l}\n`).join(""));
        return new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(bytes);
            o?.signal?.addEventListener("abort", () => c.error(o.signal?.reason));
          },
        });
      },
    };
    const target = new LocalDirectoryTarget(join(dir, "t"));
    const shipper = new AuditShipper({
      kube: kube as unknown as AuditShipperOptions["kube"],
      pods: () => ({ metadata: { uid: "uid-1" }, status: { phase: "Running" } }),
      casList: () => [{ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", metadata: { ...CAS, uid: "c1" } }],
      target: async () => target,
      source: scriptedCli(() => 0).source,
      metrics: new MetricsRegistry(),
      events: { record: () => {} },
      log: createLogger({ level: "error", sink: process.stderr, component: "audit-silent-test" }),
      policy: { maxEntries: 4, maxBytes: 1 << 20, maxAgeMs: 0 },
      syncMs: 10,
      retryMs: 1,
      podCheckMs: 10,
      silentMs: 50,
    });
    try {
      shipper.start();
      const archived = await waitFor("the segment the second follow brings", async () => {
        const segments = await listArchive(target, CAS);
        return segments.length > 0 ? segments : undefined;
      });
      expect(archived.map((s) => [s.first, s.last])).toEqual([[0, 3]]);
      expect(follows).toBeGreaterThanOrEqual(2);
    } finally {
      await shipper.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("AuditShipper: a segment no CAS vouched for", () => {
  test("a pod that leaves before any check against the CAS: its log is archived offline, with an AuditSegmentUnverified Warning", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scone-audit-shipper-unvouched-"));
    const raw = (await signedEntries(3)).map((e) => e.raw);
    // The CAS refuses (its chain moved on); offline the log is correct.
    const cli = scriptedCli(() => (cli.calls.at(-1)?.argv.includes("--cas") ? 18 : 0));
    // Running when the shipper starts on it, leaving from then on (the pod provisioning replaces lives seconds).
    let looks = 0;
    const pods = () => ({
      metadata: { uid: "uid-1", ...(looks++ > 0 ? { deletionTimestamp: new Date() } : {}) },
      status: { phase: "Running" },
    });
    const events: { type: string; reason: string; message: string }[] = [];
    const target = new LocalDirectoryTarget(join(dir, "t"));
    const shipper = new AuditShipper({
      kube: { ...logOf(raw), tryGet: async () => undefined } as unknown as AuditShipperOptions["kube"],
      pods,
      casList: () => [{ apiVersion: "services.scone.cloud/v1beta1", kind: "CAS", metadata: { ...CAS, uid: "c1" } }],
      target: async () => target,
      source: cli.source,
      metrics: new MetricsRegistry(),
      events: { record: (_o, type, reason, message) => void events.push({ type, reason, message }) },
      log: createLogger({ level: "error", sink: process.stderr, component: "audit-unvouched-test" }),
      policy: { maxEntries: 4, maxBytes: 1 << 20, maxAgeMs: 0 },
      syncMs: 10,
      retryMs: 1,
      podCheckMs: 10,
    });
    try {
      shipper.start();
      const warning = await waitFor("the Warning", async () =>
        events.find((e) => e.reason === "AuditSegmentUnverified"),
      );
      expect(warning.type).toBe("Warning");
      expect(warning.message).toContain("audit log seq 0..2 of pod cas-0 (gone) archived with verdict exit 0");
      expect(warning.message).toContain("verified offline with a key no CAS vouched for");
      const verdicts: unknown[] = [];
      await readArchive(target, CAS, ({ manifest }) => {
        verdicts.push(manifest.verification);
      });
      expect(verdicts).toMatchObject([{ against: "log-key", correct: true, keyVouched: false }]);
    } finally {
      await shipper.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
