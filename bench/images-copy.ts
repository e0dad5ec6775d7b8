// Throughput of carrying images across an air gap: `scone images save` (registry → archive) and `scone images
// push` (archive → registry) next to `crane copy` of the same images (registry → registry) in the same run, between
// two `crane registry serve` on loopback. The images: IMAGES one-layer images of LAYER_MB incompressible bytes.
// Figures for information (issue 16 sets no target). Run: node_modules/.bin/bun run bench/images-copy.ts
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openArchive } from "../src/images/airgap/archive.ts";
import { parseTarget, pushArchive } from "../src/images/airgap/push.ts";
import { RegistryWriter } from "../src/images/airgap/registry-writer.ts";
import { saveImages } from "../src/images/airgap/save.ts";
import { CRANE, craneAvailable, startRegistry } from "../test/harness/registry.ts";
import { reportFigure } from "./_figures.ts";

const IMAGES = Number(process.env.BENCH_IMAGES ?? 6);
const LAYER_MB = Number(process.env.BENCH_LAYER_MB ?? 32);

if (!craneAvailable()) {
  console.log(`images-copy: skipped, ${CRANE} is missing (make node-binaries)`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "scone-bench-copy-"));
// crane copies into a registry of its own: crane's registry stores blobs once for all repositories, and a
// target that already holds scone's pushed blobs would let crane skip every upload.
const [source, target, craneTarget] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
try {
  const images = Array.from({ length: IMAGES }, (_, n) => ({
    component: `img${n}`,
    image: `${source.host}/bench/img${n}:1`,
  }));
  for (const { image, component } of images) {
    const dir = join(work, component);
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "data.bin"), randomBytes(LAYER_MB * 1024 * 1024));
    spawnSync("tar", ["-C", dir, "-cf", join(dir, "layer.tar"), "data.bin"]);
    const r = spawnSync(CRANE, ["append", "-f", join(dir, "layer.tar"), "-t", image], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`crane append: ${r.stderr}`);
    rmSync(dir, { recursive: true, force: true });
  }
  const mb = (IMAGES * LAYER_MB * 1024 * 1024) / 1e6;
  const clients = new Map<string, RegistryWriter>();
  const client = (r: string) => clients.get(r) ?? (clients.set(r, new RegistryWriter(r)).get(r) as RegistryWriter);
  const timed = async (f: () => Promise<unknown> | unknown) => {
    const t = performance.now();
    await f();
    return (performance.now() - t) / 1000;
  };

  const archive = join(work, "images.tar");
  const save = await timed(() => saveImages({ images, to: archive, client }));
  const push = await timed(async () => {
    const s = await pushArchive(openArchive(archive), parseTarget(`${target.host}/scone`, ""), client(target.host));
    if (s.failed.length) throw new Error(s.failed.join("\n"));
  });
  const crane = await timed(() => {
    for (const { image, component } of images) {
      const r = spawnSync(CRANE, ["copy", image, `${craneTarget.host}/crane/${component}:1`], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`crane copy: ${r.stderr}`);
    }
  });
  const rate = (s: number) => mb / s;
  console.log(
    `${IMAGES} images × ${LAYER_MB} MiB: save ${save.toFixed(2)} s, push ${push.toFixed(2)} s, crane copy ${crane.toFixed(2)} s`,
  );
  for (const [name, seconds] of [
    ["images save, registry → archive (MB/s)", save],
    ["images push, archive → registry (MB/s)", push],
  ] as const)
    reportFigure({
      figure: name,
      baseline: `crane copy ${rate(crane).toFixed(0)} MB/s`,
      scone: `${rate(seconds).toFixed(0)} MB/s`,
      ratio: rate(seconds) / rate(crane),
    });
} finally {
  source.stop();
  target.stop();
  craneTarget.stop();
  rmSync(work, { recursive: true, force: true });
}
