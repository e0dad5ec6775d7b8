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
import type { ShippedEntry } from "../../../src/flows/audit/archive/segment.ts";
import type { AuditLogKube } from "../../../src/flows/audit/flow.ts";
import { shippingCondition, shippingEvents } from "../../../src/operator/audit/condition.ts";
import { type PodState, ShipFailure, shipPodLog } from "../../../src/operator/audit/ship-log.ts";
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
