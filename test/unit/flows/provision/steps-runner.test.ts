// The resumable-steps runner (src/flows/steps.ts) and the provision options: a step whose effect is observed is
// skipped even when the journal never heard of it; the journal keeps every run and shows a step a run died in.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { provisionOptionsFromFlags } from "../../../../src/flows/provision/options.ts";
import { countOutcomes, Journal, readJournal, runSteps, type Step } from "../../../../src/flows/steps.ts";

interface World {
  effects: string[];
}

const effect = (name: string, fail = false): Step<World> => ({
  name,
  title: `Make ${name}`,
  done: async (w) => (w.effects.includes(name) ? `${name} is there` : false),
  run: async (w) => {
    if (fail) throw new Error(`${name} broke`);
    w.effects.push(name);
    return `made ${name}`;
  },
});

describe("runSteps", () => {
  test("skips what is observed, runs the rest in order, stops at the first failure", async () => {
    const world: World = { effects: ["a"] };
    const result = await runSteps([effect("a"), effect("b"), effect("c", true), effect("d")], world);
    expect(result.ok).toBe(false);
    expect((result.error as Error).message).toBe("c broke");
    expect(result.steps.map((s) => [s.name, s.outcome, s.detail])).toEqual([
      ["a", "skipped", "a is there"],
      ["b", "done", "made b"],
      ["c", "failed", "c broke"],
    ]);
    expect(world.effects).toEqual(["a", "b"]);
  });

  test("the journal does not decide: an effect that happened without a journal entry is skipped", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "scone-steps-")), "j", "journal.json");
    const world: World = { effects: [] };
    const journal = await Journal.open(path, "demo");
    await runSteps([effect("a")], world, { journal });
    world.effects.push("b"); // took effect, then the process died before writing the journal
    const again = await runSteps([effect("a"), effect("b"), effect("c")], world, {
      journal: await Journal.open(path, "demo"),
    });
    expect(again.steps.map((s) => s.outcome)).toEqual(["skipped", "skipped", "done"]);
    const doc = await readJournal(path);
    expect(doc?.entries.map((e) => `${e.name}:${e.outcome}`)).toEqual(["a:done", "a:skipped", "b:skipped", "c:done"]);
    expect(countOutcomes(doc as NonNullable<typeof doc>, "done")).toEqual({ a: 1, c: 1 });
    expect((statSync(path).mode & 0o777).toString(8)).toBe("600");
  });

  test("a run that dies inside a step leaves an open entry; the next run closes it with what it saw", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "scone-steps-")), "journal.json");
    const journal = await Journal.open(path, "demo");
    await journal.begin("a", new Date("2026-01-01T00:00:00Z"));
    expect((await readJournal(path))?.entries).toEqual([{ name: "a", startedAt: "2026-01-01T00:00:00.000Z" }]);
    const world: World = { effects: [] };
    await runSteps([effect("a")], world, { journal: await Journal.open(path, "demo") });
    const entries = (await readJournal(path))?.entries ?? [];
    expect(entries.map((e) => e.outcome)).toEqual([undefined, "done"]);
  });

  test("progress hears start and finish of every step", async () => {
    const heard: string[] = [];
    await runSteps([effect("a"), effect("b")], { effects: ["b"] } as World, {
      progress: { start: (s) => heard.push(`start ${s.name}`), finish: (r) => heard.push(`${r.outcome} ${r.name}`) },
    });
    expect(heard).toEqual(["start a", "done a", "start b", "skipped b"]);
  });
});

describe("provision options", () => {
  const home = "/home/u";
  test("defaults as upstream: namespace default, target ~/.cas, version of this release, backup on", () => {
    const o = provisionOptionsFromFlags({ name: "cas" }, { home });
    expect(o).toMatchObject({
      name: "cas",
      namespace: "default",
      target: "/home/u/.cas",
      mode: "provision",
      backup: true,
    });
    expect(o.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("modes, ports and paths", () => {
    const o = provisionOptionsFromFlags(
      { name: "cas", "preprovision-only": true, "cas-client-port": "9000", target: "~/x", "owner-config": "o.toml" },
      { home },
    );
    expect(o).toMatchObject({ mode: "preprovision-only", casClientPort: 9000, target: "/home/u/x" });
    expect(o.ownerConfigFile).toEndWith("/o.toml");
  });

  test("bad input names the flag and the fix", () => {
    expect(() => provisionOptionsFromFlags({ name: "cas", wait: true, backup: false })).toThrow(
      /--wait cannot be used with --no-backup/,
    );
    expect(() => provisionOptionsFromFlags({ name: "cas", verify: true, "is-provisioned": true })).toThrow(
      "--is-provisioned and --verify cannot be used together",
    );
    expect(() => provisionOptionsFromFlags({ name: "cas", "owner-config": "https://x/o.toml" })).toThrow(
      /local files only.*curl/,
    );
    expect(() => provisionOptionsFromFlags({ name: "cas", "manifests-dir": "https://x" })).toThrow(
      /does not download manifests.*local directory/,
    );
    expect(() => provisionOptionsFromFlags({ name: "cas", nonce: "xyz" })).toThrow(/--nonce: expected exactly 32/);
  });
});
