// What a completion request needs from the words already typed: the cluster to ask (--kubeconfig, --context) and
// the namespace (-n/--namespace). Pure, tolerant of anything else on the line: the shell hands over the whole line.

/** The hidden command the completion scripts call: `scone __complete SOURCE WORDS…`. */
export const COMPLETE_COMMAND = "__complete";
export const COMPLETION_SOURCES = ["cas", "namespace"] as const;
export type CompletionSource = (typeof COMPLETION_SOURCES)[number];

export interface CompletionLine {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

const FLAGS: Readonly<Record<string, keyof CompletionLine>> = {
  "--kubeconfig": "kubeconfig",
  "--context": "context",
  "--namespace": "namespace",
  "-n": "namespace",
};

export function isCompletionSource(value: string | undefined): value is CompletionSource {
  return (COMPLETION_SOURCES as readonly string[]).includes(value ?? "");
}

/** The last value of each known flag, in either spelling (`--flag value`, `--flag=value`). */
export function readCompletionLine(words: readonly string[]): CompletionLine {
  const line: CompletionLine = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? "";
    const eq = word.indexOf("=");
    const flag = eq > 0 ? word.slice(0, eq) : word;
    const key = FLAGS[flag];
    if (!key) continue;
    const value = eq > 0 ? word.slice(eq + 1) : words[++i];
    if (value !== undefined && value !== "") line[key] = value;
  }
  return line;
}
