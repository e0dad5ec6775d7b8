// `scone version` and `--help` must start without the heavy libraries (client-node, hono, drizzle, yaml,
// x509): every package module loaded is traced by a preload hook; the fast paths may load citty only.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../../..");

function packagesLoadedBy(args: string[]): string[] {
  const r = Bun.spawnSync(
    [
      process.execPath,
      "--preload",
      join(import.meta.dir, "fixtures/trace-package-loads.ts"),
      join(ROOT, "src/main.ts"),
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } },
  );
  return r.stderr
    .toString()
    .split("\n")
    .filter((l) => l.startsWith("LOAD "))
    .map((l) => l.slice(5).replace(/^.*node_modules\//, ""));
}

describe("start-up path stays light", () => {
  for (const args of [
    ["version"],
    ["version", "--client"],
    ["cas", "report", "x", "--file", "x.zip"],
    ["--help"],
    ["cas", "provision", "--help"],
    ["completion", "bash"],
    ["cas", "provision", "--foo"],
  ]) {
    test(`scone ${args.join(" ")} loads no package but citty`, () => {
      expect(packagesLoadedBy(args)).toEqual([]);
    });
  }
  test("the trace does see a package when a command needs one", () => {
    expect(packagesLoadedBy(["manifests", "crds"])).toContain("yaml/dist/index.js");
  });
});
