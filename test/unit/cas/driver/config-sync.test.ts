import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConfigChangedError,
  changesConfig,
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
