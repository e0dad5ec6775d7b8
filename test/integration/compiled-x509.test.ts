// Regression guard for a bundler ordering bug: compiled with `bun build --compile`, @peculiar/x509 loaded before its
// reflect-metadata polyfill and the binary died ("tsyringe requires a reflect polyfill") the first time the operator
// issued its webhook certificate. Compiles a small entry with the same options as build.ts and issues a CA with it.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "scone-x509-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a compiled binary issues certificates through src/operator/certs/pki.ts", async () => {
  const entry = join(dir, "entry.ts");
  const pki = resolve(import.meta.dir, "../../src/operator/certs/pki.ts");
  await Bun.write(
    entry,
    `const { createCa } = await import(${JSON.stringify(pki)});
const ca = await createCa("guard", { now: new Date() });
console.log(ca.certPem.startsWith("-----BEGIN CERTIFICATE-----") ? "ok" : "bad");`,
  );
  const outfile = join(dir, "guard");
  const built = await Bun.build({
    entrypoints: [entry],
    compile: { outfile },
    bytecode: true,
    format: "esm",
    minify: true,
  });
  expect(built.success).toBe(true);
  const run = Bun.spawnSync([outfile], { stdout: "pipe", stderr: "pipe" });
  expect(run.stderr.toString()).toBe("");
  expect(run.stdout.toString().trim()).toBe("ok");
}, 120_000);
