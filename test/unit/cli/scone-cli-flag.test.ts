// `--scone-cli PATH` (issue 13): accepted where a command reaches CAS through casDriverSource(), checked before use
// (an existing executable file, naming the flag), and refused as unknown everywhere else.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative as relative_ } from "node:path";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { resolveCommand, validateArgs } from "../../../src/cli/validate.ts";

const dir = mkdtempSync(join(tmpdir(), "scone-cli-flag-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function verdict(argv: string[]) {
  const { command, rest } = resolveCommand(rootCommand, argv);
  return validateArgs(command, rest);
}

describe("--scone-cli", () => {
  test("scone operator takes an existing executable, absolute or relative", () => {
    expect(verdict(["operator", "--scone-cli", "/bin/sh"]).ok).toBe(true);
    const exe = join(dir, "scone");
    writeFileSync(exe, "#!/bin/sh\n", { mode: 0o755 });
    const relative = relative_(process.cwd(), exe);
    expect(relative).not.toStartWith("/");
    expect(verdict(["operator", `--scone-cli=${relative}`]).ok).toBe(true);
  });

  test("a missing file, a directory or an empty value is refused naming the flag", () => {
    const missing = verdict(["operator", "--scone-cli", join(dir, "nope")]);
    expect(missing).toMatchObject({ ok: false });
    expect(!missing.ok && missing.message).toMatch(/for --scone-cli: no such file/);
    const directory = verdict(["operator", "--scone-cli", dir]);
    expect(!directory.ok && directory.message).toMatch(/for --scone-cli: not a regular file/);
    const empty = verdict(["operator", "--scone-cli="]);
    expect(empty.ok).toBe(false);
  });

  test("scone cas audit takes it: the SCONE CLI verifies the audit log", () => {
    expect(verdict(["cas", "audit", "cas", "-n", "ns", "--scone-cli", "/bin/sh"]).ok).toBe(true);
  });

  test("commands that do not reach CAS through a driver source refuse it as unknown", () => {
    const r = verdict(["images", "--scone-cli", "/bin/sh"]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/scone-cli/);
  });
});
