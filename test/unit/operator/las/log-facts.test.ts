import { describe, expect, test } from "bun:test";
import { LasLogFactsCache, parseQePublicKey } from "../../../../src/operator/las/log-facts.ts";

const KEY = "0123456789ABCDEF".repeat(4);
const LINE = `[2026-11-23 10:00:00] STARTER: SCONE QE has public key ${KEY}`;

test("parseQePublicKey reads the key (lower case) from the LAS log line; the last one wins", () => {
  expect(parseQePublicKey(`boot\n${LINE}\nready`)).toBe(KEY.toLowerCase());
  expect(parseQePublicKey(`${LINE}\nSCONE QE has public key ${"f".repeat(64)}`)).toBe("f".repeat(64));
  expect(parseQePublicKey("SCONE QE has public key 1234")).toBeUndefined();
  expect(parseQePublicKey("")).toBeUndefined();
});

describe("LasLogFactsCache", () => {
  const pod = (uid: string) => ({ uid, namespace: "ns", name: `las-${uid}` });
  function cache(logs: Record<string, string | Error>) {
    let now = 1_000_000;
    const reads: string[] = [];
    const c = new LasLogFactsCache(
      {
        read: async (p) => {
          reads.push(p.name);
          const v = logs[p.name];
          if (v instanceof Error) throw v;
          return v ?? "";
        },
      },
      { retryMs: 60_000, now: () => now },
    );
    return { c, reads, tick: (ms: number) => (now += ms) };
  }

  test("a key once found is kept: the log is not read again", async () => {
    const { c, reads } = cache({ "las-a": LINE });
    await c.refresh([pod("a")]);
    await c.refresh([pod("a")]);
    expect(c.get("a")).toEqual({ publicKey: KEY.toLowerCase(), computedAt: 1000 });
    expect(reads).toEqual(["las-a"]);
    expect(c.missingKeys(["a"])).toBe(false);
  });

  test("no key yet: read again only after the retry interval; facts change only when the answer does", async () => {
    const logs: Record<string, string> = { "las-a": "starting" };
    const { c, reads, tick } = cache(logs);
    await c.refresh([pod("a")]);
    expect(c.get("a")).toEqual({ computedAt: 1000 });
    await c.refresh([pod("a")]);
    expect(reads.length).toBe(1);
    tick(60_000);
    await c.refresh([pod("a")]);
    expect(reads.length).toBe(2);
    expect(c.get("a")).toEqual({ computedAt: 1000 });
    logs["las-a"] = LINE;
    tick(60_000);
    await c.refresh([pod("a")]);
    expect(c.get("a")).toEqual({ publicKey: KEY.toLowerCase(), computedAt: 1120 });
  });

  test("an unreadable log leaves no facts and does not throw; gone pods are forgotten", async () => {
    const { c } = cache({ "las-a": new Error("forbidden"), "las-b": LINE });
    await c.refresh([pod("a"), pod("b")]);
    expect(c.get("a")).toBeUndefined();
    expect(c.missingKeys(["a", "b"])).toBe(true);
    await c.refresh([pod("a")]);
    expect(c.get("b")).toBeUndefined();
  });
});
