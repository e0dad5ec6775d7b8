import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConfigChangedError,
  changesConfig,
  KeyedGate,
  KeyedMutex,
  writeBackConfig,
} from "../../../../src/cas/driver/config-sync.ts";

const root = mkdtempSync(join(tmpdir(), "scone-config-sync-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bytes = (s: string) => new TextEncoder().encode(s);

describe("changesConfig", () => {
  test("attest, provision and set-default change the config; reads do not; a missing config is always created", () => {
    expect(changesConfig(["cas", "attest", "cas.ns:8081", "--only_for_testing-trust-any"], true)).toBe(true);
    expect(changesConfig(["cas", "provision", "a:1", "-c", "h", "with-attestation"], true)).toBe(true);
    expect(changesConfig(["cas", "set-default", "a:1"], true)).toBe(true);
    expect(changesConfig(["session", "read", "provisioned"], true)).toBe(false);
    expect(changesConfig(["self", "show-key-hash"], true)).toBe(false);
    expect(changesConfig(["self", "show-key-hash"], false)).toBe(true);
  });
});

describe("writeBackConfig", () => {
  test("writes the new config atomically as 0600 in a 0700 directory, leaving no temporary file", async () => {
    const dir = join(root, "a", "identity");
    const path = join(dir, "config.json");
    await writeBackConfig(path, undefined, bytes('{"identity":"x"}'));
    expect(readFileSync(path, "utf8")).toBe('{"identity":"x"}');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await writeBackConfig(path, bytes('{"identity":"x"}'), bytes('{"identity":"x","cas_db":{}}'));
    expect(readFileSync(path, "utf8")).toBe('{"identity":"x","cas_db":{}}');
    expect(readdirSync(dir)).toEqual(["config.json"]);
  });

  test("a config changed meanwhile (or created meanwhile) is not overwritten", async () => {
    const path = join(root, "b", "config.json");
    await writeBackConfig(path, undefined, bytes("one"));
    writeFileSync(path, "changed by kubectl provision");
    await expect(writeBackConfig(path, bytes("one"), bytes("two"))).rejects.toBeInstanceOf(ConfigChangedError);
    expect(readFileSync(path, "utf8")).toBe("changed by kubectl provision");
    await expect(writeBackConfig(path, undefined, bytes("two"))).rejects.toThrow(/changed by another program/);
  });
});

describe("KeyedMutex", () => {
  test("tasks of one key run in turn, a failing task does not block the next, other keys run alongside", async () => {
    const m = new KeyedMutex();
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = m.run("k", async () => {
      events.push("first start");
      await gate;
      events.push("first end");
      throw new Error("boom");
    });
    const second = m.run("k", async () => {
      events.push("second");
      return 2;
    });
    const other = m.run("other", async () => {
      events.push("other");
      return 3;
    });
    expect(await other).toBe(3);
    expect(events).toEqual(["first start", "other"]);
    release();
    await expect(first).rejects.toThrow("boom");
    expect(await second).toBe(2);
    expect(events).toEqual(["first start", "other", "first end", "second"]);
  });
});

describe("KeyedGate", () => {
  /** A task that records its start and end and finishes when told. */
  function tasks() {
    const events: string[] = [];
    const releases = new Map<string, () => void>();
    const task =
      (name: string, fail = false) =>
      async () => {
        events.push(`${name}+`);
        await new Promise<void>((r) => releases.set(name, r));
        events.push(`${name}-`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      };
    const settle = async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    /** Lets started tasks reach their wait, ends `name`, and lets the gate start whatever it admits next. */
    const release = async (name: string) => {
      await settle();
      const end = releases.get(name);
      if (name !== "none" && !end) throw new Error(`task ${name} is not running`);
      end?.();
      await settle();
    };
    return { events, task, release };
  }

  test("shared tasks run side by side up to the bound; the next starts when one ends", async () => {
    const gate = new KeyedGate(2);
    const t = tasks();
    const runs = ["a", "b", "c"].map((n) => gate.runShared("k", t.task(n)));
    await t.release("none");
    expect(t.events).toEqual(["a+", "b+"]);
    expect(gate.active("k")).toBe(2);
    await t.release("b");
    expect(t.events).toEqual(["a+", "b+", "b-", "c+"]);
    await t.release("a");
    await t.release("c");
    expect(await Promise.all(runs)).toEqual(["a", "b", "c"]);
    expect(gate.active("k")).toBe(0);
  });

  test("an exclusive task waits for the shared ones before it and runs alone; later shared ones wait for it", async () => {
    const gate = new KeyedGate(8);
    const t = tasks();
    const a = gate.runShared("k", t.task("a"));
    const x = gate.run("k", t.task("x"));
    const b = gate.runShared("k", t.task("b"));
    const other = gate.runShared("other", t.task("o"));
    await t.release("none");
    // b is behind the waiting x (first come, first served); another key is not held up.
    expect(t.events).toEqual(["a+", "o+"]);
    await t.release("a");
    expect(t.events).toEqual(["a+", "o+", "a-", "x+"]);
    await t.release("x");
    expect(t.events.slice(-2)).toEqual(["x-", "b+"]);
    await t.release("b");
    await t.release("o");
    expect(await Promise.all([a, x, b, other])).toEqual(["a", "x", "b", "o"]);
  });

  test("a failing task frees its place: the others run and keep their own results", async () => {
    const gate = new KeyedGate(1);
    const t = tasks();
    const first = gate.runShared("k", t.task("a", true));
    const second = gate.runShared("k", t.task("b"));
    await t.release("a");
    await expect(first).rejects.toThrow("a failed");
    await t.release("b");
    expect(await second).toBe("b");
  });

  test("a bound below one is refused", () => {
    expect(() => new KeyedGate(0)).toThrow(/at least 1/);
  });
});
