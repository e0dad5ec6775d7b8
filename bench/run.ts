// `make bench`: runs every benchmark in bench/ (each prints its own figures) one after another.
// Benchmarks print numbers; they never pass or fail on speed (speed targets are read by people, not asserted).
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dir;
const only = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const f of scripts) {
  console.log(`\n=== bench/${f}`);
  const p = Bun.spawnSync([process.execPath, "run", join(dir, f)], { stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) {
    failed++;
    console.log(`bench/${f} exited with ${p.exitCode}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
