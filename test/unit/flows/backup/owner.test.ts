import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ownerFile, ownerIsGone, pidIsGone } from "../../../../src/flows/backup/owner.ts";

describe("backup owner file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scone-owner-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test("pidIsGone: ESRCH means gone; EPERM (someone else's live process) does not", () => {
    const fail = (code: string) => () => {
      throw Object.assign(new Error(code), { code });
    };
    expect(pidIsGone(123, fail("ESRCH"))).toBe(true);
    expect(pidIsGone(123, fail("EPERM"))).toBe(false);
    expect(pidIsGone(123, () => {})).toBe(false);
    expect(pidIsGone(0, fail("ESRCH"))).toBe(false);
  });

  test("a claim writes this pid and its release removes it; a dead owner is seen as gone", async () => {
    const owner = ownerFile(dir, { namespace: "prod", name: "cas" });
    const release = await owner.claim();
    expect((await readFile(owner.path, "utf8")).trim()).toBe(String(process.pid));
    expect(await ownerIsGone(owner)).toBe(false);
    await release();
    expect(await ownerIsGone(owner)).toBe(false);
    // A pid that no process has (a SIGKILLed backup's).
    const dead = Bun.spawnSync(["true"]).pid;
    await writeFile(owner.path, `${dead}\n`);
    expect(await ownerIsGone(owner)).toBe(true);
  });
});
