// Clean-up of the real node (issue 12): a stop, and the watchdog after a SIGKILLed test run, leave nothing on the
// machine — no process, mount, cgroup, bridge, iptables chain, lo address, log link or directory.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { clusterAvailable, realNodeCluster, stopRealNodeCluster } from "../../harness/cluster.ts";
import { waitFor } from "../../harness/kube.ts";
import { realNodeTestsEnabled } from "../../harness/real-node-enabled.ts";
import { hostTraces } from "./traces.ts";

const TIMEOUT = 600_000;

/** Runs a pod on the real node so that it has containers, mounts, a veth and cgroups to leave behind. */
async function runPod(
  kubectl: (args: string[], opts?: { stdin?: string }) => Promise<{ code: number; stderr: string }>,
  image: string,
  node: string,
) {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "cleanup-probe", namespace: "default" },
    spec: {
      nodeSelector: { "kubernetes.io/hostname": node },
      containers: [{ name: "main", image, imagePullPolicy: "Never", command: ["sleep", "3600"] }],
    },
  };
  const created = await kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(pod) });
  expect(created.stderr).toBe("");
  const ready = await kubectl(["wait", "--for=condition=Ready", "pod/cleanup-probe", "--timeout=120s"]);
  expect(ready.stderr).toBe("");
}

describe.skipIf(!clusterAvailable() || !realNodeTestsEnabled())("real node clean-up", () => {
  test(
    "stopping the cluster removes every trace of the node from the machine",
    async () => {
      const cluster = await realNodeCluster();
      const node = cluster.realNode;
      if (!node) throw new Error("no real node");
      await runPod((args, opts) => cluster.kubectl(args, opts), node.busyboxImage, node.name);
      const traces = hostTraces(cluster.dir);
      // What the assertion below must see gone is there now.
      for (const kind of ["on lo", "bridge", "cgroup", "mount", "iptables", "process"]) {
        expect(traces.some((t) => t.includes(kind))).toBe(true);
      }
      await stopRealNodeCluster();
      expect(hostTraces(cluster.dir)).toEqual([]);
    },
    TIMEOUT,
  );

  test(
    "after the test process is SIGKILLed, the watchdog removes every trace",
    async () => {
      const fixture = join(import.meta.dir, "fixtures", "hold-real-node.ts");
      const child = Bun.spawn([process.execPath, fixture], { stdout: "pipe", stderr: "inherit" });
      let output = "";
      const reader = child.stdout.getReader();
      const dir = await waitFor(
        "the fixture's real node to be ready",
        async () => {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the fixture exited (${await child.exited}) before READY: ${output}`);
          output += new TextDecoder().decode(value);
          return /READY (\S+)/.exec(output)?.[1];
        },
        TIMEOUT - 120_000,
      );
      expect(hostTraces(dir).some((t) => t.includes("mount"))).toBe(true);
      child.kill("SIGKILL");
      await child.exited;
      // The watchdog polls its owner every second, then gives the processes 3 s before SIGKILL and the teardown.
      const left = await waitFor(
        "the watchdog to remove the node",
        () => {
          const traces = hostTraces(dir);
          return traces.length === 0 ? traces : undefined;
        },
        60_000,
      ).catch(() => hostTraces(dir));
      expect(left).toEqual([]);
    },
    TIMEOUT,
  );
});
