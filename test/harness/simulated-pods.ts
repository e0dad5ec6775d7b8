// Helpers for what kwok's simulated pods can do beyond Running: a pod port that leads to a server of the test.
import type { LocalCluster } from "./cluster.ts";

export interface PodPortRoute {
  readonly namespace: string;
  readonly pod: string;
  /** The container port clients ask for (`kubectl port-forward pod/x LOCAL:port`). */
  readonly port: number;
  /** Where kwok connects instead: usually a server the test started on 127.0.0.1. */
  readonly target: { readonly address?: string; readonly port: number };
}

/**
 * Makes port-forwards to a simulated pod's port reach target, through the real API server and kwok's kubelet
 * server (a kwok PortForward object named after the pod). Replaces earlier routes of that pod.
 */
export async function routePodPort(cluster: LocalCluster, route: PodPortRoute): Promise<void> {
  const portForward = {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "PortForward",
    metadata: { name: route.pod, namespace: route.namespace },
    spec: {
      forwards: [
        { ports: [route.port], target: { address: route.target.address ?? "127.0.0.1", port: route.target.port } },
      ],
    },
  };
  const result = await cluster.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(portForward) });
  if (result.code !== 0) throw new Error(`creating PortForward ${route.namespace}/${route.pod}: ${result.stderr}`);
}

export interface RunningPortForward {
  readonly localPort: number;
  /** False once kubectl has exited (it may end on a failed stream, e.g. before kwok knows the pod's route). */
  running(): boolean;
  stop(): Promise<void>;
}

/** `kubectl port-forward` to a pod port on a free local port; resolves once it listens. */
export async function portForward(
  cluster: LocalCluster,
  namespace: string,
  pod: string,
  port: number,
): Promise<RunningPortForward> {
  const { binaryPaths } = await import("../../hack/cluster/binaries.ts");
  const child = Bun.spawn(
    [
      binaryPaths(cluster.k8sVersion).kubectl,
      `--kubeconfig=${cluster.kubeconfigPath}`,
      "port-forward",
      "--address=127.0.0.1",
      "-n",
      namespace,
      `pod/${pod}`,
      `:${port}`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const reader = child.stdout.getReader();
  let seen = "";
  // A kubectl that neither listens nor exits is ended at the deadline, which ends its output and this loop.
  const giveUp = setTimeout(() => child.kill(), 30_000);
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    seen += new TextDecoder().decode(chunk.value);
    const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen);
    if (match) {
      clearTimeout(giveUp);
      // kubectl writes a line per connection (stdout) and per failed stream (stderr): drained, so a long-lived
      // forward never blocks on a full pipe.
      void (async () => {
        while (!(await reader.read()).done) {}
      })().catch(() => undefined);
      void new Response(child.stderr).arrayBuffer().catch(() => undefined);
      return {
        localPort: Number(match[1]),
        running: () => child.exitCode === null && child.signalCode === null,
        stop: async () => {
          child.kill();
          await child.exited;
        },
      };
    }
  }
  clearTimeout(giveUp);
  child.kill();
  throw new Error(
    `kubectl port-forward ${namespace}/${pod}:${port} did not start: ${seen}${await new Response(child.stderr).text()}`,
  );
}
