// Lint: a simulator is a second implementation, so it must not borrow scone's protocol code — a bug shared by both
// sides of a check passes every test. Fails (exit 1) when a file under sim/ imports, from the repository outside
// sim/:
// - anything at all, for the stand-ins written from public documentation only (sim/scone-cli);
// - anything but cluster plumbing (src/kube/), for every other simulator: an allow-list, so CAS crypto, sessions,
//   attestation, audit log, identity, certificates, the names of owned objects (src/operator/*/names.ts,
//   src/install/names.ts, src/resources/), the renderers and the old REST client kept as test support
//   (test/support/cas-legacy) are all refused, and so is whatever is added later;
// - protocol code reached through an allowed file: what src/kube/ imports, transitively, must stay plumbing too.
// Usage: bun hack/lint-sim-imports.ts [root]   (root defaults to the repository)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export interface ImportRule {
  /** Files the rule applies to (repository-relative, `/`-separated prefix). */
  readonly files: string;
  /** Import targets outside sim/ allowed (repository-relative prefix; a `.ts` name matches that file only). */
  readonly allows: readonly string[];
  readonly why: string;
}

export const RULES: readonly ImportRule[] = [
  {
    files: "sim/scone-cli/",
    allows: [],
    why: "the stand-in SCONE CLI is written from SCONE-CLI.md alone and imports nothing from outside sim/",
  },
  {
    files: "sim/",
    allows: ["src/kube/"],
    why: "a simulator may use scone's cluster plumbing (src/kube/) only, never its protocol code (crypto, sessions, attestation, audit, owned objects' names)",
  },
];

/** What an allowed file (src/kube/…) may itself import, transitively: plumbing and generic runtime helpers. */
export const PLUMBING: readonly string[] = ["src/kube/", "src/runtime/"];

export interface Offender {
  readonly file: string;
  readonly line: number;
  readonly target: string;
  readonly why: string;
}

const SPECIFIERS = [
  /\b(?:import|export)\s+(?:type\s+)?[^;'"]*?\bfrom\s*["']([^"']+)["']/g,
  /\bimport\s*["']([^"']+)["']/g,
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
];

/** Module specifiers a TypeScript source names, with their line numbers; comments are blanked first. */
export function importsOf(source: string): { specifier: string; line: number }[] {
  // Blank comments but keep offsets (and so line numbers): a comment mentioning `from "src/…"` is not an import.
  const text = source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, " "));
  const found: { specifier: string; line: number; at: number }[] = [];
  for (const re of SPECIFIERS) {
    for (const m of text.matchAll(re)) {
      const at = (m.index ?? 0) + m[0].lastIndexOf(m[1]!);
      if (found.some((f) => f.at === at)) continue;
      found.push({ specifier: m[1]!, line: text.slice(0, at).split("\n").length, at });
    }
  }
  return found.sort((a, b) => a.at - b.at).map(({ specifier, line }) => ({ specifier, line }));
}

function matches(target: string, prefix: string): boolean {
  return prefix.endsWith(".ts") ? target === prefix : target.startsWith(prefix);
}

/** Repository-relative targets of a file's relative imports, with their lines. */
function targetsOf(file: string, source: string): { target: string; line: number }[] {
  return importsOf(source)
    .filter(({ specifier }) => specifier.startsWith("."))
    .map(({ specifier, line }) => ({ target: join(dirname(file), specifier).split(sep).join("/"), line }));
}

/** The offences of one file (`file` repository-relative with `/`). Pure. */
export function offencesOf(file: string, source: string, rules: readonly ImportRule[] = RULES): Offender[] {
  const rule = rules.find((r) => file.startsWith(r.files));
  if (!rule) return [];
  return targetsOf(file, source)
    .filter(({ target }) => !target.startsWith("sim/") && !rule.allows.some((p) => matches(target, p)))
    .map(({ target, line }) => ({ file, line, target, why: rule.why }));
}

/**
 * Files outside PLUMBING that `start` (an allowed target) reaches through relative imports, each with the chain that
 * leads there; `read` gives a file's source (undefined: not there). Pure but for `read`.
 */
export function protocolReachedFrom(start: string, read: (file: string) => string | undefined): string[][] {
  const seen = new Set<string>([start]);
  const out: string[][] = [];
  const queue: string[][] = [[start]];
  while (queue.length > 0) {
    const chain = queue.shift() as string[];
    const file = chain.at(-1) as string;
    if (!PLUMBING.some((p) => matches(file, p))) {
      out.push(chain);
      continue;
    }
    const source = read(file);
    if (source === undefined) continue;
    for (const { target } of targetsOf(file, source)) {
      if (seen.has(target)) continue;
      seen.add(target);
      queue.push([...chain, target]);
    }
  }
  return out;
}

function tsFiles(dir: string): string[] {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : tsFiles(path);
    return /\.[cm]?tsx?$/.test(e.name) ? [path] : [];
  });
}

export function findOffenders(root: string): Offender[] {
  const read = (file: string) => {
    const path = join(root, file);
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
  };
  return tsFiles(join(root, "sim"))
    .sort()
    .flatMap((path) => {
      const file = relative(root, path).split(sep).join("/");
      const source = readFileSync(path, "utf8");
      const direct = offencesOf(file, source);
      // An allowed import must not lead to protocol code either.
      const indirect = targetsOf(file, source)
        .filter(({ target }) => !target.startsWith("sim/") && !direct.some((o) => o.target === target))
        .flatMap(({ target, line }) =>
          protocolReachedFrom(target, read).map((chain) => ({
            file,
            line,
            target: chain.at(-1) as string,
            why: `reached through ${chain.slice(0, -1).join(" → ")}: an allowed import must stay plumbing`,
          })),
        );
      return [...direct, ...indirect];
    });
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, ".."));
  const offenders = findOffenders(root);
  for (const o of offenders) console.log(`${o.file}:${o.line}: imports ${o.target} — ${o.why}`);
  if (offenders.length > 0) {
    console.log(`${offenders.length} import(s) of scone's protocol code under sim/`);
    process.exit(1);
  }
  console.log("sim/ imports no protocol code from src/");
}
