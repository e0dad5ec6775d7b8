// The exec shim kwok finds first on PATH: inside a CAS pod root it maps the pod's mount paths into the root; anywhere
// else it runs the command unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SHIMS = join(import.meta.dir, "../../../../sim/kwok-cas/exec-bin");
let dir: string;
let root: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kwok-cas-shim-"));
  root = join(dir, "root");
  mkdirSync(join(dir, "snapshots", "snap-1"), { recursive: true });
  writeFileSync(join(dir, "snapshots", "snap-1", "cas.db"), "db");
  symlinkSync("snap-1", join(dir, "snapshots", "last-completed"));
  mkdirSync(join(root, "var", "mnt"), { recursive: true });
  symlinkSync(join(dir, "snapshots"), join(root, "var", "mnt", "cas-database-snapshots"));
  writeFileSync(join(root, ".kwok-cas-root"), "/etc/cas/db\n/var/mnt/cas-database-snapshots\n");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cwd: string, argv: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(argv, { cwd, env: { ...process.env, PATH: `${SHIMS}:${process.env.PATH}` } });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("kwok-cas exec shim", () => {
  test("absolute mount paths in arguments reach the pod's directories", () => {
    expect(run(root, ["cat", "/var/mnt/cas-database-snapshots/last-completed/cas.db"]).out).toBe("db");
    expect(run(root, ["readlink", "/var/mnt/cas-database-snapshots/last-completed"]).out.trim()).toBe("snap-1");
    expect(run(root, ["ls", "/var/mnt/cas-database-snapshots"]).out.split("\n").filter(Boolean).sort()).toEqual([
      "last-completed",
      "snap-1",
    ]);
    const listing = run(root, [
      "sh",
      "-c",
      "tar -C /var/mnt/cas-database-snapshots/last-completed -cf - . | tar -tf -",
    ]);
    expect(listing.out.split("\n").filter(Boolean).sort()).toEqual(["./", "./cas.db"]);
  });

  test("--opt=/mount/path is mapped too; arguments that are no mount path are not", () => {
    const tar = run(root, [
      "sh",
      "-c",
      "tar --directory=/var/mnt/cas-database-snapshots/last-completed -cf - cas.db | tar -tf -",
    ]);
    expect(tar.out.trim()).toBe("cas.db");
    expect(run(root, ["grep", "-c", "cas-database-snapshots", ".kwok-cas-root"]).out.trim()).toBe("1");
  });

  test("outside a CAS pod root the command runs unchanged", () => {
    const r = run(dir, ["ls", "/var/mnt/cas-database-snapshots"]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("/var/mnt/cas-database-snapshots");
  });
});
