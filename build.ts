// Compiles the single self-contained executable dist/scone. Everything the binary needs at run time
// (migrations, manifests, defaults) is imported statically from src/, so the bundle embeds it; no --asset
// folders and no import.meta.dir lookups, which break once the binary leaves the build machine.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import pkg from "./package.json" with { type: "json" };

const outfile = process.env.SCONE_OUTFILE ?? "dist/scone";
// Cross-compilation for the image (hack/image): SCONE_TARGET=linux-amd64 or linux-arm64 (glibc). Unset: the build
// machine's own platform. Bun fetches a foreign target's runtime from the npm registry once and caches it.
const TARGETS: Record<string, Bun.Build.CompileTarget> = {
  "linux-amd64": "bun-linux-x64",
  "linux-arm64": "bun-linux-arm64",
};
const targetName = process.env.SCONE_TARGET;
const target = targetName === undefined || targetName === "" ? undefined : TARGETS[targetName];
if (targetName && !target) {
  console.error(`SCONE_TARGET=${targetName} is not supported: use ${Object.keys(TARGETS).join(" or ")}`);
  process.exit(2);
}
mkdirSync(dirname(outfile), { recursive: true });
const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"]).stdout.toString().trim() || "unknown";

const result = await Bun.build({
  entrypoints: ["src/main.ts"],
  compile: target ? { outfile, target } : { outfile },
  // Precompiled bytecode: Bun otherwise parses the whole bundle at every start (≈35 ms → ≈12 ms for `scone version`).
  // Safe here because nothing locates files through import.meta.dir/__dirname, which bytecode bakes at build time.
  bytecode: true,
  // Chunks per lazily imported module (all embedded in the one binary): a start evaluates the command tree only, not
  // the whole ≈3 MB bundle (`scone version` ≈15 ms → ≈7 ms; bench/startup.ts).
  splitting: true,
  format: "esm",
  minify: true,
  sourcemap: "none",
  define: {
    "process.env.SCONE_BUILD_VERSION": JSON.stringify(pkg.version),
    "process.env.SCONE_BUILD_COMMIT": JSON.stringify(commit),
  },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile} (${pkg.version}, ${commit}${target ? `, ${target}` : ""})`);
