// Lint: unit tests mirror the code they test, so the test of a module is found without searching. A test
// test/unit/<dir>/<name>.test.ts passes when <dir> is an existing folder of the code (or <dir>/<name>.ts a file of
// it) and the test imports something from that folder: the path says what it tests, and the imports agree.
// The code lives under src/, except for three mirrored roots: test/unit/sim/ mirrors the simulators (sim/),
// test/unit/hack/ the build and cluster scripts (hack/), test/unit/harness/ and test/unit/support/ the test harness
// and test support code (test/harness/, test/support/).
// Tests that are genuinely cross-cutting are named in ALLOWED, each with its reason.
// Usage: bun hack/lint-test-layout.ts [root]   (root defaults to the repository)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { importsOf } from "./lint-sim-imports.ts";

/** Tests outside the mirror on purpose (path relative to test/unit/ → why). */
export const ALLOWED: ReadonlyMap<string, string> = new Map([
  ["build-guard.test.ts", "checks the whole compiled binary's imports (every module under src/), not one module"],
]);

/** Mirrored roots other than src/: the first folder under test/unit/ → the code folder it stands for. */
export const ROOTS: ReadonlyMap<string, string> = new Map([
  ["sim", "sim"],
  ["hack", "hack"],
  ["harness", "test/harness"],
  ["support", "test/support"],
]);

export interface Misplaced {
  /** Repository-relative test path. */
  readonly file: string;
  readonly why: string;
}

/** The code path (repository-relative, without `.ts`) a test path under test/unit/ mirrors. Pure. */
export function mirrorOf(testPath: string): { folder: string; file: string } {
  const parts = testPath.replace(/\.test\.ts$/, "").split("/");
  const name = parts.pop() as string;
  const root = ROOTS.get(parts[0] ?? "");
  const folder = root === undefined ? ["src", ...parts].join("/") : [root, ...parts.slice(1)].join("/");
  return { folder, file: `${folder}/${name}` };
}

/**
 * The plain string literals of a source: quoted strings and templates without substitutions. Comments are skipped
 * (a comment naming a path is no use of it); a template's substitutions are skipped whole.
 */
export function literalsOf(source: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === "/" && source[i + 1] === "/") {
      i = source.indexOf("\n", i);
      if (i < 0) break;
    } else if (c === "/" && source[i + 1] === "*") {
      i = source.indexOf("*/", i + 2);
      if (i < 0) break;
      i += 2;
    } else if (c === '"' || c === "'" || c === "`") {
      let text = "";
      let plain = true;
      let j = i + 1;
      while (j < source.length && source[j] !== c) {
        if (source[j] === "\\") {
          text += source.slice(j, j + 2);
          j += 2;
        } else if (c === "`" && source[j] === "$" && source[j + 1] === "{") {
          plain = false;
          let depth = 1;
          j += 2;
          while (j < source.length && depth > 0) {
            if (source[j] === "{") depth++;
            else if (source[j] === "}") depth--;
            j++;
          }
        } else {
          text += source[j];
          j++;
        }
      }
      if (plain) out.push(text);
      i = j + 1;
    } else {
      i++;
    }
  }
  return out;
}

/**
 * The repository paths a test file uses: what it imports, and paths it names to run (`"../../../sim/x/main.ts"`
 * from the test's folder, or `"src/main.ts"` joined to the repository root); through the test's own helper files
 * (non-test files under test/), transitively. `read` gives a repository file's source, undefined when absent.
 */
export function usedPaths(file: string, source: string, read: (path: string) => string | undefined): Set<string> {
  const used = new Set<string>();
  const queue: [string, string][] = [[file, source]];
  while (queue.length > 0) {
    const [from, text] = queue.shift() as [string, string];
    const dir = dirname(from);
    const specifiers = [...importsOf(text).map((i) => i.specifier), ...literalsOf(text)];
    for (const s of specifiers) {
      const path = s.startsWith(".") ? join(dir, s).split(sep).join("/") : /^(src|sim|hack|test)\//.test(s) ? s : "";
      if (path === "" || used.has(path)) continue;
      used.add(path);
      // The test's own fakes (test/unit/) count; the shared harness and test support do not: they serve everyone.
      const helper = path.startsWith("test/unit/") && !path.endsWith(".test.ts") ? read(path) : undefined;
      if (helper !== undefined) queue.push([path, helper]);
    }
  }
  return used;
}

/** Entry points standing for a code folder: src/main.ts is the command tree's entry, so running it tests src/cli/. */
export const ENTRIES: ReadonlyMap<string, readonly string[]> = new Map([["src/cli", ["src/main.ts"]]]);

/**
 * Why a test (path relative to test/unit/, its source) does not mirror the code, or undefined when it does.
 * `isDir` tells which folders exist, `read` gives a file's source (undefined: no such file); repository-relative.
 * Pure but for those.
 */
export function misplacement(
  testPath: string,
  source: string,
  isDir: (path: string) => boolean,
  read: (path: string) => string | undefined,
): string | undefined {
  const { folder, file } = mirrorOf(testPath);
  const mirrorsFile = read(`${file}.ts`) !== undefined;
  // test/unit/<name>.test.ts mirrors a file of src/ only: src/ as a folder would let anything pass.
  if (!mirrorsFile && (folder === "src" || !isDir(folder))) {
    return `neither ${file}.ts nor a folder ${folder}/ exists`;
  }
  const used = usedPaths(`test/unit/${testPath}`, source, read);
  const within = (p: string) =>
    p === `${file}.ts` || (folder !== "src" && p.startsWith(`${folder}/`)) || (ENTRIES.get(folder) ?? []).includes(p);
  if (![...used].some(within)) {
    return `uses nothing from ${mirrorsFile ? `${file}.ts` : `${folder}/`}: it tests code elsewhere`;
  }
  return undefined;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return e.name.endsWith(".test.ts") ? [path] : [];
  });
}

export function findMisplaced(root: string): Misplaced[] {
  const unit = join(root, "test", "unit");
  const isDir = (p: string) => existsSync(join(root, p)) && statSync(join(root, p)).isDirectory();
  const read = (p: string) => {
    const path = join(root, p);
    return existsSync(path) && statSync(path).isFile() ? readFileSync(path, "utf8") : undefined;
  };
  return testFiles(unit)
    .map((path) => relative(unit, path).split(sep).join("/"))
    .sort()
    .filter((testPath) => !ALLOWED.has(testPath))
    .flatMap((testPath) => {
      const why = misplacement(testPath, readFileSync(join(unit, testPath), "utf8"), isDir, read);
      return why === undefined ? [] : [{ file: `test/unit/${testPath}`, why }];
    });
}

if (import.meta.main) {
  const root = resolve(process.argv[2] ?? join(import.meta.dir, ".."));
  const misplaced = findMisplaced(root);
  for (const m of misplaced) console.log(`${m.file}: ${m.why}`);
  if (misplaced.length > 0) {
    console.log(`${misplaced.length} unit test(s) do not mirror the code they test (hack/lint-test-layout.ts)`);
    process.exit(1);
  }
  console.log("test/unit mirrors src/, sim/, hack/, test/harness/ and test/support/");
}
