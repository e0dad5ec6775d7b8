// Start-up cost of the scone binary against the floor: a compiled Bun hello-world.
// Prints both binary sizes and the median wall time of RUNS runs of `scone version`, `scone --help` and hello,
// and the ratio (target: `scone version` within 5x hello). Reuses dist/scone; `--rebuild` builds it first.
// It also compiles a `--bytecode` variant of scone into a temp dir (skip with --no-variant): that variant shows
// what pre-compiled bytecode saves, since without it Bun parses the whole ~1.5 MB bundle at every start.
// Run: node_modules/.bin/bun run bench/startup.ts [--rebuild] [--runs N] [--no-variant]
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const SCONE = join(ROOT, "dist/scone");
const runsFlag = process.argv.indexOf("--runs");
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 20;
const TARGET_RATIO = 5;

if (process.argv.includes("--rebuild") || !existsSync(SCONE)) {
  const build = Bun.spawnSync([process.execPath, "run", "build.ts"], {
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (build.exitCode !== 0) throw new Error("building dist/scone failed");
}

const work = mkdtempSync(join(tmpdir(), "scone-bench-startup-"));
const helloSource = join(work, "hello.ts");
const hello = join(work, "hello");
writeFileSync(helloSource, 'console.log("hello");\n');
const built = await Bun.build({ entrypoints: [helloSource], compile: { outfile: hello }, minify: true });
if (!built.success) throw new Error(`building hello failed: ${built.logs.join("\n")}`);

function medianMs(argv: string[]): number {
  const times: number[] = [];
  // One unmeasured run warms the page cache, so every program is measured warm.
  Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore", cwd: work });
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore", cwd: work });
    times.push(performance.now() - start);
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}`);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  return times.length % 2 ? (times[mid] as number) : ((times[mid - 1] as number) + (times[mid] as number)) / 2;
}

const mb = (path: string) => `${(statSync(path).size / 1024 / 1024).toFixed(1)} MB`;
const helloMs = medianMs([hello]);
console.log(`median of ${RUNS} warm runs each`);
console.log(`${"hello".padEnd(26)} ${mb(hello).padStart(9)}  ${helloMs.toFixed(1).padStart(6)} ms`);

function report(label: string, binary: string): void {
  const versionMs = medianMs([binary, "version"]);
  const helpMs = medianMs([binary, "--help"]);
  const ratio = versionMs / helloMs;
  console.log(
    `${label.padEnd(26)} ${mb(binary).padStart(9)}  version ${versionMs.toFixed(1)} ms (${ratio.toFixed(2)}x hello, target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? "met" : "NOT met"}), --help ${helpMs.toFixed(1)} ms (${(helpMs / helloMs).toFixed(2)}x)`,
  );
}

report("dist/scone", SCONE);
if (!process.argv.includes("--no-variant")) {
  const variant = join(work, "scone-bytecode");
  try {
    const r = await Bun.build({
      entrypoints: [join(ROOT, "src/main.ts")],
      compile: { outfile: variant },
      minify: true,
      bytecode: true,
      format: "esm",
    });
    if (r.success) report("scone built with bytecode", variant);
    else console.log(`bytecode variant did not build: ${r.logs.join("; ")}`);
  } catch (error) {
    console.log(`bytecode variant did not build: ${error instanceof Error ? error.message : String(error)}`);
  }
}
rmSync(work, { recursive: true, force: true });
