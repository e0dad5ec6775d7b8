// The local source: a real program standing in for the CLI (a shell script that reports its SCONE_CLI_CONFIG and
// answers --version), a recorded port-forward instead of a cluster.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIG_LOCKS, configLockKey } from "../../../../src/cas/driver/config-sync.ts";
import { LocalCasDriverSource, operatorConfigPath, SerializedRunner } from "../../../../src/cas/driver/local-source.ts";
import { LocalCliRunner } from "../../../../src/cas/driver/runner.ts";
import type { PortForwardOptions } from "../../../../src/kube/port-forward.ts";

const root = mkdtempSync(join(tmpdir(), "scone-local-source-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Appends the config path it was given to $LOG, sleeps a little inside the call (so overlapping calls would
// interleave their log lines), and prints a version.
const script = join(root, "fake-cli.sh");
writeFileSync(
  script,
  '#!/bin/sh\necho "start $SCONE_CLI_CONFIG" >> "$LOG"\nsleep 0.05\necho "end $SCONE_CLI_CONFIG" >> "$LOG"\necho "scone 7.1.2"\n',
);
chmodSync(script, 0o755);

// Logs "start <subcommand>", then waits until $WANT calls sharing $MEET have started (≤ 10 s: a call that runs alone
// gives up, logging "alone"), then logs "end <subcommand>".
const meeting = join(root, "meeting-cli.sh");
writeFileSync(
  meeting,
  [
    "#!/bin/sh",
    'echo "start $2" >> "$LOG"',
    'mkdir -p "$MEET"; : > "$MEET/$$"',
    "i=0",
    'while [ "$(ls "$MEET" | wc -l)" -lt "$WANT" ]; do',
    '  i=$((i+1)); if [ "$i" -gt 200 ]; then echo "alone $2" >> "$LOG"; exit 1; fi; sleep 0.05',
    "done",
    'echo "end $2" >> "$LOG"',
    "",
  ].join("\n"),
);
chmodSync(meeting, 0o755);

function fixture() {
  const forwards: PortForwardOptions[] = [];
  let closed = 0;
  const log = join(mkdtempSync(join(root, "log-")), "calls.log");
  const stateDir = join(mkdtempSync(join(root, "state-")), "state");
  const source = new LocalCasDriverSource({
    binary: [script],
    stateDir,
    env: { LOG: log },
    portForward: async (o) => {
      forwards.push(o);
      return {
        localAddress: "127.0.0.1",
        localPort: 40000 + forwards.length,
        activeConnections: 0,
        lastError: undefined,
        close: async () => {
          closed++;
        },
      };
    },
  });
  return { source, forwards, closed: () => closed, log, stateDir };
}

describe("LocalCasDriverSource", () => {
  test("forwards to NAME-0's client port and hands the CLI the loopback address; release closes the forward once", async () => {
    const f = fixture();
    const conn = await f.source.connect({ namespace: "team", name: "cas", clientPort: 9081 }, { kind: "operator" });
    expect(f.forwards).toEqual([{ namespace: "team", pod: "cas-0", port: 9081 }]);
    expect(conn.address).toBe("127.0.0.1:40001");
    await Promise.all([conn.release(), conn.release()]);
    expect(f.closed()).toBe(1);
    const other = await f.source.connect({ namespace: "team", name: "db" }, { kind: "operator" });
    expect(f.forwards[1]).toEqual({ namespace: "team", pod: "db-0", port: 8081 });
    await other.release();
  });

  test("owner identity: the given config path; operator identity: a config under the state dir in a 0700 directory", async () => {
    const f = fixture();
    const ownerDir = join(root, "owner", "identity");
    const ownerConfig = join(ownerDir, "config.json");
    const owner = await f.source.connect({ namespace: "ns", name: "cas" }, { kind: "owner", configPath: ownerConfig });
    expect(statSync(ownerDir).mode & 0o777).toBe(0o700);
    expect((await owner.driver.cliVersion()).text).toBe("7.1.2");
    await owner.release();
    const op = await f.source.connect({ namespace: "ns", name: "cas" }, { kind: "operator" });
    await op.driver.cliVersion();
    await op.release();
    const lines = readFileSync(f.log, "utf8").trim().split("\n");
    expect(lines).toEqual([
      `start ${ownerConfig}`,
      `end ${ownerConfig}`,
      `start ${operatorConfigPath(f.stateDir)}`,
      `end ${operatorConfigPath(f.stateDir)}`,
    ]);
    expect(operatorConfigPath(f.stateDir)).toBe(join(f.stateDir, "scone-cli", "config.json"));
    expect(statSync(join(f.stateDir, "scone-cli")).mode & 0o777).toBe(0o700);
  });

  test("an existing config open to others is narrowed to 0600, its directory to 0700", async () => {
    const f = fixture();
    const dir = join(root, "loose");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "config.json"), "{}", { mode: 0o644 });
    const conn = await f.source.connect(
      { namespace: "ns", name: "cas" },
      { kind: "owner", configPath: join(dir, "config.json") },
    );
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "config.json")).mode & 0o777).toBe(0o600);
    await conn.release();
  });

  test("calls on a config that does not exist yet run one at a time (each may create it), even from two connections", async () => {
    const f = fixture();
    const a = await f.source.connect({ namespace: "ns", name: "a" }, { kind: "operator" });
    const b = await f.source.connect({ namespace: "ns", name: "b" }, { kind: "operator" });
    // cliVersion caches per driver: new drivers each time, four calls in flight at once.
    await Promise.all([a.driver.keyHash().catch(() => 0), b.driver.keyHash().catch(() => 0), a.driver.cliVersion()]);
    const lines = readFileSync(f.log, "utf8").trim().split("\n");
    expect(lines.length).toBe(6);
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]).toStartWith("start ");
      expect(lines[i + 1]).toStartWith("end ");
    }
    await a.release();
    await b.release();
  });

  test("once the config exists, calls that only read it run side by side", async () => {
    const dir = mkdtempSync(join(root, "side-"));
    const log = join(dir, "calls.log");
    const stateDir = join(dir, "state");
    const source = new LocalCasDriverSource({
      binary: [meeting],
      stateDir,
      env: { LOG: log, MEET: join(dir, "meet"), WANT: "3" },
      portForward: async () => ({
        localAddress: "127.0.0.1",
        localPort: 40000,
        activeConnections: 0,
        lastError: undefined,
        close: async () => {},
      }),
    });
    const a = await source.connect({ namespace: "ns", name: "a" }, { kind: "operator" });
    writeFileSync(operatorConfigPath(stateDir), "{}", { mode: 0o600 });
    const b = await source.connect({ namespace: "ns", name: "b" }, { kind: "operator" });
    // Each call waits until three have started: one at a time, the first would give up alone.
    await Promise.all([
      a.driver.keyHash().catch(() => 0),
      b.driver.keyHash().catch(() => 0),
      a.driver.cliVersion().catch(() => 0),
    ]);
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines.filter((l) => /^end\b/.test(l))).toHaveLength(3);
    expect(lines.filter((l) => l.includes("alone"))).toEqual([]);
    await a.release();
    await b.release();
  });
});

describe("SerializedRunner", () => {
  test("reads of an existing config run side by side; a call that writes it (cas set-default) runs alone, in turn", async () => {
    const dir = mkdtempSync(join(root, "serial-"));
    const configPath = join(dir, "config.json");
    writeFileSync(configPath, "{}", { mode: 0o600 });
    const log = join(dir, "calls.log");
    const runner = new SerializedRunner(
      new LocalCliRunner({ binary: [meeting], configPath, env: { LOG: log } }),
      configPath,
    );
    const call = (argv: string[], meet: string, want: number) =>
      runner.run(argv, { MEET: join(dir, meet), WANT: String(want) }, []);
    const key = configLockKey(configPath);
    /** Until the gate shows the calls issued so far (each checks whether the config exists before it queues). */
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 2000 && !what(); i++) await Bun.sleep(5);
      expect(what()).toBe(true);
    };
    // The first two run together and wait for a third marker, which the test makes once the write and the last read
    // are queued behind them: the write waits for both reads, the last read for the write.
    const calls = [call(["self", "show-key-hash"], "first", 3), call(["self", "show-key-hash"], "first", 3)];
    await until(() => CONFIG_LOCKS.active(key) === 2);
    calls.push(call(["cas", "set-default", "a:1"], "write", 1));
    await until(() => CONFIG_LOCKS.waiting(key) === 1);
    calls.push(call(["self", "show-key-hash"], "last", 1));
    await until(() => CONFIG_LOCKS.waiting(key) === 2);
    mkdirSync(join(dir, "first"), { recursive: true });
    writeFileSync(join(dir, "first", "test"), "");
    await Promise.all(calls);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      "start show-key-hash",
      "start show-key-hash",
      "end show-key-hash",
      "end show-key-hash",
      "start set-default",
      "end set-default",
      "start show-key-hash",
      "end show-key-hash",
    ]);
  });
});

describe("LocalCasDriverSource: attestations are per address, every connection has its own", () => {
  // Records each call's arguments; `cas attest` and the rest succeed, `cas show-identification` prints a key.
  const argvScript = join(root, "argv-cli.sh");
  writeFileSync(
    argvScript,
    '#!/bin/sh\necho "$*" >> "$LOG"\ncase "$*" in *show-identification*) echo "46YyxrywJ8PFRruWX8YLxa9q4axxYJgTbA81tv7NBcJfn43DQt";; esac\n',
  );
  chmodSync(argvScript, 0o755);
  const HASH = "3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1";

  function attesting(keyHash: string | undefined) {
    const log = join(mkdtempSync(join(root, "argv-")), "calls.log");
    writeFileSync(log, "");
    let port = 41000;
    const asked: string[] = [];
    const source = new LocalCasDriverSource({
      binary: [argvScript],
      stateDir: join(root, "argv-state"),
      env: { LOG: log },
      casKeyHash: async (cas) => {
        asked.push(`${cas.namespace}/${cas.name}`);
        return keyHash;
      },
      portForward: async () => ({
        localAddress: "127.0.0.1",
        localPort: ++port,
        activeConnections: 0,
        lastError: undefined,
        close: async () => undefined,
      }),
    });
    const calls = () => readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
    return { source, calls, asked };
  }

  test("an identity with a config attests the CAS at each new forward address, pinned to the console's key hash", async () => {
    const f = attesting(HASH);
    const dir = mkdtempSync(join(root, "owner-"));
    const owner = { kind: "owner" as const, configPath: join(dir, "config.json") };
    writeFileSync(owner.configPath, "{}", { mode: 0o600 });
    const first = await f.source.connect({ namespace: "ns", name: "cas" }, owner);
    await first.release();
    const second = await f.source.connect({ namespace: "ns", name: "cas" }, owner);
    expect([first.address, second.address]).toEqual(["127.0.0.1:41001", "127.0.0.1:41002"]);
    const attests = f.calls().filter((c) => c.startsWith("cas attest "));
    expect(attests.map((c) => c.split(" ").slice(0, 5).join(" "))).toEqual([
      `cas attest 127.0.0.1:41001 -c ${HASH}`,
      `cas attest 127.0.0.1:41002 -c ${HASH}`,
    ]);
    expect(f.asked).toEqual(["ns/cas", "ns/cas"]);
    await second.release();
  });

  test("no config yet (nothing attested) or no key hash on the console: no attestation", async () => {
    const f = attesting(HASH);
    const fresh = { kind: "owner" as const, configPath: join(mkdtempSync(join(root, "fresh-")), "config.json") };
    await (await f.source.connect({ namespace: "ns", name: "cas" }, fresh)).release();
    expect(f.calls()).toEqual([]);
    const g = attesting(undefined);
    const dir = mkdtempSync(join(root, "owner-"));
    writeFileSync(join(dir, "config.json"), "{}", { mode: 0o600 });
    await (
      await g.source.connect({ namespace: "ns", name: "cas" }, { kind: "owner", configPath: join(dir, "config.json") })
    ).release();
    expect(g.calls()).toEqual([]);
  });
});
