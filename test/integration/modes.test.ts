// The compiled binary's long-running modes against real things: `scone api` copied alone into an empty directory,
// `scone operator` against the real API server with a client certificate and with a service-account token,
// taking the leader Lease and releasing it on SIGTERM.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../hack/cluster/ports.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { clusterAvailable, type LocalCluster, sharedCluster } from "../harness/cluster.ts";
import { installCrds } from "../harness/operator.ts";

const BINARY = process.env.SCONE_BINARY ?? join(import.meta.dir, "../../dist/scone");
const present = existsSync(BINARY);
if (!present) console.warn(`modes.test.ts skipped: ${BINARY} is missing — run 'make build' first`);

async function waitFor(url: string, timeoutMs = 60_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fetch(url);
    } catch (e) {
      last = e;
      await Bun.sleep(100);
    }
  }
  throw new Error(`${url} did not answer: ${String(last)}`);
}

/** Reads a child's stdout as lines, so a test can wait for a log message. */
function lines(proc: Bun.Subprocess<"ignore", "pipe", "pipe">): {
  all: string[];
  waitFor(re: RegExp, ms?: number): Promise<string>;
} {
  const all: string[] = [];
  const decoder = new TextDecoder();
  let buf = "";
  void (async () => {
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk, { stream: true });
      let i = buf.indexOf("\n");
      while (i >= 0) {
        all.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    }
  })();
  return {
    all,
    async waitFor(re, ms = 60_000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const hit = all.find((l) => re.test(l));
        if (hit) return hit;
        if (proc.exitCode !== null) break;
        await Bun.sleep(50);
      }
      throw new Error(
        `no line matching ${re} (exit ${proc.exitCode}); got:\n${all.join("\n")}\n${await new Response(proc.stderr).text()}`,
      );
    },
  };
}

describe.skipIf(!present)("scone api, copied alone into an empty directory", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "scone-api-"));
    copyFileSync(BINARY, join(dir, "scone"));
    Bun.spawnSync(["chmod", "755", join(dir, "scone")]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("answers /healthz, /version and the OpenAPI document, and stops on SIGTERM", async () => {
    const port = await freePort();
    const proc = Bun.spawn(["./scone", "api", "--port", String(port), "--state-dir", join(dir, "state")], {
      cwd: dir,
      env: { HOME: dir, PATH: "/usr/bin:/bin" },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const health = await waitFor(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.text()).toBe("ok\n");
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as { openapi: string };
      expect(doc.openapi).toBe("3.1.0");
      expect(existsSync(join(dir, "state", "scone.db"))).toBe(true);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  });
});

describe.skipIf(!present || !clusterAvailable())("scone operator against the real API server", () => {
  let cluster: LocalCluster;
  let state = "";
  // A name of this run's own: every test file shares one cluster, and a namespace of an earlier file (or run) may
  // still be terminating.
  const ns = `modes-${Math.random().toString(36).slice(2, 8)}`;
  /** kubectl that throws on failure (a set-up step that silently failed would surface later as a stranger error). */
  const kubectl = async (args: string[]) => {
    const r = await cluster.kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  beforeAll(async () => {
    cluster = await sharedCluster();
    state = mkdtempSync(join(tmpdir(), "scone-op-"));
    await kubectl(["create", "namespace", ns]);
    await installCrds(await KubeClient.load({ kubeconfig: cluster.kubeconfigPath }));
  }, 120_000);
  afterAll(async () => {
    await cluster?.kubectl(["delete", "namespace", ns, "--wait=false"]).catch(() => undefined);
    if (state) rmSync(state, { recursive: true, force: true });
  }, 120_000);

  const startOperator = async (kubeconfig: string, extra: string[] = []) => {
    const [probe, metrics] = [await freePort(), await freePort()];
    const proc = Bun.spawn(
      [
        BINARY,
        "operator",
        "--kubeconfig",
        kubeconfig,
        "--state-dir",
        state,
        "--probe-port",
        String(probe),
        "--metrics-port",
        String(metrics),
        "-n",
        ns,
        "--webhook-mode",
        "off",
        ...extra,
      ],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, KUBECONFIG: "" } },
    );
    return { proc, out: lines(proc), probe, metrics };
  };

  test("with a client certificate: authenticates, serves probes and metrics, leads, releases the Lease on SIGTERM", async () => {
    const op = await startOperator(cluster.kubeconfigPath, ["--leader-elect"]);
    try {
      const connected = JSON.parse(await op.out.waitFor(/connected to the API server/));
      expect(connected.user).toBe("scone-admin");
      await op.out.waitFor(/became leader/);
      expect((await waitFor(`http://127.0.0.1:${op.probe}/healthz`)).status).toBe(200);
      // Ready once every informer has listed its kind (the CRDs are installed in beforeAll).
      const deadline = Date.now() + 60_000;
      let ready = await fetch(`http://127.0.0.1:${op.probe}/readyz`);
      while (ready.status !== 200 && Date.now() < deadline) {
        await Bun.sleep(200);
        ready = await fetch(`http://127.0.0.1:${op.probe}/readyz`);
      }
      expect(await ready.text()).toContain("readyz check passed");
      const metrics = await (await fetch(`http://127.0.0.1:${op.metrics}/metrics`)).text();
      expect(metrics).toContain("process_resident_memory_bytes");
      const held = await cluster.kubectl([
        "get",
        "lease",
        "-n",
        ns,
        "61d57791.scone.cloud",
        "-o",
        "jsonpath={.spec.holderIdentity}",
      ]);
      expect(held.stdout).not.toBe("");
    } finally {
      op.proc.kill("SIGTERM");
    }
    expect(await op.proc.exited).toBe(0);
    const released = await cluster.kubectl([
      "get",
      "lease",
      "-n",
      ns,
      "61d57791.scone.cloud",
      "-o",
      "jsonpath={.spec.holderIdentity}",
    ]);
    expect(released.stdout).toBe("");
  });

  test("with a service-account token: authenticates as the service account", async () => {
    await kubectl(["create", "serviceaccount", "scone-probe", "-n", ns]);
    const kubeconfig = await cluster.serviceAccountKubeconfig(ns, "scone-probe");
    const op = await startOperator(kubeconfig);
    try {
      const connected = JSON.parse(await op.out.waitFor(/connected to the API server/));
      expect(connected.user).toBe(`system:serviceaccount:${ns}:scone-probe`);
    } finally {
      op.proc.kill("SIGTERM");
    }
    await op.proc.exited;
  });

  test("with a wrong token: exits non-zero, saying the API server refused the credentials", async () => {
    const bad = join(state, "bad.kubeconfig");
    const good = await Bun.file(await cluster.serviceAccountKubeconfig(ns, "scone-probe")).text();
    await Bun.write(bad, good.replace(/token: .*/, "token: not-a-valid-token"));
    const op = await startOperator(bad);
    const code = await op.proc.exited;
    const stderr = await new Response(op.proc.stderr).text();
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/401|Unauthorized/i);
    expect(stderr).not.toContain("not-a-valid-token");
  });
});
