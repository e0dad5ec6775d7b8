// The operator's CAS probe over the SCONE CLI (casDriverProbe) with a fake CLI and a fake pod exec: each documented
// signal and what the probe makes of it.
import { describe, expect, test } from "bun:test";
import { type CliArg, MRSIGNER_DB_INJECTION, MRSIGNER_STANDARD } from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import { type CasDriverSource, casServiceAddress } from "../../../../src/cas/driver/reach.ts";
import { CliRunError, type CliRunner, type CliRunResult } from "../../../../src/cas/driver/runner.ts";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { casDriverProbe, casRefOf, MAX_REASON_CHARS } from "../../../../src/operator/cas/driver-probe.ts";
import type { CasPodExec } from "../../../../src/operator/cas/snapshot-volume.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { upstreamCas } from "../../../harness/cas-fixtures.ts";

const KEY_HASH = "3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1";
const CAS_KEY = "46YyxrywJ8PFRruWX8YLxa9q4axxYJgTbA81tv7NBcJfn43DQt";
const CONSOLE = `CAS starting\nCAS key hash ${KEY_HASH}\nCAS provisioning token 0123456789abcdef0123456789abcdef\n`;
/** The console of a CAS started provisioned: no provisioning token is offered. */
const PROVISIONED_CONSOLE = `CAS starting\nCAS key hash ${KEY_HASH}\n`;
const ok = (stdout = ""): CliRunResult => ({ exitCode: 0, stdout, stderr: "" });
const fail = (exitCode: number, stderr: string): CliRunResult => ({ exitCode, stdout: "", stderr });
const signal = new AbortController().signal;
const noKube = {} as KubeClient;

type Answer = (argv: string[]) => CliRunResult | Promise<CliRunResult>;

/** A SCONE CLI that answers attest, set-default, show-identification and session read as `over` says. */
function fakeCli(over: { attest?: Answer; read?: Answer } = {}) {
  const calls: string[][] = [];
  const runner: CliRunner = {
    description: "fake CLI",
    async run(argv: readonly CliArg[]) {
      const args = argv.map((a) => (typeof a === "string" ? a : `<${a.inputFile}>`));
      calls.push(args);
      const op = args.slice(0, 2).join(" ");
      if (args[0] === "--version") return ok("scone 7.0.0");
      if (op === "cas attest") return (over.attest ?? (() => ok()))(args);
      if (op === "cas set-default") return ok();
      if (op === "cas show-identification") return args[2] === "--cas-key" ? ok(`${CAS_KEY}\n`) : fail(1, "older CAS");
      if (op === "session read") return (over.read ?? (() => ok("name: provisioned\n")))(args);
      return fail(2, `unexpected ${op}`);
    },
  };
  return { runner, calls };
}

function sourceOf(runner: CliRunner, extra: { transportError?: Error; connectError?: Error } = {}) {
  let released = 0;
  const source: CasDriverSource = {
    description: "fake source",
    async connect(cas) {
      if (extra.connectError) throw extra.connectError;
      return {
        driver: new CasDriver(runner),
        address: casServiceAddress(cas),
        release: async () => void released++,
        ...(extra.transportError ? { transportError: () => extra.transportError } : {}),
      };
    },
  };
  return { source, released: () => released };
}

/** A pod where `stat -c %Y -- <path>` answers with `mtime` (seconds), or fails as for a missing file. */
function fakePod(mtime: number | undefined) {
  const commands: string[][] = [];
  const exec: CasPodExec = async (o) => {
    commands.push([o.namespace, o.pod, o.container ?? "", ...o.command]);
    return mtime === undefined
      ? { exitCode: 1, stdout: new Uint8Array(), stderr: "stat: cannot statx: No such file or directory" }
      : { exitCode: 0, stdout: new TextEncoder().encode(`${mtime}\n`), stderr: "" };
  };
  return { exec, commands };
}

function probeOf(runner: CliRunner, opts: { mtime?: number; console?: string; source?: CasDriverSource } = {}) {
  const pod = fakePod(opts.mtime);
  let consoleReads = 0;
  const probe = casDriverProbe(noKube, {
    source: opts.source ?? sourceOf(runner).source,
    exec: pod.exec,
    consoleLog: async () => {
      consoleReads++;
      return opts.console ?? CONSOLE;
    },
  });
  return { probe, pod, consoleReads: () => consoleReads };
}

const attests = (calls: string[][]) => calls.filter((c) => c[0] === "cas" && c[1] === "attest");
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe("casDriverProbe", () => {
  test("attested and the session `provisioned` reads: Yes; the attestation pins the console's CAS key hash", async () => {
    const cas = await upstreamCas("cas.yaml");
    const cli = fakeCli();
    const { probe } = probeOf(cli.runner, { mtime: 1_767_270_600 });
    expect(await probe.probe(cas, signal)).toEqual({
      reachable: true,
      provisioned: "Yes",
      attestable: true,
      snapshotTimestamp: "2026-01-01T12:30:00Z",
    });
    const [attest] = attests(cli.calls);
    expect(attest?.slice(0, 3)).toEqual(["cas", "attest", "cas.scone.svc:8081"]);
    expect(after(attest ?? [], "-c")).toBe(KEY_HASH);
    // The testing-only flag never reaches a production attestation (an unprovisioned CAS is told by its console).
    expect(attest).not.toContain("--only_for_testing_allow-unprovisioned-cas");
    const read = cli.calls.find((c) => c[0] === "session" && c[1] === "read");
    expect(read).toEqual(["session", "read", "--cas", "cas.scone.svc:8081", "--cas-key", CAS_KEY, "provisioned"]);
  });

  test("attestation refused with both tolerance sets: not attestable, the CLI's error text as the reason", async () => {
    const cas = await upstreamCas("cas.yaml");
    const cli = fakeCli({ attest: (a) => fail(1, `CAS enclave signer differs from ${after(a, "--mrsigner")}`) });
    const { probe } = probeOf(cli.runner, { console: PROVISIONED_CONSOLE });
    const r = await probe.probe(cas, signal);
    expect(r).toMatchObject({ reachable: true, attestable: false, provisioned: "Unknown" });
    expect(r.attestationReason).toBe(
      `Scone CLI command failed with exit code 1 (ERROR 7520-30768-31405): CAS enclave signer differs from ${MRSIGNER_STANDARD}`,
    );
    // Upstream's order: the DB-injection signer, then the standard signer; no session read after a refusal.
    expect(attests(cli.calls).map((c) => after(c, "--mrsigner"))).toEqual([MRSIGNER_DB_INJECTION, MRSIGNER_STANDARD]);
    expect(cli.calls.some((c) => c[0] === "session")).toBe(false);
  });

  test("refused while the console offers a provisioning token: not provisioned (No), never the testing-only flag", async () => {
    const cas = await upstreamCas("cas.yaml");
    const cli = fakeCli({ attest: () => fail(1, "CAS is not provisioned") });
    const { probe } = probeOf(cli.runner);
    expect(await probe.probe(cas, signal)).toMatchObject({ reachable: true, attestable: false, provisioned: "No" });
    expect(cli.calls.flat()).not.toContain("--only_for_testing_allow-unprovisioned-cas");
  });

  test("a long CLI error is cut for the condition", async () => {
    const cas = await upstreamCas("cas.yaml");
    const { probe } = probeOf(fakeCli({ attest: () => fail(1, "x".repeat(5000)) }).runner);
    const r = await probe.probe(cas, signal);
    expect(r.attestationReason?.length).toBe(MAX_REASON_CHARS + 1);
    expect(r.attestationReason?.endsWith("…")).toBe(true);
  });

  test("the standard signer passes after the DB-injection signer is refused: attestable", async () => {
    const cas = await upstreamCas("cas.yaml");
    const cli = fakeCli({
      attest: (a) => (after(a, "--mrsigner") === MRSIGNER_STANDARD ? ok() : fail(1, "signer differs")),
    });
    expect(await probeOf(cli.runner).probe.probe(cas, signal)).toMatchObject({ attestable: true, provisioned: "Yes" });
  });

  test("session read exits 2: not provisioned; any other failure: Unknown", async () => {
    const cas = await upstreamCas("cas.yaml");
    const missing = probeOf(fakeCli({ read: () => fail(2, "session provisioned not found") }).runner);
    expect(await missing.probe.probe(cas, signal)).toMatchObject({
      reachable: true,
      attestable: true,
      provisioned: "No",
    });
    const broken = probeOf(fakeCli({ read: () => fail(1, "permission denied") }).runner);
    expect(await broken.probe.probe(cas, signal)).toMatchObject({
      reachable: true,
      attestable: true,
      provisioned: "Unknown",
    });
  });

  test("snapshots: stat of <targetDirectory>/last-completed in container cas; missing gives no timestamp", async () => {
    const cas = await upstreamCas("cas.yaml");
    const present = probeOf(fakeCli().runner, { mtime: 1_767_270_600 });
    await present.probe.probe(cas, signal);
    expect(present.pod.commands).toEqual([
      ["scone", "cas-0", "cas", "stat", "-c", "%Y", "--", "/var/mnt/cas-database-snapshots/last-completed"],
    ]);
    const missing = probeOf(fakeCli().runner, { mtime: undefined });
    const r = await missing.probe.probe(cas, signal);
    expect(r.reachable).toBe(true);
    expect(r.snapshotTimestamp).toBeUndefined();
    expect(r.snapshotCheckupTimestamp).toBeUndefined();

    const custom: CAS = {
      ...cas,
      spec: { ...cas.spec, databaseSnapshots: { enabled: true, targetDirectory: "/data/snaps/" } },
    };
    const moved = probeOf(fakeCli().runner, { mtime: 1 });
    await moved.probe.probe(custom, signal);
    expect(moved.pod.commands[0]?.at(-1)).toBe("/data/snaps/last-completed");

    const off: CAS = { ...cas, spec: { ...cas.spec, databaseSnapshots: { enabled: false } } };
    const disabled = probeOf(fakeCli().runner, { mtime: 1 });
    expect((await disabled.probe.probe(off, signal)).snapshotTimestamp).toBeUndefined();
    expect(disabled.pod.commands).toEqual([]);
  });

  test("a snapshot directory that is not a plain absolute path is never put into the exec", async () => {
    const cas = await upstreamCas("cas.yaml");
    for (const targetDirectory of ["../etc", "/var/../etc", "-rf", "relative/dir", "/a b", "/x\n/y"]) {
      const bad: CAS = { ...cas, spec: { ...cas.spec, databaseSnapshots: { enabled: true, targetDirectory } } };
      const p = probeOf(fakeCli().runner, { mtime: 1 });
      expect((await p.probe.probe(bad, signal)).snapshotTimestamp).toBeUndefined();
      expect(p.pod.commands).toEqual([]);
    }
  });

  test("unreachable: no connection, a CLI that cannot run, or a CLI failure the transport explains", async () => {
    const cas = await upstreamCas("cas.yaml");
    const noConnection = sourceOf(fakeCli().runner, { connectError: new Error("pod scone/cas-0 is Pending") });
    expect(await probeOf(fakeCli().runner, { source: noConnection.source }).probe.probe(cas, signal)).toEqual({
      reachable: false,
      error: "no connection to CAS through fake source: pod scone/cas-0 is Pending",
    });

    const dead: CliRunner = {
      description: "dead",
      run: async () => {
        throw new CliRunError("local SCONE CLI did not finish within 20000 ms; killed");
      },
    };
    const cantRun = sourceOf(dead);
    const r = await probeOf(dead, { source: cantRun.source }).probe.probe(cas, signal);
    expect(r).toMatchObject({ reachable: false, error: "local SCONE CLI did not finish within 20000 ms; killed" });
    expect(cantRun.released()).toBe(1);

    const refused = fakeCli({ attest: () => fail(1, "network error") });
    const forward = sourceOf(refused.runner, { transportError: new Error("port 8081: connection refused") });
    const viaForward = await probeOf(refused.runner, { source: forward.source }).probe.probe(cas, signal);
    expect(viaForward.reachable).toBe(false);
    expect(viaForward.error).toStartWith("port 8081: connection refused (Scone CLI command failed");
  });

  test("no CAS key hash on the console: not attestable, the CLI is not asked", async () => {
    const cas = await upstreamCas("cas.yaml");
    const cli = fakeCli();
    const r = await probeOf(cli.runner, { console: "CAS starting\n" }).probe.probe(cas, signal);
    expect(r).toMatchObject({ reachable: true, attestable: false, provisioned: "Unknown" });
    expect(r.attestationReason).toContain('no "CAS key hash" line in the log of cas-0');
    expect(attests(cli.calls)).toEqual([]);
  });

  test("the console is read once while attestation passes, again after a refusal", async () => {
    const cas = await upstreamCas("cas.yaml");
    let refuse = false;
    const cli = fakeCli({ attest: () => (refuse ? fail(1, "key hash mismatch") : ok()) });
    const p = probeOf(cli.runner);
    await p.probe.probe(cas, signal);
    await p.probe.probe(cas, signal);
    expect(p.consoleReads()).toBe(1);
    refuse = true;
    await p.probe.probe(cas, signal); // cached hash, refused: forgotten; the console read for a provisioning token
    expect(p.consoleReads()).toBe(2);
    await p.probe.probe(cas, signal); // the key hash read anew (CAS may have a new key), then the token again
    expect(p.consoleReads()).toBe(4);
  });

  test("the CAS reference carries spec.service.clientPort", async () => {
    const cas = await upstreamCas("cas.yaml");
    expect(casServiceAddress(casRefOf(cas))).toBe("cas.scone.svc:8081");
    const moved: CAS = { ...cas, spec: { ...cas.spec, service: { clientPort: 9443 } } };
    expect(casServiceAddress(casRefOf(moved))).toBe("cas.scone.svc:9443");
  });
});
