import { describe, expect, test } from "bun:test";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { durationSeconds, parseDuration } from "../../../src/cli/duration.ts";
import { resolveCommand, validateArgs } from "../../../src/cli/validate.ts";
import { installOptionsFromFlags } from "../../../src/flows/install/options.ts";

describe("parseDuration", () => {
  test("Go-style durations, days, and a bare number meaning seconds", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseDuration("30d")).toBe(2_592_000_000);
    expect(parseDuration("600")).toBe(600_000);
    expect(durationSeconds("1500ms")).toBe(2);
  });
  test("refuses everything else", () => {
    for (const bad of [
      "",
      "0",
      "0s",
      "-5",
      "5 m",
      "5M",
      "m",
      "1h-30m",
      "soon",
      "1e3",
      "5m ",
      "1.s",
      "99999999999999999d",
    ]) {
      expect(parseDuration(bad)).toBeUndefined();
    }
  });
});

describe("--timeout takes a duration wherever it appears", () => {
  const verdict = (argv: string[]) => {
    const { command, rest } = resolveCommand(rootCommand, argv);
    return validateArgs(command, rest);
  };
  const commands = [
    ["operator", "install"],
    ["operator", "uninstall"],
    ["cas", "provision", "x"],
    ["cas", "upgrade", "x", "--to-version", "6.0.7"],
    ["cas", "restore", "x", "--from", "b1"],
    ["cas", "evict", "x"],
  ];
  for (const cmd of commands) {
    test(cmd.join(" "), () => {
      for (const good of ["90s", "5m", "1h30m", "600"]) expect(verdict([...cmd, "--timeout", good]).ok).toBe(true);
      const bad = verdict([...cmd, "--timeout", "5 minutes"]);
      expect(bad.ok).toBe(false);
      if (!bad.ok)
        expect(bad.message).toBe(
          "invalid value '5 minutes' for --timeout: expected a duration such as 90s, 5m, 1h30m or 500ms (a bare number means seconds)",
        );
    });
  }
  test("operator install reads it as seconds for its waits", () => {
    expect(installOptionsFromFlags({ timeout: "2m" }).timeoutSeconds).toBe(120);
    expect(installOptionsFromFlags({ timeout: "7" }).timeoutSeconds).toBe(7);
    expect(() => installOptionsFromFlags({ timeout: "7x" })).toThrow("--timeout");
  });
});
