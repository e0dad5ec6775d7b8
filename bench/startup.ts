// Start-up cost of the scone binary against the floor: a compiled Bun hello-world (`console.log("hello")`, built by
// the same `bun build --compile --minify`), both measured in this run. Builds scone from the current source into a
// temp dir with build.ts (bytecode, code splitting: what `make build` ships), then times `scone version`,
// `scone --help` and hello, interleaved run by run so load on the machine hits all alike, and reports medians of RUNS
// warm runs (target, issue 18: `scone version` ≤ 3× hello). `--variant` also builds scone as one chunk (no
// splitting) to show what splitting saves.
// Findings (bench/README.md): without splitting every start loads the whole ≈3 MB bundle (≈11 ms even when nothing
// of it runs); building process.stdout costs ≈8 ms; node:util/fs/os and the resource schemas ≈1 ms each.
// Run: node_modules/.bin/bun run bench/startup.ts [--runs N] [--variant]
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, reportFigure } from "./_figures.ts";

const ROOT = join(import.meta.dir, "..");
const runsFlag = process.argv.indexOf("--runs");
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 40;
if (!Number.isInteger(RUNS) || RUNS <= 0) throw new Error("--runs must be a positive whole number");
const TARGET_RATIO = 3;

const work = mkdtempSync(join(tmpdir(), "scone-bench-startup-"));
try {
  const scone = join(work, "scone");
  const build = Bun.spawnSync([process.execPath, "run", "build.ts"], {
    cwd: ROOT,
    env: { ...process.env, SCONE_OUTFILE: scone },
    stdout: "ignore",
    stderr: "inherit",
  });
  if (build.exitCode !== 0) throw new Error("building scone with build.ts failed");

  const helloSource = join(work, "hello.ts");
  const hello = join(work, "hello");
  writeFileSync(helloSource, 'console.log("hello");\n');
  const built = await Bun.build({ entrypoints: [helloSource], compile: { outfile: hello }, minify: true });
  if (!built.success) throw new Error(`building hello failed: ${built.logs.join("\n")}`);

  const programs: [string, string[]][] = [
    ["hello", [hello]],
    ["scone version", [scone, "version"]],
    ["scone --help", [scone, "--help"]],
  ];
  if (process.argv.includes("--variant")) {
    const single = join(work, "scone-one-chunk");
    const r = await Bun.build({
      entrypoints: [join(ROOT, "src/main.ts")],
      compile: { outfile: single },
      minify: true,
      bytecode: true,
      format: "esm",
    });
    if (!r.success) throw new Error(`the one-chunk variant did not build: ${r.logs.join("; ")}`);
    programs.push(["scone version, one chunk", [single, "version"]]);
  }

  const times = new Map<string, number[]>(programs.map(([name]) => [name, []]));
  const once = (argv: string[]) => {
    const start = performance.now();
    const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore", cwd: work });
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}`);
    return performance.now() - start;
  };
  // One unmeasured run each warms the page cache, so every program is measured warm.
  for (const [, argv] of programs) once(argv);
  for (let i = 0; i < RUNS; i++) for (const [name, argv] of programs) times.get(name)?.push(once(argv));

  const mb = (path: string) => `${(statSync(path).size / 1024 / 1024).toFixed(1)} MB`;
  const helloMs = median(times.get("hello") ?? []);
  console.log(`median of ${RUNS} warm runs each, interleaved; hello ${mb(hello)}, scone ${mb(scone)}`);
  for (const [name] of programs) {
    const ms = median(times.get(name) ?? []);
    console.log(`  ${name.padEnd(26)} ${ms.toFixed(1).padStart(6)} ms  (${(ms / helloMs).toFixed(2)}x hello)`);
  }
  const versionMs = median(times.get("scone version") ?? []);
  const helpMs = median(times.get("scone --help") ?? []);
  reportFigure({
    figure: "`scone version` ÷ compiled hello (ms, median)",
    baseline: helloMs.toFixed(1),
    scone: versionMs.toFixed(1),
    ratio: versionMs / helloMs,
    target: { op: "<=", value: TARGET_RATIO },
  });
  reportFigure({
    figure: "`scone --help` ÷ compiled hello (ms, median)",
    baseline: helloMs.toFixed(1),
    scone: helpMs.toFixed(1),
    ratio: helpMs / helloMs,
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
