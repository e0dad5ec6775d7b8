// `make bench`: runs every benchmark in bench/ (each prints its own figures) one after another, then ends with one
// table of the figures they reported (bench/_figures.ts): figure, baseline, scone, ratio, target, met or not.
// Benchmarks print numbers; they never pass or fail on speed (speed targets are read by people, not asserted).
// Run: node_modules/.bin/bun run bench/run.ts [name-part …]   e.g. `bench/run.ts startup api audit`
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type Figure, parseFigures, renderTable } from "./_figures.ts";

const dir = import.meta.dir;
const only = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("_"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
const figures: Figure[] = [];
for (const f of scripts) {
  console.log(`\n=== bench/${f}`);
  const p = Bun.spawn([process.execPath, "run", join(dir, f)], { stdout: "pipe", stderr: "inherit" });
  // Lines are passed through as they come, except the figure lines, which are kept for the table.
  let pending = "";
  const decoder = new TextDecoder();
  const take = (text: string) => {
    const lines = (pending + text).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const found = parseFigures(line);
      if (found.length > 0) figures.push(...found);
      else process.stdout.write(`${line}\n`);
    }
  };
  for await (const chunk of p.stdout) take(decoder.decode(chunk, { stream: true }));
  pending += decoder.decode();
  if (pending !== "") take("\n");
  const code = await p.exited;
  if (code !== 0) {
    failed++;
    console.log(`bench/${f} exited with ${code}`);
  }
}
console.log(`\n=== figures${failed ? ` (${failed} bench(es) failed: their figures are missing)` : ""}`);
console.log(renderTable(figures));
process.exit(failed === 0 ? 0 : 1);
