import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BackupInputError } from "../../../src/backup/errors.ts";
import { LocalDirectoryTarget } from "../../../src/backup/local-target.ts";
import { removeSet } from "../../../src/backup/target.ts";
import { cleanup, tempDir } from "../../harness/backup-fixtures.ts";

afterEach(cleanup);

const bytes = (text: string) => new TextEncoder().encode(text);

describe("local directory target", () => {
  test("writes files 0600 in 0700 directories, with no temp file left behind", async () => {
    const root = join(tempDir(), "backups");
    const target = new LocalDirectoryTarget(root);
    await target.put("prod/cas/bk-1/cas.db", bytes("db"));
    await target.put("prod/cas/bk-1/cas.db", bytes("db v2"));
    const file = join(root, "prod", "cas", "bk-1", "cas.db");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    for (const dir of [root, join(root, "prod"), join(root, "prod", "cas"), join(root, "prod", "cas", "bk-1")]) {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
    expect(readdirSync(join(root, "prod", "cas", "bk-1"))).toEqual(["cas.db"]);
    expect(new TextDecoder().decode((await target.get("prod/cas/bk-1/cas.db")) ?? new Uint8Array())).toBe("db v2");
    expect(target.locationOf("prod/cas/bk-1")).toBe(join(root, "prod", "cas", "bk-1"));
  });

  test("get of an absent file is null; list is recursive, sorted and skips writes in progress", async () => {
    const root = tempDir();
    const target = new LocalDirectoryTarget(root);
    expect(await target.get("nothing/here")).toBeNull();
    expect(await target.list("nothing")).toEqual([]);
    await target.put("ns/a/2/x", bytes("1"));
    await target.put("ns/a/1/y", bytes("1"));
    await target.put("ns/ab/1/z", bytes("1"));
    await Bun.write(join(root, "ns", "a", "1", ".cas.db.tmp-0123abcd"), "half");
    expect(await target.list("ns/a")).toEqual(["ns/a/1/y", "ns/a/2/x"]);
    expect(await target.list("")).toEqual(["ns/a/1/y", "ns/a/2/x", "ns/ab/1/z"]);
  });

  test("removing a set takes the manifest, the files and the emptied directories, not the root", async () => {
    const root = tempDir();
    const target = new LocalDirectoryTarget(root);
    for (const name of ["cas.db", "cas.key-store", "backup.json"]) await target.put(`ns/cas/bk-1/${name}`, bytes(name));
    await target.put("ns/cas/bk-2/cas.db", bytes("other"));
    await removeSet(target, "ns/cas/bk-1");
    expect(existsSync(join(root, "ns", "cas", "bk-1"))).toBe(false);
    expect(await target.list("")).toEqual(["ns/cas/bk-2/cas.db"]);
    await target.delete("ns/cas/bk-2/cas.db");
    expect(readdirSync(root)).toEqual([]);
  });

  test("keys cannot climb out of the root", async () => {
    const target = new LocalDirectoryTarget(tempDir());
    await expect(target.put("../escape", bytes("x"))).rejects.toBeInstanceOf(BackupInputError);
    expect(() => target.locationOf("a/../../b")).toThrow('backup key "a/../../b" has a "." or ".." segment; refused');
  });
});
