// Lint: a simulator is a second implementation, so it must not borrow scone's protocol code — a bug shared by both
// sides of a check passes every test. Fails (exit 1) when a file under sim/ imports from src/:
// - anything at all, for the stand-ins written from public documentation only (sim/scone-cli);
// - protocol code, for every other simulator: CAS crypto, sessions, attestation, audit log, identity and client
//   (src/cas/), certificates (src/operator/certs/, src/x509.ts), CAS object names and node registration
//   (src/operator/cas/names.ts, src/operator/cas/nodes.ts).
// Kube plumbing (src/kube/) stays allowed: it is how a simulator reaches a cluster, not what it simulates.
// Usage: bun hack/lint-sim-imports.ts [root]   (root defaults to the repository)
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export interface ImportRule {
  /** Files the rule applies to (repository-relative, `/`-separated prefix). */
  readonly files: string;
  /** Import targets refused (repository-relative prefix; a `.ts` name matches that file only). */
  readonly refuses: readonly string[];
  readonly why: string;
}

export const RULES: readonly ImportRule[] = [
  {
    files: "sim/scone-cli/",
    refuses: ["src/"],
    why: "the stand-in SCONE CLI is written from SCONE-CLI.md alone and imports nothing from src/",
  },
  {
    files: "sim/",
    refuses: [
      "src/cas/",
      "src/operator/certs/",
      "src/x509.ts",
      "src/operator/cas/names.ts",
      "src/operator/cas/nodes.ts",
    ],
    why: "a simulator must not share scone's protocol code (crypto, sessions, attestation, audit, CAS object names)",
  },
];

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

/** The offences of one file (`file` repository-relative with `/`). Pure. */
export function offencesOf(file: string, source: string, rules: readonly ImportRule[] = RULES): Offender[] {
  const out: Offender[] = [];
  for (const { specifier, line } of importsOf(source)) {
    if (!specifier.startsWith(".")) continue;
    const target = join(dirname(file), specifier).split(sep).join("/");
    const rule = rules.find((r) => file.startsWith(r.files) && r.refuses.some((p) => matches(target, p)));
    if (rule) out.push({ file, line, target, why: rule.why });
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
  return tsFiles(join(root, "sim"))
    .sort()
    .flatMap((path) => offencesOf(relative(root, path).split(sep).join("/"), readFileSync(path, "utf8")));
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
