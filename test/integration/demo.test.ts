// `make demo` end to end (hack/demo.ts as a subprocess, as `make demo` runs it): its own cluster with the real node
// (root), scone's image on that node, the CAS pod runtime and backup controller simulators, the compiled binary as
// installer and provisioner and, in its pod on the real node, as operator. It must exit 0 with the promised tables:
// the CAS HEALTHY, provisioned and attestable, LAS and SGXPlugin HEALTHY, the operator pod and the CAS's sconecli
// pod (the stand-in SCONE CLI every CAS call went through) Running on the real node.
// And a demo that cannot run says why and exits non-zero. One real node per machine: this runs in the main suite,
// which starts none (`make test` runs test/integration/realnode after it); the demo tears its node down on exit.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterAvailable } from "../harness/cluster.ts";
import { BINARY, binaryPresent } from "../harness/flows.ts";

const DEMO = join(import.meta.dir, "../../hack/demo.ts");
const TIMEOUT = 300_000;
const root = process.getuid?.() === 0;

/** Processes whose command line names `dir`: what the demo started there (cluster, real node, simulators). */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(dir)) found.push(`${pid}: ${cmdline.slice(0, 200)}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

async function runDemo(env: Record<string, string>): Promise<{ code: number; out: string; left: string[] }> {
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
    return { code, out: `${stdout}\n${stderr}`, left: processesUnder(dir) };
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
  if (!root) console.warn("skipping the demo run: its real node needs root");
  test.skipIf(!binaryPresent || !clusterAvailable() || !root)(
    "ends with the CAS HEALTHY, provisioned and attestable, LAS and SGXPlugin HEALTHY, the operator pod on the real node; exit 0",
    async () => {
      const { code, out, left } = await runDemo({});
      if (code !== 0) console.error(out.slice(-8_000));
      expect(code).toBe(0);
      // Torn down completely: the realnode suite after this one needs the machine's one real node.
      expect(left).toEqual([]);
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
      // NAME READY STATUS RESTARTS AGE IP NODE …
      const pods = out.slice(out.lastIndexOf("==> kubectl get pods -n scone-system -o wide"), out.indexOf("demo ok:"));
      const operator = pods.split("\n").find((l) => l.startsWith("scone-controller-manager-")) ?? "";
      expect(operator.trim().split(/\s+/).slice(1, 3)).toEqual(["1/1", "Running"]);
      expect(operator.trim().split(/\s+/)[6]).toBe("scone-real-node");
      // The CAS's sconecli pod ran on the real node: the provisioner's and the operator's CAS calls went through it.
      const cli = pods.split("\n").find((l) => l.startsWith("cas-sconecli-")) ?? "";
      expect(cli.trim().split(/\s+/).slice(1, 3)).toEqual(["1/1", "Running"]);
      expect(cli.trim().split(/\s+/)[6]).toBe("scone-real-node");
      // Nothing else of the demo's pods ran on the real node (nothing pulls from outside).
      expect(pods.split("\n").filter((l) => l.includes("scone-real-node"))).toEqual([cli, operator]);
      expect(out).toContain("demo ok:");
      // Through the compiled binary, all the way: install created the LAS, provision waited for HEALTHY.
      expect(out).toMatch(/^created +LAS las$/m);
      expect(out).toContain("✓ Wait until the CAS is HEALTHY");
    },
    TIMEOUT,
  );
});
