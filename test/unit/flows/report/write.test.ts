// Where a bundle goes: the --file check, refusing a missing directory or an existing file (unless --force), mode
// 0600, and an archive `tar` reads back with every file under NAME-report/.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { readTar } from "../../../../src/backup/tar.ts";
import {
  archiveBytes,
  checkReportTarget,
  defaultReportFile,
  ReportPathError,
  reportFileProblem,
  writeReportFile,
} from "../../../../src/flows/report/write.ts";

const dir = mkdtempSync(join(tmpdir(), "scone-report-write-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--file", () => {
  test("takes *.tar.gz and *.tgz, refuses other names naming the flag and the fix", () => {
    expect(reportFileProblem("out/cas.tar.gz")).toBeUndefined();
    expect(reportFileProblem("cas.tgz")).toBeUndefined();
    expect(reportFileProblem("cas.zip")).toContain("--file");
    expect(reportFileProblem("cas.zip")).toContain("*.tar.gz");
    expect(reportFileProblem("out/")).toContain("name the file");
    expect(reportFileProblem("a\0.tar.gz")).toContain("--file");
  });
  test("the default name is NAME-report-UTC-TIMESTAMP.tar.gz", () => {
    expect(defaultReportFile("cas", new Date("2026-12-07T12:30:05.123Z"))).toBe("cas-report-20261207T123005Z.tar.gz");
  });
});

describe("checkReportTarget", () => {
  test("refuses a missing directory, an existing file without force, a directory", async () => {
    await expect(checkReportTarget(join(dir, "nope", "r.tar.gz"), false)).rejects.toThrow("does not exist: create it");
    const existing = join(dir, "exists.tar.gz");
    writeFileSync(existing, "old");
    await expect(checkReportTarget(existing, false)).rejects.toThrow("exists: pass --force");
    expect(await checkReportTarget(existing, true)).toBe(existing);
    mkdirSync(join(dir, "d.tar.gz"));
    await expect(checkReportTarget(join(dir, "d.tar.gz"), true)).rejects.toThrow(ReportPathError);
  });
});

describe("writeReportFile", () => {
  test("writes 0600, a tar.gz whose files sit under the top directory", async () => {
    const path = join(dir, "new.tar.gz");
    const bytes = await archiveBytes("cas-report", [
      { path: "toc.yaml", content: "files: []\n" },
      { path: "logs/prod/cas-0/cas.log", content: "hello\n" },
    ]);
    await writeReportFile(path, bytes, false);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const entries = readTar(gunzipSync(readFileSync(path)));
    expect(entries.map((e) => [e.name, new TextDecoder().decode(e.data)])).toEqual([
      ["cas-report/toc.yaml", "files: []\n"],
      ["cas-report/logs/prod/cas-0/cas.log", "hello\n"],
    ]);
    // No temp file is left beside it.
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  test("does not replace a file that appeared after the check unless forced, then replaces it 0600", async () => {
    const path = join(dir, "race.tar.gz");
    writeFileSync(path, "someone else's", { mode: 0o644 });
    await expect(writeReportFile(path, new Uint8Array([1, 2, 3]), false)).rejects.toThrow("appeared meanwhile");
    expect(readFileSync(path, "utf8")).toBe("someone else's");
    await writeReportFile(path, new Uint8Array([1, 2, 3]), true);
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
