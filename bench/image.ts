// Size of scone's image per platform (what a node pulls and what it unpacks) and the time `make image` takes.
// Builds the image into a temp dir (both platforms, as `make image`) and reads the sizes back from the OCI layout
// itself: compressed = manifest + config + gzip layer; uncompressed = the layer's tar; of which the binary.
// Run: node_modules/.bin/bun run bench/image.ts [--layout DIR]   (--layout: measure an existing layout, no build)
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTar } from "../src/backup/tar.ts";

const ROOT = join(import.meta.dir, "..");
const layoutFlag = process.argv.indexOf("--layout");
let layout = layoutFlag > 0 ? (process.argv[layoutFlag + 1] ?? "") : "";
let work = "";

if (!layout) {
  work = mkdtempSync(join(tmpdir(), "scone-bench-image-"));
  const started = performance.now();
  const p = Bun.spawnSync([process.execPath, "run", join(ROOT, "hack/image/build-image.ts"), "--out", work], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "inherit",
  });
  if (p.exitCode !== 0) throw new Error(`building the image failed:\n${p.stdout}`);
  console.log(`make image (both platforms, warm caches): ${((performance.now() - started) / 1000).toFixed(1)} s`);
  layout = join(work, "oci");
  const archive = p.stdout.toString().match(/, (\S+\.oci\.tar)\n/)?.[1];
  if (archive) console.log(`archive (${archive.split("/").pop()}): ${(statSync(archive).size / 1e6).toFixed(1)} MB`);
}

const blob = (digest: string) => readFileSync(join(layout, "blobs", "sha256", digest.replace(/^sha256:/, "")));
const json = (digest: string) => JSON.parse(blob(digest).toString());
const top = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
const index = json(top.manifests[0].digest);
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`.padStart(9);
console.log("platform        compressed  uncompressed  of which /scone");
for (const m of index.manifests as { digest: string; size: number; platform: { architecture: string } }[]) {
  const manifest = json(m.digest);
  const layer = manifest.layers[0];
  const tar = Bun.gunzipSync(blob(layer.digest));
  const binary = readTar(tar).find((f) => f.name === "scone")?.data.length ?? 0;
  const compressed = m.size + manifest.config.size + layer.size;
  console.log(`linux/${m.platform.architecture.padEnd(8)} ${mb(compressed)}     ${mb(tar.length)}       ${mb(binary)}`);
}
if (work) rmSync(work, { recursive: true, force: true });
