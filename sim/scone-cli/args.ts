// Argument parsing of the stand-in, clap-like: known options only; an unknown option is a usage error with exit 2,
// as clap-based CLIs exit [I] (the driver must not confuse it with `session read`'s "not found", also exit 2).
import { CliFailure } from "./failure.ts";

export interface ArgSpec {
  /** Options that take a value (repeatable ones collect every value). */
  readonly values?: readonly string[];
  /** Options without a value. */
  readonly flags?: readonly string[];
  /** Positional operands expected, exactly. */
  readonly positionals: number;
  /** A positional word that ends option parsing of this level and starts a sub-level (e.g. `with-attestation`). */
  readonly subcommands?: readonly string[];
}

export interface ParsedArgs {
  readonly values: Map<string, string[]>;
  readonly flags: Set<string>;
  readonly positionals: string[];
  /** The subcommand word and the arguments after it. */
  readonly sub?: { readonly name: string; readonly rest: string[] };
}

export function parseArgs(args: readonly string[], spec: ArgSpec): ParsedArgs {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("-") && a !== "-") {
      if (spec.values?.includes(a)) {
        const v = args[i + 1];
        if (v === undefined) throw new CliFailure(`error: a value is required for '${a}'`, 2);
        values.set(a, [...(values.get(a) ?? []), v]);
        i++;
      } else if (spec.flags?.includes(a)) flags.add(a);
      else if (/^-[A-Za-z]{2,}$/.test(a) && [...a.slice(1)].every((c) => spec.flags?.includes(`-${c}`))) {
        // Short flags given together (`-SCG`, as upstream's backup-controller session runs register-backup).
        for (const c of a.slice(1)) flags.add(`-${c}`);
      } else throw new CliFailure(`error: unexpected argument '${a}' found\n\nFor more information, try '--help'.`, 2);
    } else if (spec.subcommands?.includes(a)) {
      return finish({ values, flags, positionals, sub: { name: a, rest: args.slice(i + 1) } }, spec);
    } else positionals.push(a);
  }
  return finish({ values, flags, positionals }, spec);
}

function finish(p: ParsedArgs, spec: ArgSpec): ParsedArgs {
  if (p.positionals.length !== spec.positionals) {
    throw new CliFailure(`error: expected ${spec.positionals} operand(s), got ${p.positionals.length}`, 2);
  }
  return p;
}

export function one(p: ParsedArgs, name: string): string | undefined {
  return p.values.get(name)?.at(-1);
}
