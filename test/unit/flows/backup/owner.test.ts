import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
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

  test("a claim never writes through a link planted at its path (the pid file is created exclusively, 0600)", async () => {
    const owner = ownerFile(dir, { namespace: "planted", name: "cas" });
    const victim = join(dir, "victim");
    await writeFile(victim, "untouched\n");
    await mkdir(join(dir, "backup-owners"), { recursive: true, mode: 0o700 });
    await symlink(victim, owner.path);
    const release = await owner.claim();
    expect(await readFile(victim, "utf8")).toBe("untouched\n");
    const st = await lstat(owner.path);
    expect(st.isSymbolicLink()).toBe(false);
    expect(st.mode & 0o777).toBe(0o600);
    await release();
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
