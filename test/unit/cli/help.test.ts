import { describe, expect, test } from "bun:test";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { helpColour, renderHelp, wrap } from "../../../src/cli/help.ts";
import { resolveCommand } from "../../../src/cli/validate.ts";

function helpOf(argv: string[], color = false): string {
  const { command, path } = resolveCommand(rootCommand, argv);
  return renderHelp(command, path, { color });
}

describe("help", () => {
  test("nested help names the full command and lists arguments, flags, upstream flags and globals", () => {
    const text = helpOf(["cas", "provision"]);
    expect(text).toContain("  scone cas provision NAME [flags]");
    expect(text).toContain("  -d, --dcap-api KEY");
    expect(text).toContain("--no-backup");
    expect(helpOf(["operator", "install"])).toContain("Upstream compatibility flags:");
    expect(text).toMatch(
      /--no-docker +Use the local SCONE CLI \(\/opt\/scone\/bin\/rust-cli, or scone on PATH\) instead of the sconecli pod/,
    );
    expect(text).toContain("  -o, --output text|json");
    expect(text).toContain("upstream's `-o`");
  });

  test("groups list their commands; commands with both show both usages", () => {
    const text = helpOf(["operator"]);
    expect(text).toContain("  scone operator [flags]");
    expect(text).toContain("  scone operator <command> [flags]");
    expect(text).toMatch(/ {2}install +Install or reconcile/);
    expect(text).toContain("--metrics-port PORT");
    expect(text).toContain("(default: 8080)");
  });

  test("no colour unless asked; colour only on a terminal without NO_COLOR", () => {
    expect(helpOf(["cas"])).not.toContain("\u001b[");
    expect(helpOf(["cas"], true)).toContain("\u001b[1m");
    expect(helpColour(true, {})).toBe(true);
    expect(helpColour(false, {})).toBe(false);
    expect(helpColour(undefined, {})).toBe(false);
    expect(helpColour(true, { NO_COLOR: "" })).toBe(false);
    expect(helpColour(true, { TERM: "dumb" })).toBe(false);
  });

  test("wrap keeps lines within the width", () => {
    const lines = wrap("a ".repeat(80), 20, "  ");
    expect(lines.every((l) => l.length <= 20)).toBe(true);
    expect(lines.join(" ").replace(/\s+/g, "")).toBe("a".repeat(80));
  });
});
