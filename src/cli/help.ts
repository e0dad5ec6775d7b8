// `--help` text, rendered from the command tree. scone renders its own rather than citty's: citty colours
// help even when piped and drops the root name in nested commands. Colour only on a terminal without NO_COLOR.
import { GLOBAL_ARGS } from "./globals.ts";
import type { SconeArgDef, SconeCommand } from "./spec.ts";

export interface HelpStyle {
  color: boolean;
}

/** Colour only when the stream is a terminal, NO_COLOR is unset and TERM is not dumb. */
export function helpColour(isTTY: boolean | undefined, env: Record<string, string | undefined>): boolean {
  return isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb";
}

function isGlobal(key: string, def: SconeArgDef): boolean {
  return (GLOBAL_ARGS as Record<string, SconeArgDef>)[key] === def;
}

function flagLabel(key: string, def: SconeArgDef): string {
  const aliases = def.type === "positional" || !("alias" in def) || def.alias === undefined ? [] : [def.alias].flat();
  const short = aliases.find((a) => a.length === 1);
  const longAliases = aliases.filter((a) => a.length > 1);
  const negated = def.type === "boolean" && def.default === true;
  const names = [key, ...longAliases].map((n) => `--${negated ? "no-" : ""}${n}`).join(", ");
  const value =
    def.type === "enum" && def.options
      ? ` ${def.options.join("|")}`
      : def.type === "string"
        ? ` ${def.valueHint ?? key.toUpperCase()}`
        : "";
  return `${short && !negated ? `-${short}, ` : "    "}${names}${value}`;
}

function flagDescription(def: SconeArgDef): string {
  const negated = def.type === "boolean" && def.default === true;
  const text = (negated && "negativeDescription" in def ? def.negativeDescription : undefined) ?? def.description ?? "";
  const shownDefault =
    !negated && def.default !== undefined && def.type !== "boolean" ? ` (default: ${def.default})` : "";
  const required = def.type !== "positional" && def.required ? " (required)" : "";
  const upstream = def.upstream ? ("note" in def.upstream ? " (ignored)" : " (not supported)") : "";
  return `${text}${shownDefault}${required}${upstream}`;
}

function columnWidth(rows: [string, string][]): number {
  return Math.min(36, Math.max(0, ...rows.map(([l]) => l.length)));
}

function columns(rows: [string, string][], width = columnWidth(rows)): string[] {
  return rows.map(([left, right]) =>
    left.length > width ? `  ${left}\n  ${" ".repeat(width)}  ${right}` : `  ${left.padEnd(width)}  ${right}`,
  );
}

/** Greedy word wrap; a word longer than the width stays whole. */
export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

export function renderHelp(
  cmd: SconeCommand,
  path: readonly string[],
  style: HelpStyle,
  programName = "scone",
): string {
  const heading = (s: string) => (style.color ? `\u001b[1m${s}\u001b[22m` : s);
  const fullName = [programName, ...path].join(" ");
  const entries = Object.entries(cmd.args ?? {}).filter(([, def]) => !def.hidden);
  const positionals = entries.filter(([, def]) => def.type === "positional");
  const own = entries.filter(([key, def]) => def.type !== "positional" && !isGlobal(key, def) && !def.upstream);
  const upstream = entries.filter(([, def]) => def.type !== "positional" && def.upstream);
  const globals = entries.filter(([key, def]) => def.type !== "positional" && isGlobal(key, def));
  const subs = Object.entries(cmd.subCommands ?? {}).filter(([, sub]) => !sub.meta.hidden);

  const usage: string[] = [];
  const posText = positionals
    .map(([key, def]) => {
      const name = def.valueHint ?? key.toUpperCase();
      return def.required === false || def.default !== undefined ? `[${name}]` : name;
    })
    .join(" ");
  if (cmd.run)
    usage.push(`${fullName}${posText ? ` ${posText}` : ""}${entries.length > positionals.length ? " [flags]" : ""}`);
  if (subs.length > 0) usage.push(`${fullName} <command> [flags]`);

  const out: string[] = [cmd.meta.description, "", heading("Usage:"), ...usage.map((u) => `  ${u}`)];
  if (positionals.length > 0) {
    out.push("", heading("Arguments:"));
    out.push(...columns(positionals.map(([key, def]) => [def.valueHint ?? key.toUpperCase(), flagDescription(def)])));
  }
  if (subs.length > 0) {
    out.push("", heading("Commands:"));
    out.push(...columns(subs.map(([name, sub]) => [name, sub.meta.description])));
  }
  const rowsOf = (defs: [string, SconeArgDef][]): [string, string][] =>
    defs.map(([key, def]) => [flagLabel(key, def), flagDescription(def)]);
  const helpRow: [string, string] = ["-h, --help", "Show this help"];
  const sections: [string, [string, string][]][] = [
    ["Flags:", rowsOf(own)],
    ["Upstream compatibility flags:", rowsOf(upstream)],
    ["Global flags:", [...rowsOf(globals), helpRow]],
  ];
  const width = columnWidth(sections.flatMap(([, rows]) => rows));
  for (const [title, rows] of sections) {
    if (rows.length === 0) continue;
    out.push("", heading(title), ...columns(rows, width));
  }
  if (cmd.notes && cmd.notes.length > 0) {
    out.push("", heading("Notes:"));
    for (const note of cmd.notes) out.push(...wrap(note, 100, "  "));
  }
  if (subs.length > 0) out.push("", `Run '${fullName} <command> --help' for more information on a command.`);
  return `${out.join("\n")}\n`;
}
