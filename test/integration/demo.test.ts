// `make demo` end to end (hack/demo.ts as a subprocess, as `make demo` runs it): its own cluster, the CAS pod
// runtime and backup controller simulators, the compiled binary as operator, installer and provisioner. It must
// exit 0 with the promised table: the CAS HEALTHY, provisioned and attestable, LAS and SGXPlugin HEALTHY. And a
// demo that cannot run says why and exits non-zero.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterAvailable } from "../harness/cluster.ts";
import { BINARY, binaryPresent } from "./flows/helpers.ts";

const DEMO = join(import.meta.dir, "../../hack/demo.ts");
const TIMEOUT = 240_000;

async function runDemo(env: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "scone-demo-"));
  try {
    const proc = Bun.spawn([process.execPath, "run", DEMO], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, KUBECONFIG: "", NO_COLOR: "1", SCONE_DEMO_DIR: dir, ...env },
      // SIGTERM (the default): the demo cleans up its cluster, operator and simulators before it exits.
      timeout: TIMEOUT - 20_000,
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, out: `${stdout}\n${stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The row of `kubectl get` output whose NAME column is `name`, split into columns. */
function row(out: string, name: string): string[] {
  const line = out.split("\n").find((l) => l.split(/\s+/).includes(name));
  return line ? line.trim().split(/\s+/) : [];
}

describe("make demo (hack/demo.ts)", () => {
  test("without the compiled binary it names the fix and exits non-zero", async () => {
    const { code, out } = await runDemo({ SCONE_BINARY: "/nonexistent/scone" });
    expect(code).toBe(1);
    expect(out).toContain("demo failed: /nonexistent/scone is missing: run 'make build'");
  });

  if (!binaryPresent) console.warn(`skipping the demo run: ${BINARY} is missing (make build)`);
  if (!clusterAvailable()) console.warn("skipping the demo run: SCONE_SKIP_CLUSTER=1");
  test.skipIf(!binaryPresent || !clusterAvailable())(
    "ends with the CAS HEALTHY, provisioned and attestable, LAS and SGXPlugin HEALTHY; exit 0",
    async () => {
      const { code, out } = await runDemo({});
      if (code !== 0) console.error(out.slice(-8_000));
      expect(code).toBe(0);
      const table = out.slice(out.lastIndexOf("==> kubectl get cas,las,sgxplugin -A"));
      // NAMESPACE NAME STATUS PHASE PROVISIONED ATTESTABLE SNAPSHOTS MIGRATION VERSION AGE
      expect(row(table, "cas.services.scone.cloud/cas").slice(0, 6)).toEqual([
        "scone-system",
        "cas.services.scone.cloud/cas",
        "HEALTHY",
        "HEALTHY",
        "Yes",
        "Yes",
      ]);
      expect(row(table, "las.base.scone.cloud/las")[1]).toBe("HEALTHY");
      expect(row(table, "sgxplugin.base.scone.cloud/sgxplugin")[1]).toBe("HEALTHY");
      expect(out).toContain("demo ok:");
      // Through the compiled binary, all the way: install created the LAS, provision waited for HEALTHY.
      expect(out).toMatch(/^created +LAS las$/m);
      expect(out).toContain("✓ Wait until the CAS is HEALTHY");
    },
    TIMEOUT,
  );
});
