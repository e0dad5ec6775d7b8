// Finding the command an argv names, and checking argv against that command's declared flags.
// citty accepts unknown flags silently and its messages lack the command path, so scone checks first and
// hands citty only argv that is known to be valid. Pure functions: argv in, a verdict out.

import { sconeCliProblem } from "../cas/driver/cli-path.ts";
import {
  type Grammar,
  grammarProblem,
  imagePrefix,
  imageReference,
  imageRegistry,
  registryHost,
  sconeVersion,
} from "../resources/grammar.ts";
import type { FlagValues, SconeArgDef, SconeCommand } from "./spec.ts";

/**
 * Flags that mean the same wherever a command declares them, with the grammar their value must have: these values end
 * up in image references and manifests, so every command refuses a bad one here, naming the flag, before it runs.
 */
export const FLAG_GRAMMARS: Readonly<Record<string, Grammar>> = {
  "image-registry": imageRegistry,
  "image-prefix": imagePrefix,
  "image-overwrite": imageReference,
  "operator-image": imageReference,
  registry: registryHost,
  "set-version": sconeVersion,
  upgrade: sconeVersion,
  // Checked before use: an existing executable file (relative to the working directory, or absolute).
  "scone-cli": sconeCliProblem,
};

export interface Resolved {
  /** The command reached, e.g. the `provision` command for `cas provision`. */
  command: SconeCommand;
  /** Subcommand names walked, e.g. ["cas", "provision"]. */
  path: string[];
  /** argv without the subcommand names, in order (flags before a subcommand name stay). */
  rest: string[];
}

function argEntries(cmd: SconeCommand): [string, SconeArgDef][] {
  return Object.entries(cmd.args ?? {});
}

function aliasesOf(def: SconeArgDef): string[] {
  if (def.type === "positional" || !("alias" in def) || def.alias === undefined) return [];
  return Array.isArray(def.alias) ? def.alias : [def.alias];
}

function takesValue(def: SconeArgDef): boolean {
  return def.type === "string" || def.type === "enum";
}

/** Looks a flag name (without dashes) up among the command's long names and aliases. */
function findFlag(cmd: SconeCommand, name: string): [string, SconeArgDef] | undefined {
  for (const [key, def] of argEntries(cmd)) {
    if (def.type === "positional") continue;
    if (key === name || aliasesOf(def).includes(name)) return [key, def];
  }
  return undefined;
}

/** Walks subcommand names through argv, skipping flags (and the values of flags that take one). */
export function resolveCommand(root: SconeCommand, argv: readonly string[]): Resolved {
  let command = root;
  const path: string[] = [];
  const rest: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === "--") break;
    if (token.startsWith("-") && token !== "-") {
      rest.push(token);
      const name = token.replace(/^--?/, "");
      const flag = !token.includes("=") && findFlag(command, name);
      if (flag && takesValue(flag[1]) && i + 1 < argv.length) rest.push(argv[++i] as string);
      continue;
    }
    const sub = command.subCommands?.[token];
    if (!sub) break;
    command = sub;
    path.push(token);
  }
  rest.push(...argv.slice(i));
  return { command, path, rest };
}

/** `--help`/`-h` anywhere before `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const token of argv) {
    if (token === "--") return false;
    if (token === "--help" || token === "-h") return true;
  }
  return false;
}

export interface ValidationOk {
  ok: true;
  values: FlagValues;
  positionals: string[];
  /** Notes for upstream flags that are accepted but mean nothing here. */
  notes: string[];
}
export interface ValidationError {
  ok: false;
  message: string;
  /** A refusal's own hint; otherwise the caller adds "Run '… --help' for usage." */
  hint?: string;
}
export type Validation = ValidationOk | ValidationError;

export function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The closest candidate within a small edit distance, or one the word is a prefix of. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  if (best !== undefined && bestDistance <= limit) return best;
  // A shared two-letter start makes a slightly more distant match still a useful guess (--foo → --force).
  const near = candidates.find((c) => c.slice(0, 2) === word.slice(0, 2) && levenshtein(word, c) <= 3);
  if (near) return near;
  return word.length >= 3 ? candidates.find((c) => c.startsWith(word)) : undefined;
}

/** Every spelling a user may type for the command's flags, without dashes. */
export function flagSpellings(cmd: SconeCommand): string[] {
  const out: string[] = [];
  for (const [key, def] of argEntries(cmd)) {
    if (def.type === "positional") continue;
    if (def.type === "boolean" && def.default === true) out.push(`no-${key}`);
    else out.push(key);
  }
  return out;
}

function unknownFlag(cmd: SconeCommand, token: string): ValidationError {
  const name = token.replace(/^--?/, "").split("=")[0] as string;
  const current = cmd.renamed && Object.hasOwn(cmd.renamed, name) ? cmd.renamed[name] : undefined;
  if (current !== undefined && token.startsWith("--")) {
    return { ok: false, message: `--${name} is now --${current} here: use --${current}` };
  }
  const suggestion = closest(name, flagSpellings(cmd));
  return {
    ok: false,
    message: `unknown flag ${token.split("=")[0]}${suggestion ? ` (did you mean --${suggestion}?)` : ""}`,
  };
}

function isSet(value: string | boolean | undefined): boolean {
  return value !== undefined && value !== false;
}

/**
 * Checks argv (without the subcommand names) against the command: unknown flags, flags lacking a value,
 * positionals (missing or too many), enum values, per-flag checks, upstream refusals, cross-flag rules.
 */
export function validateArgs(cmd: SconeCommand, argv: readonly string[]): Validation {
  const values: FlagValues = {};
  const positionals: string[] = [];
  const notes: string[] = [];
  const knownFlagTokens = new Set<string>();
  for (const [key, def] of argEntries(cmd)) {
    if (def.type === "positional") continue;
    knownFlagTokens.add(`--${key}`);
    for (const a of aliasesOf(def)) knownFlagTokens.add(a.length === 1 ? `-${a}` : `--${a}`);
  }

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      positionals.push(token);
      continue;
    }
    const long = token.startsWith("--");
    const body = token.slice(long ? 2 : 1);
    const eq = body.indexOf("=");
    let name = eq >= 0 ? body.slice(0, eq) : body;
    let inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    // `-nNS` (a short flag glued to its value) as node's parseArgs reads it.
    if (!long && name.length > 1 && inline === undefined) {
      const first = findFlag(cmd, name[0] as string);
      if (first && takesValue(first[1])) {
        inline = name.slice(1);
        name = name[0] as string;
      }
    }
    if (!long && name.length !== 1) return unknownFlag(cmd, token);
    let negated = false;
    let found = findFlag(cmd, name);
    if (!found && long && name.startsWith("no-")) {
      const positive = findFlag(cmd, name.slice(3));
      if (positive && positive[1].type === "boolean") {
        found = positive;
        negated = true;
      } else if (positive) {
        return { ok: false, message: `--${name} is not a flag: --${positive[0]} takes a value` };
      }
    }
    if (!found) return unknownFlag(cmd, token);
    const [key, def] = found;
    if (def.upstream && "refuse" in def.upstream) {
      return { ok: false, message: `${token.split("=")[0]} is not supported by scone`, hint: def.upstream.refuse };
    }
    if (def.upstream && "note" in def.upstream && !notes.includes(def.upstream.note)) notes.push(def.upstream.note);

    if (def.type === "boolean") {
      if (inline === undefined) values[key] = !negated;
      else if (inline === "true" || inline === "false") values[key] = negated ? inline === "false" : inline === "true";
      else
        return {
          ok: false,
          message: `invalid value '${inline}' for --${key}: it is a switch (use --${key} or --no-${key})`,
        };
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || knownFlagTokens.has(next.split("=")[0] as string) || next === "--") {
        return { ok: false, message: `flag --${key} needs a value${def.valueHint ? ` (${def.valueHint})` : ""}` };
      }
      value = next;
      i++;
    }
    values[key] = value;
  }

  for (const [key, def] of argEntries(cmd)) {
    const value = values[key];
    if (def.type === "enum" && typeof value === "string" && def.options && !def.options.includes(value)) {
      return { ok: false, message: `invalid value '${value}' for --${key}: expected one of ${def.options.join(", ")}` };
    }
    if (def.check && typeof value === "string") {
      const problem = def.check(value);
      if (problem) return { ok: false, message: problem };
    }
    const grammar = Object.hasOwn(FLAG_GRAMMARS, key) ? FLAG_GRAMMARS[key] : undefined;
    if (grammar && def.type !== "positional" && typeof value === "string") {
      const problem = grammarProblem(`--${key}`, value, grammar);
      if (problem) return { ok: false, message: problem };
    }
    if (def.type !== "positional" && def.required && !isSet(value)) {
      return { ok: false, message: `missing required flag --${key}${def.valueHint ? ` ${def.valueHint}` : ""}` };
    }
  }

  const declared = argEntries(cmd).filter(([, def]) => def.type === "positional");
  for (const [index, [key, def]] of declared.entries()) {
    const value = positionals[index];
    if (value === undefined) {
      if (def.required !== false && def.default === undefined) {
        return { ok: false, message: `missing argument ${def.valueHint ?? key.toUpperCase()}` };
      }
      continue;
    }
    values[key] = value;
    const problem = def.check?.(value);
    if (problem) return { ok: false, message: problem };
  }
  if (positionals.length > declared.length) {
    const extra = positionals[declared.length] as string;
    const subs = Object.keys(cmd.subCommands ?? {});
    if (subs.length > 0) {
      const suggestion = closest(extra, subs);
      return {
        ok: false,
        message: `unknown command '${extra}'${suggestion ? ` (did you mean '${suggestion}'?)` : ""}`,
      };
    }
    return { ok: false, message: `unexpected argument '${extra}'` };
  }

  const crossProblem = cmd.checks?.(values);
  if (crossProblem) return { ok: false, message: crossProblem };
  return { ok: true, values, positionals, notes };
}
