// A reader that closes the pipe (`scone manifests crds | head -1`) ends scone quietly with exit 0, whether the output
// goes through process.stdout (a command's implementation) or console.write (version, help): see src/cli/stdout.ts.
// The pipe is a FIFO whose read end is closed before scone starts, so every write meets EPIPE (no race with a reader).
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, constants, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../../..");
const dir = mkdtempSync(join(tmpdir(), "scone-epipe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runIntoClosedPipe(args: string[]): { code: number | null; stderr: string } {
  const fifo = join(dir, `fifo-${args.join("-")}`);
  const made = Bun.spawnSync(["mkfifo", fifo]);
  if (made.exitCode !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  // Opening the read end without blocking first lets the write end open; closing it leaves a pipe without reader.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader);
  try {
    const r = Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), ...args], {
      stdout: writer,
      stderr: "pipe",
      env: { ...process.env, NO_COLOR: "1" },
    });
    return { code: r.exitCode, stderr: r.stderr.toString() };
  } finally {
    closeSync(writer);
  }
}

describe("stdout closed by its reader", () => {
  for (const args of [["manifests", "crds"], ["version"], ["version", "-o", "json"], ["--help"], ["--version"]]) {
    test(`scone ${args.join(" ")} exits 0 without an error`, () => {
      const r = runIntoClosedPipe(args);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    });
  }
});
