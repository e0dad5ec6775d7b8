// Shell completion scripts generated from the command tree: subcommands, flags (with their short forms and
// `--no-` forms), enum values and positional choices. The scripts find the current command path by matching
// each word against the subcommands of the path so far, so flag values never derail them.
import { COMPLETE_COMMAND, type CompletionSource } from "./complete/line.ts";
import type { SconeArgDef, SconeCommand } from "./spec.ts";

export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof COMPLETION_SHELLS)[number];

interface FlagInfo {
  long: string[];
  short: string[];
  description: string;
  /** undefined: a switch; []: takes a free value; non-empty: one of these values. */
  values: string[] | undefined;
  /** The free value is a file or directory (value hint FILE, DIR or PATH), so the shell completes paths. */
  path: boolean;
  /** The value is a name read from the cluster when completing. */
  dynamic: CompletionSource | undefined;
  valueHint: string;
}

interface PathInfo {
  /** Key of this command path, e.g. "cas_provision" ("" for the root). */
  key: string;
  parentKey: string | undefined;
  name: string;
  description: string;
  subs: { name: string; description: string }[];
  flags: FlagInfo[];
  choices: string[];
  /** A positional whose values are names read from the cluster (e.g. the CAS name). */
  dynamic: CompletionSource | undefined;
}

function flagInfo(key: string, def: SconeArgDef): FlagInfo {
  const aliases = def.type === "positional" || !("alias" in def) || def.alias === undefined ? [] : [def.alias].flat();
  const negated = def.type === "boolean" && def.default === true;
  const prefix = negated ? "no-" : "";
  const text = (negated && "negativeDescription" in def ? def.negativeDescription : undefined) ?? def.description ?? "";
  return {
    long: [key, ...aliases.filter((a) => a.length > 1)].map((n) => `${prefix}${n}`),
    short: negated ? [] : aliases.filter((a) => a.length === 1),
    description: text,
    values: def.type === "boolean" ? undefined : def.type === "enum" ? [...(def.options ?? [])] : [],
    path: /FILE|DIR|PATH/.test(def.valueHint ?? ""),
    dynamic: def.complete,
    valueHint: def.valueHint ?? key.toUpperCase(),
  };
}

/** How the value of a flag that takes one is completed: fixed choices, names from the cluster, a path, or not at all. */
function valueKind(f: FlagInfo): "choices" | "dynamic" | "path" | "free" {
  if (f.values && f.values.length > 0) return "choices";
  if (f.dynamic) return "dynamic";
  return f.path ? "path" : "free";
}

/** Every command path in the tree, root first. */
export function collectPaths(root: SconeCommand): PathInfo[] {
  const out: PathInfo[] = [];
  const walk = (cmd: SconeCommand, path: string[], parentKey: string | undefined) => {
    const key = path.join("_");
    const entries = Object.entries(cmd.args ?? {}).filter(([, def]) => !def.hidden);
    const subs = Object.entries(cmd.subCommands ?? {}).filter(([, sub]) => !sub.meta.hidden);
    out.push({
      key,
      parentKey,
      name: path[path.length - 1] ?? "",
      description: cmd.meta.description,
      subs: subs.map(([name, sub]) => ({ name, description: sub.meta.description })),
      flags: entries.filter(([, def]) => def.type !== "positional").map(([k, def]) => flagInfo(k, def)),
      choices: entries.flatMap(([, def]) => (def.type === "positional" && def.choices ? [...def.choices] : [])),
      dynamic: entries.find(([, def]) => def.type === "positional" && def.complete)?.[1].complete,
    });
    for (const [name, sub] of subs) walk(sub, [...path, name], key);
  };
  walk(root, [], undefined);
  return out;
}

/** Single-quoted for POSIX shells, bash, zsh and fish alike. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function spellings(flag: FlagInfo): string[] {
  return [...flag.long.map((l) => `--${l}`), ...flag.short.map((s) => `-${s}`)];
}

/**
 * bash/zsh body: walk the words before the cursor to the command path ($cmdpath), then run the arm of that
 * path (which sets the candidate words and flags, or completes a flag's value and returns).
 */
function walkAndDispatch(paths: PathInfo[], arms: string[], first: string, cursor: string, word: string): string {
  const steps = paths
    .filter((p) => p.parentKey !== undefined)
    .map((p) => `      ${q(`${p.parentKey}/${p.name}`)}) cmdpath=${q(p.key)};;`);
  return [
    `  for ((i = ${first}; i < ${cursor}; i++)); do`,
    `    word="\${${word}}"`,
    '    case "$cmdpath/$word" in',
    ...steps,
    "    esac",
    "  done",
    '  case "$cmdpath" in',
    ...arms,
    "  esac",
  ].join("\n");
}

/** zsh's words typed before the cursor, after the program name. */
const ZSH_TYPED = `\${words[2,CURRENT-1]}`;
/** The shell asks scone for names from the cluster, passing the typed words (their -n, --context, --kubeconfig). */
const ask = (program: string, source: CompletionSource | "$dynamic", words: string) =>
  `${program} ${COMPLETE_COMMAND} ${source} ${words} 2>/dev/null`;

export function renderBash(root: SconeCommand, program = "scone"): string {
  const paths = collectPaths(root);
  const fn = `_${program.replace(/\W/g, "_")}_complete`;
  const typed = `"\${COMP_WORDS[@]:1:COMP_CWORD-1}"`;
  const arms = paths.map((p) => {
    const valueCases = p.flags
      .filter((f) => f.values !== undefined)
      .map((f) => {
        const reply = {
          choices: `COMPREPLY=($(compgen -W ${q((f.values ?? []).join(" "))} -- "$cur"))`,
          dynamic: `COMPREPLY=($(compgen -W "$(${ask(program, f.dynamic ?? "cas", typed)})" -- "$cur"))`,
          path: `COMPREPLY=($(compgen -f -- "$cur"))`,
          free: "COMPREPLY=()",
        }[valueKind(f)];
        return `        ${spellings(f).join("|")}) ${reply}; return 0;;`;
      });
    const words = [...p.subs.map((s) => s.name), ...p.choices];
    return [
      `    ${q(p.key)})`,
      `      words=${q(words.join(" "))}`,
      `      flags=${q([...p.flags.flatMap(spellings), "--help"].join(" "))}`,
      ...(p.dynamic ? [`      dynamic=${q(p.dynamic)}`] : []),
      ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, "      esac"] : []),
      "      ;;",
    ].join("\n");
  });
  return `# bash completion for ${program} (generated by '${program} completion bash')
# Load it with: source <(${program} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmdpath="" word words="" flags="" dynamic="" i
${walkAndDispatch(paths, arms, "1", "COMP_CWORD", "COMP_WORDS[i]")}
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    [[ -n "$dynamic" ]] && words="$words $(${ask(program, "$dynamic", typed)})"
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F ${fn} ${program}
`;
}

/** zsh `_describe` entries are NAME:DESCRIPTION; a colon inside NAME must be escaped. */
function describeEntry(name: string, description: string): string {
  return q(`${name.replace(/:/g, "\\:")}:${description}`);
}

export function renderZsh(root: SconeCommand, program = "scone"): string {
  const paths = collectPaths(root);
  const fn = `_${program.replace(/\W/g, "_")}`;
  const arms = paths.map((p) => {
    const valueCases = p.flags
      .filter((f) => f.values !== undefined)
      .map((f) => {
        const action = {
          choices: `compadd -- ${(f.values ?? []).map(q).join(" ")}`,
          dynamic: `compadd -- \${(f)"$(${ask(program, f.dynamic ?? "cas", ZSH_TYPED)})"}`,
          path: "_files",
          free: `_message ${q(f.valueHint)}`,
        }[valueKind(f)];
        return `        ${spellings(f).join("|")}) ${action}; return;;`;
      });
    return [
      `    ${q(p.key)})`,
      `      subs=(${[...p.subs.map((s) => describeEntry(s.name, s.description)), ...p.choices.map((c) => describeEntry(c, ""))].join(" ")})`,
      `      flags=(${[...p.flags.flatMap((f) => spellings(f).map((s) => describeEntry(s, f.description))), describeEntry("--help", "Show help")].join(" ")})`,
      ...(p.dynamic ? [`      subs+=(\${(f)"$(${ask(program, p.dynamic, ZSH_TYPED)})"})`] : []),
      ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, "      esac"] : []),
      "      ;;",
    ].join("\n");
  });
  return `#compdef ${program}
# zsh completion for ${program} (generated by '${program} completion zsh')
# Install: ${program} completion zsh > "\${fpath[1]}/_${program}"   or: source <(${program} completion zsh)
${fn}() {
  local cmdpath="" word prev="\${words[CURRENT-1]}" i
  local -a subs flags
${walkAndDispatch(paths, arms, "2", "CURRENT", "words[i]")}
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _describe -t flags 'flag' flags
  else
    _describe -t commands 'command' subs
  fi
}
if [[ "\${funcstack[1]}" == "${fn}" ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${program}
fi
`;
}

export function renderFish(root: SconeCommand, program = "scone"): string {
  const paths = collectPaths(root);
  const fn = `__${program.replace(/\W/g, "_")}`;
  const lines: string[] = [];
  for (const p of paths) {
    const cond = `-n ${q(`${fn}_path_is${p.key === "" ? "" : ` ${p.key}`}`)}`;
    for (const s of p.subs) lines.push(`complete -c ${program} ${cond} -a ${q(s.name)} -d ${q(s.description)}`);
    if (p.choices.length > 0) lines.push(`complete -c ${program} ${cond} -a ${q(p.choices.join(" "))}`);
    if (p.dynamic)
      lines.push(`complete -c ${program} ${cond} -a ${q(`(${ask(program, p.dynamic, "(commandline -opc)[2..-1]")})`)}`);
    for (const f of p.flags) {
      const names = [...f.long.map((l) => `-l ${l}`), ...f.short.map((s) => `-s ${s}`)].join(" ");
      const value =
        f.values === undefined
          ? ""
          : {
              choices: ` -x -a ${q(f.values.join(" "))}`,
              dynamic: ` -x -a ${q(`(${ask(program, f.dynamic ?? "cas", "(commandline -opc)[2..-1]")})`)}`,
              path: " -r -F",
              free: " -x",
            }[valueKind(f)];
      lines.push(`complete -c ${program} ${cond} ${names}${value} -d ${q(f.description)}`);
    }
  }
  return `# fish completion for ${program} (generated by '${program} completion fish')
# Install: ${program} completion fish > ~/.config/fish/completions/${program}.fish
function ${fn}_path
    set -l cmdpath ''
    for word in (commandline -opc)[2..-1]
        switch "$cmdpath/$word"
${paths
  .filter((p) => p.parentKey !== undefined)
  .map((p) => `            case ${q(`${p.parentKey}/${p.name}`)}\n                set cmdpath ${q(p.key)}`)
  .join("\n")}
        end
    end
    echo $cmdpath
end
function ${fn}_path_is
    set -l current (${fn}_path)
    test "$current" = "$argv[1]"
end
complete -c ${program} -f
complete -c ${program} -s h -l help -d 'Show help'
${lines.join("\n")}
`;
}

export function renderCompletion(shell: Shell, root: SconeCommand, program = "scone"): string {
  switch (shell) {
    case "bash":
      return renderBash(root, program);
    case "zsh":
      return renderZsh(root, program);
    case "fish":
      return renderFish(root, program);
  }
}
