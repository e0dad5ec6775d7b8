// The air-gap archive's pure parts with bad input: targets, platform lists, manifests, and the tar container
// (written here, read back by GNU tar and by the reader; a cut-off archive refused, not read past its end).
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseManifest, platformFilter, platformProblem } from "../../../src/images/airgap/layout.ts";
import { parseTarget, targetRepository } from "../../../src/images/airgap/push.ts";
import { readEntry, readTarIndex, writeTar } from "../../../src/images/airgap/tar.ts";

const D = `sha256:${"c".repeat(64)}`;

describe("air-gap archive parts", () => {
  test("--to REGISTRY[/PATH] and the prefix give install's image names; a target without a host is refused", () => {
    const t = parseTarget("mirror.example:5000/scone/", "osc-");
    expect(t).toEqual({ registry: "mirror.example:5000", path: "scone", prefix: "osc-" });
    expect(targetRepository("registry.scontain.com/scone.cloud/cas:6.0.6", t)).toBe("scone/osc-cas");
    expect(targetRepository("r.example/a/b/las:1", parseTarget("127.0.0.1:5000", ""))).toBe("las");
    expect(() => parseTarget("scone/mirror", "")).toThrow(/--to 'scone\/mirror': expected REGISTRY\[\/PATH\]/);
    expect(() => parseTarget("mirror.example/UPPER", "")).toThrow(/lower-case/);
  });

  test("platform lists: matched by os/arch (variant optional); malformed lists named by the flag", () => {
    const amd = { mediaType: "", digest: D, size: 1, platform: { os: "linux", architecture: "amd64" } };
    const arm = { ...amd, platform: { os: "linux", architecture: "arm64", variant: "v8" } };
    expect([amd, arm].filter(platformFilter("linux/arm64"))).toEqual([arm]);
    expect([amd, arm].filter(platformFilter(undefined))).toEqual([amd, arm]);
    expect(platformProblem("linux/amd64,linux/arm64/v8")).toBeUndefined();
    expect(platformProblem("linux")).toContain("--platform 'linux'");
  });

  test("a manifest naming a blob without a sha256 digest or size is refused, naming where", () => {
    const bytes = (doc: unknown) => new TextEncoder().encode(JSON.stringify(doc));
    expect(
      parseManifest(bytes({ config: { digest: D, size: 2 }, layers: [{ digest: D, size: 3 }] }), "x").blobs,
    ).toHaveLength(2);
    expect(() => parseManifest(bytes({ layers: [{ digest: "sha256:../../etc", size: 1 }] }), "img")).toThrow(
      /img: a descriptor without a sha256 digest/,
    );
    expect(() => parseManifest(bytes({ layers: [{ digest: D, size: -1 }] }), "img")).toThrow(/no valid size/);
    expect(() => parseManifest(new TextEncoder().encode("{"), "img")).toThrow(/not JSON/);
  });

  test("the tar container: GNU tar reads what is written; the reader finds each entry; a cut-off archive is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "scone-tar-"));
    try {
      writeFileSync(join(dir, "a"), "hello");
      writeFileSync(join(dir, "b"), Buffer.alloc(1500, 7));
      const tar = join(dir, "out.tar");
      writeTar(tar, [
        { name: "oci-layout", path: join(dir, "a") },
        { name: `blobs/sha256/${"d".repeat(64)}`, path: join(dir, "b") },
      ]);
      const listed = spawnSync("tar", ["-tvf", tar], { encoding: "utf8" });
      expect(listed.status).toBe(0);
      expect(listed.stdout).toContain(`blobs/sha256/${"d".repeat(64)}`);
      const entries = readTarIndex(tar);
      expect(entries.map((e) => [e.name, e.size])).toEqual([
        ["oci-layout", 5],
        [`blobs/sha256/${"d".repeat(64)}`, 1500],
      ]);
      expect(readEntry(tar, entries[1] ?? entries[0]!).equals(readFileSync(join(dir, "b")))).toBe(true);
      truncateSync(tar, 512 + 512 + 512 + 700);
      expect(() => readTarIndex(tar)).toThrow(/cut off or has a bad size/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
