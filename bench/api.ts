// REST API read throughput: GET of one CAS (its status) through the whole /api/v1 stack — request id, body
// limit, bearer-token check against the SQLite store, scope check, zod validation, informer-cache lookup — next
// to a bare Hono handler returning the same object, measured in the same run under the same load.
// The cache is synthetic (an in-memory ResourceCache with --objects CAS objects, the shape the informer holds):
// the informer's own cost is measured by bench/informer.ts; this bench is about the API layers on top of it.
// The servers run in a child process, the load generator (a concurrent fetch loop on loopback, bounded by
// --requests and --seconds per target) in this one, so they do not share one JS thread.
// The targets are measured in ROUNDS interleaved rounds (bare, scone, scone without lookup, then again), so load from
// elsewhere on the machine hits all alike; each figure is the median round. Next to the request rates it prints the
// server process's CPU time per request of each target (from /proc, the same rounds): on the shared 2-core machine the
// rate moves with everyone's load, the server's CPU per request much less. Figures only, no assertions.
// Run: node_modules/.bin/bun run bench/api.ts [--requests N] [--seconds S] [--concurrency C] [--objects N] [--rounds R]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteOperationRecords } from "../src/api/operations/records.ts";
import { processCpuMs } from "./_cpu.ts";
import { median, reportFigure } from "./_figures.ts";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const REQUESTS = flag("requests", 20_000);
const SECONDS = flag("seconds", 10);
const CONCURRENCY = flag("concurrency", 32);
const OBJECTS = flag("objects", 1000);
const ROUNDS = flag("rounds", 3);
const WARMUP = 500;

interface Targets {
  api: string;
  apiNoLookup: string;
  bare: string;
  token: string;
}

function casObject(i: number) {
  return {
    apiVersion: "services.scone.cloud/v1beta1",
    kind: "CAS",
    metadata: {
      namespace: `ns-${i % 10}`,
      name: `cas-${i}`,
      uid: crypto.randomUUID(),
      resourceVersion: String(1000 + i),
    },
    spec: {
      image: "registry.scontain.com/scone.cloud/cas:6.0.6",
      backup: { enabled: true },
      service: { clientPort: 8081 },
    },
    status: {
      state: "HEALTHY",
      phase: "Running",
      provisioned: true,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Healthy",
          message: "CAS answers",
          lastTransitionTime: "2026-11-23T10:00:00Z",
        },
        {
          type: "LastBackupSucceeded",
          status: "True",
          reason: "Completed",
          message: "bk-1",
          lastTransitionTime: "2026-11-23T09:00:00Z",
        },
      ],
    },
  };
}

/** Child process: both servers, then one JSON line with their URLs and a read token. */
async function serve(): Promise<void> {
  const { Hono } = await import("hono");
  const { createApiApp } = await import("../src/api/app.ts");
  const { OperationExecutor } = await import("../src/api/operations/executor.ts");
  const { openStore } = await import("../src/store/open.ts");
  const { createToken, verifyToken } = await import("../src/store/tokens.ts");
  const { createLogger } = await import("../src/log.ts");
  type KubeObject = import("../src/kube/types.ts").KubeObject;

  const dir = mkdtempSync(join(tmpdir(), "scone-bench-api-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const store = openStore({ stateDir: dir });
  const { token } = createToken(store.db, { name: "bench", scope: "read" });
  const objects: KubeObject[] = Array.from({ length: OBJECTS }, (_, i) => casObject(i));
  const byKey = new Map(objects.map((o) => [`${o.metadata?.namespace}/${o.metadata?.name}`, o]));
  const quiet = createLogger({ level: "error", sink: { write() {} } });
  const resources: import("../src/api/resource-cache.ts").ResourceCache = {
    notReady: () => undefined,
    list: (kind) => (kind === "CAS" ? objects : []),
    get: (kind, namespace, name) => (kind === "CAS" ? byKey.get(`${namespace}/${name}`) : undefined),
  };
  const executor = new OperationExecutor(sqliteOperationRecords(store.db), {}, quiet);
  const app = createApiApp({ readiness: { checks: () => ({}) }, v1: { db: store.db, executor, resources } });
  const api = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  // The same stack with the store's token lookup replaced by a constant answer: shows what the lookup costs.
  const caller = verifyToken(store.db, token);
  const noLookup = createApiApp({
    readiness: { checks: () => ({}) },
    v1: { db: store.db, executor, resources, verifyToken: () => caller },
  });
  const noLookupServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: noLookup.fetch });
  const target = byKey.get("ns-7/cas-7");
  const bare = new Hono().get("/cas", (c) => c.json(target));
  const bareServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: bare.fetch });
  const targets: Targets = {
    api: `http://127.0.0.1:${api.port}/api/v1/namespaces/ns-7/resources/cas/cas-7`,
    apiNoLookup: `http://127.0.0.1:${noLookupServer.port}/api/v1/namespaces/ns-7/resources/cas/cas-7`,
    bare: `http://127.0.0.1:${bareServer.port}/cas`,
    token,
  };
  console.log(JSON.stringify(targets));
}

interface Result {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time the server process spent in the round, ms (undefined without /proc). */
  serverCpuMs?: number;
}

async function load(
  url: string,
  headers: Record<string, string>,
  total: number,
  seconds: number,
  serverPid?: number,
): Promise<Result> {
  const cpuBefore = serverPid === undefined ? undefined : processCpuMs(serverPid);
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  const worker = async () => {
    while (issued < total && performance.now() < deadline) {
      issued++;
      const t = performance.now();
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.status !== 200) errors++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const cpuAfter = serverPid === undefined ? undefined : processCpuMs(serverPid);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const serverCpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  return { requests: latencies.length, seconds: elapsed, p50: at(0.5), p99: at(0.99), errors, serverCpuMs };
}

async function main(): Promise<void> {
  const child = Bun.spawn([process.execPath, "run", import.meta.path, "--serve", "--objects", String(OBJECTS)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error("the server process ended before it listened");
      text += new TextDecoder().decode(value);
    }
    const targets = JSON.parse(text.split("\n")[0] ?? "") as Targets;
    const auth = { authorization: `Bearer ${targets.token}` };
    const check = await fetch(targets.api, { headers: auth });
    if (check.status !== 200) throw new Error(`the API answered ${check.status}: ${await check.text()}`);

    console.log(
      `GET of one CAS (${OBJECTS} CAS objects cached), ${CONCURRENCY} concurrent clients on loopback, ` +
        `at most ${REQUESTS} requests or ${SECONDS} s per target and round (after ${WARMUP} warm-up requests), ` +
        `median of ${ROUNDS} interleaved rounds`,
    );
    const targetsInOrder = [
      ["bare Hono handler", targets.bare, {}],
      ["scone /api/v1 (auth+scope+validation+cache)", targets.api, auth],
      ["  same, token lookup replaced by a constant", targets.apiNoLookup, auth],
    ] as const;
    for (const [, url, headers] of targetsInOrder) await load(url, headers, WARMUP, SECONDS);
    const rounds: Result[][] = targetsInOrder.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, [, url, headers]] of targetsInOrder.entries()) {
        rounds[i]?.push(await load(url, headers, REQUESTS, SECONDS, child.pid));
      }
    }
    const rates = rounds.map((rs) => median(rs.map((r) => r.requests / r.seconds)));
    // µs of server CPU per request (10 ms clock ticks: thousands of requests per round keep the error small).
    const cpuPerRequest = rounds.map((rs) =>
      median(rs.map((r) => (r.serverCpuMs === undefined ? Number.NaN : (r.serverCpuMs * 1000) / r.requests))),
    );
    for (const [i, [name]] of targetsInOrder.entries()) {
      const rs = rounds[i] ?? [];
      const p50 = median(rs.map((r) => r.p50));
      const p99 = median(rs.map((r) => r.p99));
      const errors = rs.reduce((n, r) => n + r.errors, 0);
      console.log(
        `${name.padEnd(46)} ${String(Math.round(rates[i] ?? 0)).padStart(7)} req/s   ` +
          `p50 ${p50.toFixed(2).padStart(6)} ms   p99 ${p99.toFixed(2).padStart(6)} ms   ` +
          `server CPU ${(cpuPerRequest[i] ?? Number.NaN).toFixed(1).padStart(5)} µs/req   ` +
          `(rounds: ${rs.map((r) => Math.round(r.requests / r.seconds)).join(", ")} req/s${errors ? `; ${errors} non-200` : ""})`,
      );
    }
    const [bare = 0, api = 0, noLookup = 0] = rates;
    reportFigure({
      figure: "REST GET of one CAS ÷ bare Hono handler (req/s)",
      baseline: String(Math.round(bare)),
      scone: String(Math.round(api)),
      ratio: api / bare,
      target: { op: ">=", value: 0.85 },
    });
    const [bareCpu = Number.NaN, apiCpu = Number.NaN] = cpuPerRequest;
    reportFigure({
      figure: "  server CPU per request: bare Hono ÷ scone (µs)",
      baseline: bareCpu.toFixed(1),
      scone: apiCpu.toFixed(1),
      ratio: bareCpu / apiCpu,
    });
    reportFigure({
      figure: "  same, token lookup replaced by a constant",
      baseline: String(Math.round(bare)),
      scone: String(Math.round(noLookup)),
      ratio: noLookup / bare,
    });
  } finally {
    child.kill();
    await child.exited;
  }
}

if (process.argv.includes("--serve")) await serve();
else await main();
