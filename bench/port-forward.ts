// New-connection latency through a port-forward: scone's (src/kube/port-forward.ts) next to `kubectl port-forward`,
// both to the same pod port of a KWOK pod, in the same run, interleaved connection by connection. One sample is a
// fresh TCP connection to the local port, one byte written, and the echo of that byte read back (connect + first
// byte round-trip), then the connection is closed. kwok's PortForward object routes the pod port to an echo server on
// 127.0.0.1, so both paths cross the same API server and kwok's kubelet server; only the forwarders differ.
// Cluster: a throwaway local cluster from test/harness (kube-apiserver, etcd, kwok). Prints figures; never fails
// on speed. SCONE_BENCH_PF_CONNECTIONS (default 60) samples per forwarder. Profile scone's side (this process) with
// `bun --cpu-prof --cpu-prof-dir=DIR run bench/port-forward.ts`.
import type { Socket } from "bun";
import { loadKubeConfig } from "../src/kube/config.ts";
import { startPortForward } from "../src/kube/port-forward.ts";
import { startLocalCluster } from "../test/harness/cluster.ts";
import { portForward, routePodPort } from "../test/harness/simulated-pods.ts";
import { median, reportFigure } from "./_figures.ts";

const SAMPLES = Number(process.env.SCONE_BENCH_PF_CONNECTIONS ?? 60);
const NS = `bench-pf-${Math.random().toString(36).slice(2, 8)}`;
const POD = "echo-0";
const POD_PORT = 8080;

function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

/** A TCP echo server on loopback: what kwok connects to for the pod's port. */
function echoServer() {
  return Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, chunk) {
        socket.write(chunk);
      },
    },
  });
}

/** Connects, writes one byte, resolves with the time until it came back; rejects on close or after timeoutMs. */
function oneConnection(port: number, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let done = false;
    const finish = (socket: Socket | undefined, result: number | Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.end();
      if (typeof result === "number") resolve(result);
      else reject(result);
    };
    const timer = setTimeout(() => finish(undefined, new Error(`no echo within ${timeoutMs} ms`)), timeoutMs);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.write("x");
        },
        data(socket) {
          finish(socket, performance.now() - t0);
        },
        close(socket) {
          finish(socket, new Error("closed before the echo"));
        },
        error(socket, err) {
          finish(socket, err);
        },
      },
    }).catch((err: unknown) => finish(undefined, err instanceof Error ? err : new Error(String(err))));
  });
}

/** The first connections may come before kwok has seen the PortForward object (it watches): retried until echoed. */
async function warmUp(what: string, port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await oneConnection(port, 5_000).then(
      () => true,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what}: no echo through the forward within 60 s`);
    await Bun.sleep(200);
  }
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

async function main(): Promise<void> {
  const cluster = await startLocalCluster();
  const echo = echoServer();
  try {
    const kubectl = async (args: string[], stdin?: string) => {
      const r = await cluster.kubectl(args, stdin === undefined ? undefined : { stdin });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    await kubectl(["create", "namespace", NS]);
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: POD, namespace: NS },
      spec: {
        nodeName: "sgx-node-1",
        containers: [{ name: "echo", image: "echo:bench", ports: [{ containerPort: POD_PORT }] }],
      },
    };
    await kubectl(["apply", "-f", "-"], JSON.stringify(pod));
    await kubectl(["-n", NS, "wait", "--for=jsonpath={.status.phase}=Running", `pod/${POD}`, "--timeout=120s"]);
    await routePodPort(cluster, { namespace: NS, pod: POD, port: POD_PORT, target: { port: echo.port } });

    const conn = await loadKubeConfig({ kubeconfig: cluster.kubeconfigPath });
    const scone = await startPortForward(conn, { namespace: NS, pod: POD, port: POD_PORT });
    const kube = await portForward(cluster, NS, POD, POD_PORT);
    try {
      await warmUp("scone", scone.localPort);
      await warmUp("kubectl", kube.localPort);
      const times = { scone: [] as number[], kubectl: [] as number[] };
      for (let i = 0; i < SAMPLES; i++) {
        // Alternating which goes first, so neither always follows the other's teardown.
        const order = i % 2 === 0 ? (["scone", "kubectl"] as const) : (["kubectl", "scone"] as const);
        for (const who of order) {
          times[who].push(await oneConnection(who === "scone" ? scone.localPort : kube.localPort));
        }
      }
      if (scone.lastError) console.log(`scone's forward reported: ${scone.lastError.message}`);
      // 1 = every connection went over one session (warm-up included); one per connection = a tunnel each.
      console.log(`scone's forward made ${scone.upgrades} WebSocket upgrade(s) for ${SAMPLES} measured connections`);
      const row = (who: "scone" | "kubectl") =>
        `${who.padEnd(8)} median ${ms(median(times[who]))}  p95 ${ms(quantile(times[who], 0.95))}  min ${ms(Math.min(...times[who]))}`;
      console.log(`new connection + first byte round trip, ${SAMPLES} each, interleaved (${cluster.k8sVersion})`);
      console.log(row("kubectl"));
      console.log(row("scone"));
      const base = median(times.kubectl);
      const ours = median(times.scone);
      reportFigure({
        figure: "port-forward new connection (median)",
        baseline: `kubectl ${ms(base)}`,
        scone: ms(ours),
        ratio: ours / base,
        target: { op: "<=", value: 1.2 },
      });
      const base95 = quantile(times.kubectl, 0.95);
      const ours95 = quantile(times.scone, 0.95);
      reportFigure({
        figure: "port-forward new connection (p95)",
        baseline: `kubectl ${ms(base95)}`,
        scone: ms(ours95),
        ratio: ours95 / base95,
      });
    } finally {
      await scone.close();
      await kube.stop();
    }
  } finally {
    echo.stop(true);
    await cluster.stop();
  }
}

await main();
