// The command line's conventions (issue 15), checked on every command the tree holds — walked, not listed — so a
// new command cannot break them: --timeout is a duration, -o is text|json|yaml wherever data is printed, --to/--from
// name locations only, help shows no hidden or test-only flag, exit codes stay 0/1/2/3.
import { describe, expect, test } from "bun:test";
import { rootCommand } from "../../../src/cli/commands/root.ts";
import { renderHelp } from "../../../src/cli/help.ts";
import { runCli } from "../../../src/cli/main.ts";
import {
  EXIT_DIFFERS,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  type SconeArgDef,
  type SconeCommand,
} from "../../../src/cli/spec.ts";
import { validateArgs } from "../../../src/cli/validate.ts";
import { EXIT_DIFFERS as INSTALL_EXIT_DIFFERS } from "../../../src/flows/install/report.ts";

interface Node {
  path: string[];
  cmd: SconeCommand;
}

function walk(cmd: SconeCommand, path: string[] = []): Node[] {
  return [{ path, cmd }, ...Object.entries(cmd.subCommands ?? {}).flatMap(([name, sub]) => walk(sub, [...path, name]))];
}

const nodes = walk(rootCommand);
const flags = (cmd: SconeCommand): [string, SconeArgDef][] =>
  Object.entries(cmd.args ?? {}).filter(([, def]) => def.type !== "positional");
const label = (n: Node) => ["scone", ...n.path].join(" ");
const help = (n: Node) => renderHelp(n.cmd, n.path, { color: false });
/** A flag's value as the flag's own check sees it (the same check `validateArgs` runs). */
const verdict = (def: SconeArgDef, value: string) => {
  const problem = def.check?.(value);
  return problem === undefined ? { ok: true as const } : { ok: false as const, message: problem };
};

describe("CLI conventions, on every command of the tree", () => {
  test("the walk reaches the commands (a broken walk would check nothing)", () => {
    const names = nodes.map(label);
    for (const known of ["scone cas upgrade", "scone operator install", "scone api token create", "scone version"]) {
      expect(names).toContain(known);
    }
  });

  test("every duration flag (--timeout, DURATION) takes 90s, 5m, 1h30m, 500ms and bare seconds, and refuses others naming the flag", () => {
    const durationFlags = nodes.flatMap((n) =>
      flags(n.cmd)
        .filter(([name, def]) => name === "timeout" || def.valueHint === "DURATION")
        .map(([name, def]) => ({ n, name, def })),
    );
    expect(durationFlags.length).toBeGreaterThan(5);
    for (const { n, name, def } of durationFlags) {
      const where = `${label(n)} --${name}`;
      expect({ where, hint: def.valueHint }).toEqual({ where, hint: "DURATION" });
      for (const good of ["90s", "5m", "1h30m", "500ms", "600"]) {
        expect({ where, good, ok: verdict(def, good).ok }).toEqual({ where, good, ok: true });
      }
      for (const bad of ["5 minutes", "-5", "0", "1x"]) {
        const v = verdict(def, bad);
        expect({ where, bad, ok: v.ok }).toEqual({ where, bad, ok: false });
        if (!v.ok) expect(v.message).toContain(`--${name}`);
      }
    }
  });

  test("every command that runs either takes -o text|json|yaml or says why it prints no data", () => {
    for (const n of nodes.filter((x) => x.cmd.run)) {
      const output = n.cmd.args?.output;
      const where = label(n);
      if (n.cmd.printsNoData !== undefined) {
        expect({ where, output }).toEqual({ where, output: undefined });
        continue;
      }
      expect({ where, type: output?.type, alias: output && "alias" in output ? output.alias : undefined }).toEqual({
        where,
        type: "enum",
        alias: "o",
      });
      const options = output && "options" in output ? [...(output.options ?? [])].sort() : [];
      expect({ where, options }).toEqual({ where, options: ["json", "text", "yaml"] });
      expect(help(n)).toMatch(/-o, --output <?text\|json\|yaml/);
    }
  });

  test("-o is --output everywhere, and --to/--from name locations (never versions or times)", () => {
    for (const n of nodes) {
      for (const [name, def] of flags(n.cmd)) {
        const where = `${label(n)} --${name}`;
        const aliases = "alias" in def && def.alias !== undefined ? [def.alias].flat() : [];
        if (aliases.includes("o")) expect(where).toEndWith("--output");
        if (name === "to" || name === "from" || aliases.includes("to") || aliases.includes("from")) {
          // A location: a directory or backup, a file (an image archive), or a registry (image push/mirror target).
          expect({ where, hint: def.valueHint }).toEqual({
            where,
            hint: expect.stringMatching(/^(?:.*DIR.*|.*BACKUP.*|FILE|REGISTRY(?:\[\/PATH\])?)$/),
          });
        }
        if (def.valueHint === "VERSION") expect(where).toMatch(/version|upgrade/);
      }
    }
  });

  test("help shows no hidden flag and no flag meant for tests", () => {
    for (const n of nodes) {
      const text = help(n);
      for (const [name, def] of flags(n.cmd)) {
        if (def.hidden)
          expect({ where: label(n), shown: text.includes(`--${name}`) }).toEqual({ where: label(n), shown: false });
      }
      const visible = flags(n.cmd).filter(([, def]) => !def.hidden);
      for (const [name, def] of visible) {
        const described = `${def.description ?? ""} ${"negativeDescription" in def ? (def.negativeDescription ?? "") : ""}`;
        expect({ flag: `${label(n)} --${name}`, described }).not.toEqual({
          flag: `${label(n)} --${name}`,
          described: expect.stringMatching(/\b(tests?|testing|test-only)\b/i),
        });
      }
    }
  });

  test("exit codes: 0 ok, 1 failure, 2 usage, 3 differs", async () => {
    expect([EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_DIFFERS]).toEqual([0, 1, 2, 3]);
    expect(INSTALL_EXIT_DIFFERS).toBe(EXIT_DIFFERS);
    expect(help({ path: [], cmd: rootCommand })).toContain("Exit codes: 0 ok, 1 failure, 2 usage");
    const io = { stdout: () => {}, stderr: () => {}, env: {}, stdoutIsTTY: false };
    expect(await runCli(["version", "--timeout", "5m"], io)).toBe(EXIT_USAGE);
    expect(await runCli(["cas", "upgrade", "x", "--to", "6.0.7"], io)).toBe(EXIT_USAGE);
  });

  test("renamed flags are refused naming the new spelling", () => {
    const upgrade = nodes.find((n) => label(n) === "scone cas upgrade")?.cmd as SconeCommand;
    const refused = validateArgs(upgrade, ["x", "--to", "6.0.7"]);
    expect(refused).toEqual({ ok: false, message: "--to is now --to-version here: use --to-version" });
    const audit = nodes.find((n) => label(n) === "scone cas audit")?.cmd as SconeCommand;
    expect(validateArgs(audit, ["--from", "2026-01-01T00:00:00Z"])).toEqual({
      ok: false,
      message: "--from is now --since here: use --since",
    });
  });
});
